"""Request and response bodies of the sending domains API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from mailpass_gateway.dates import ApiDateTime

RSA_VALUE = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA…"
EXAMPLE: dict[str, JsonValue] = {
    "id": "dom_6f1c2a9b3d4e5f60718293a4",
    "domain": "example.com",
    "unicode_domain": "example.com",
    "status": "pending",
    "records": [
        {
            "purpose": "dkim",
            "type": "TXT",
            "name": "mpx4k2qa7br._domainkey.example.com",
            "value": RSA_VALUE,
            "status": "missing",
            "found": None,
            "required": True,
            "owner": "domain",
            "advice": "Publish this TXT record.",
        },
        {
            "purpose": "spf",
            "type": "TXT",
            "name": "example.com",
            "value": "v=spf1 include:bounces.mailpass.example ~all",
            "status": "mismatch",
            "found": "v=spf1 include:_spf.google.com ~all",
            "required": False,
            "owner": "domain",
            "advice": "Keep one SPF record, and add include:bounces.mailpass.example to it "
            "before its all term.",
        },
    ],
    "lookup_errors": [],
    "created_at": "2026-12-06T20:00:00.000Z",
    "checked_at": None,
    "verified_at": None,
}


class DomainCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"domain": "example.com"}]}
    )

    domain: str = Field(
        max_length=300,
        description="The domain mail is sent from (the From address's). Internationalized "
        "names are accepted and kept in their ASCII (A-label) form.",
    )


class RecordView(BaseModel):
    purpose: Literal["dkim", "spf", "dmarc", "return_path"]
    type: str = Field(description="TXT or MX")
    name: str = Field(description="Where the record goes (the full name, no trailing dot)")
    value: str = Field(
        description="What to publish; empty for the operator's return_path row. TXT values "
        "are one string: DNS hosts split longer ones into 255-byte strings themselves"
    )
    status: Literal["missing", "verified", "mismatch"] = Field(
        description="As of the last verify: missing (nothing there), mismatch (something "
        "else there, see found) or verified"
    )
    found: str | None = Field(description="What DNS answered at the last verify")
    required: bool = Field(description="The domain is verified once its required record is")
    owner: Literal["domain", "operator"] = Field(
        description="domain: you publish it; operator: the installation's (return path)"
    )
    advice: str = Field(description="What to do about this record, if anything")


class DomainView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: str
    domain: str = Field(description="ASCII form (A-labels), as in DNS and DKIM's d=")
    unicode_domain: str = Field(description="The same name for reading (Unicode)")
    status: Literal["pending", "verified"] = Field(
        description="verified once a DKIM record matches: mail from it is signed"
    )
    records: list[RecordView]
    lookup_errors: list[str] = Field(
        description="Records whose look-up failed just now (verify only): they keep their "
        "last status"
    )
    created_at: ApiDateTime
    checked_at: ApiDateTime | None = Field(description="The last verify (UTC)")
    verified_at: ApiDateTime | None


class DomainResponse(BaseModel):
    success: bool = True
    data: DomainView


class DomainPage(BaseModel):
    domains: list[DomainView] = Field(description="Domains in the order they were added")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class DomainListResponse(BaseModel):
    success: bool = True
    data: DomainPage
