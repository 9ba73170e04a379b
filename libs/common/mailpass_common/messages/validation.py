"""Field rules shared by every input that ends up in an email header.

A header value with CR or LF lets a caller inject headers of their own; other control
characters, and the Unicode line and paragraph separators (U+0085, U+2028, U+2029), have
no place in a header either: mail software treats some of them as line breaks, and the
MIME writer refuses them. Addresses are checked (and normalized) by email-validator,
without DNS lookups: deliverability is the provider's business.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

from mailpass_common.platform.settings import DEVELOPMENT

# Everything but TAB below 0x20, DEL, and the C1 controls including NEL (U+0085), and
# the Unicode line and paragraph separators.
UNFIT_FOR_HEADER = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
MAX_NAME_CHARS = 256


def header_text(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks (CR or LF)")
    if UNFIT_FOR_HEADER.search(value):
        raise ValueError("must not contain control characters or line separators")
    return value


def test_domains_allowed() -> bool:
    """Addresses under ``.test`` (RFC 2606: never on the internet) are refused, except on
    a development machine (``ENVIRONMENT=development``, as ``make run`` and ``make test``
    set it), whose dev DNS server answers for the ``.test`` zone."""
    return os.environ.get("ENVIRONMENT") == DEVELOPMENT


def email_address(value: str) -> str:
    header_text(value)
    try:
        return validate_email(
            value, check_deliverability=False, test_environment=test_domains_allowed()
        ).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email address: {exc}") from exc


EmailAddress = Annotated[str, AfterValidator(email_address)]
HeaderText = Annotated[str, AfterValidator(header_text)]
# A display name (From, a provider's default sender name) or a similar short header field.
DisplayName = Annotated[HeaderText, Field(max_length=MAX_NAME_CHARS)]
