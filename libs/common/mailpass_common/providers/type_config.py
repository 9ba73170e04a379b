"""The base of every provider type's config model, and the field types they share.

A config mixes plain settings (host, region) with secrets (password, API keys): the
model's ``SECRETS`` name the fields stored only encrypted and never shown back, its
``FILES`` the long texts the CLI reads from a file (certificates).
"""

from __future__ import annotations

import re
import ssl
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mailpass_common.messages.validation import header_text

HOST_PATTERN = re.compile(r"^[A-Za-z0-9_.:\[\]-]{1,253}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return value


def _host(value: str) -> str:
    if not HOST_PATTERN.match(value):
        raise ValueError("must be a host name or IP address")
    return value


def _region(value: str) -> str:
    if not REGION_PATTERN.match(value):
        raise ValueError("must be an AWS region such as eu-west-1")
    return value


def _pem_certificates(value: str) -> str:
    try:
        ssl.create_default_context(cadata=value)
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(f"must be PEM certificates: {exc}") from exc
    return value


Secret = Annotated[str, AfterValidator(header_text), Field(min_length=1, max_length=4096)]
HttpUrl = Annotated[str, AfterValidator(_http_url), Field(max_length=2048)]
Timeout = Annotated[float, Field(gt=0, le=120)]
Host = Annotated[str, AfterValidator(_host)]
Region = Annotated[str, AfterValidator(_region)]
PemCertificates = Annotated[str, AfterValidator(_pem_certificates), Field(max_length=65536)]


class TypeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Stored only encrypted, never shown back (the CLI reads them from the environment).
    SECRETS: ClassVar[tuple[str, ...]] = ()
    # Long texts (the CLI reads them from a file).
    FILES: ClassVar[tuple[str, ...]] = ()
