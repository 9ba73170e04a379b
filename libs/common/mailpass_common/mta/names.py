"""Domain names as a tenant types them, and as DNS and DKIM need them.

A sending domain is kept in its ASCII form (IDNA 2008 A-labels, after the UTS 46 mapping
browsers use: ``Bücher.Example`` becomes ``xn--bcher-kva.example``), lower case, without
the root dot. That is the form of DNS names, of ``d=`` in a DKIM signature, and of the
domain of an address the MTA sends from, so one comparison serves all of them; the
Unicode form is only for showing.
"""

from __future__ import annotations

import ipaddress
import re

import idna

MAX_INPUT = 300  # characters read at all; a longer text is refused before any work
MAX_NAME = 253  # RFC 1035: 255 octets on the wire, 253 written out
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class DomainNameError(ValueError):
    """The text is not a domain name MailPass can send from; the message says why."""


def normalize_domain(text: str) -> str:
    """``text`` as a sending domain's ASCII name, or DomainNameError.

    Refused: IP addresses, single labels (``localhost``), labels outside letters, digits
    and inner hyphens (underscores name DNS services, not mail domains), a numeric top
    label, names too long, and Unicode that IDNA 2008 does not allow.
    """
    if not isinstance(text, str) or not text.strip():
        raise DomainNameError("a domain name is required, e.g. example.com")
    if len(text) > MAX_INPUT:
        raise DomainNameError(f"longer than {MAX_NAME} characters")
    name = text.strip().rstrip(".")
    if _is_ip_address(name):
        raise DomainNameError("an IP address is not a domain name")
    if "@" in name or "/" in name or ":" in name or any(c.isspace() for c in name):
        raise DomainNameError("a domain name only, without scheme, path, port or address")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise DomainNameError(f"not a valid internationalized domain name ({exc})") from None
    name = name.lower()
    labels = name.split(".")
    if len(name) > MAX_NAME:
        raise DomainNameError(f"longer than {MAX_NAME} characters")
    if len(labels) < 2:
        raise DomainNameError("a domain with at least two labels, e.g. example.com")
    for label in labels:
        if not _LABEL.match(label):
            raise DomainNameError(
                f"label {label!r}: 1-63 letters, digits or inner hyphens in each label"
            )
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                raise DomainNameError(f"label {label!r} is not a valid A-label") from None
    if labels[-1].isdigit():
        raise DomainNameError("the top-level label cannot be numeric")
    return name


def unicode_name(name: str) -> str:
    """The Unicode form of an ASCII name, for showing (the ASCII form if it has none)."""
    if "xn--" not in name:
        return name
    try:
        return str(idna.decode(name))
    except idna.IDNAError:
        return name


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True
