"""Field rules shared by every input that ends up in an email header.

A header value with CR or LF lets a caller inject headers of their own; other control
characters corrupt the message. Addresses are checked (and normalized) by email-validator,
without DNS lookups: deliverability is the provider's business.
"""

from __future__ import annotations

import re
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # everything but TAB


def header_text(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks (CR or LF)")
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    return value


def email_address(value: str) -> str:
    header_text(value)
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email address: {exc}") from exc


EmailAddress = Annotated[str, AfterValidator(email_address)]
HeaderText = Annotated[str, AfterValidator(header_text)]
