"""The OpenAPI description of a message that names a template: the spec's message
shape with ``template_id`` and ``variables`` in place of ``subject``, ``html``, ``text``."""

from __future__ import annotations

import copy
from typing import Any

from mailpass_gateway.templates.sending import CONTENT_FIELDS, MAX_REFERENCE_CHARS

TEMPLATE_SEND_EXAMPLE: dict[str, Any] = {
    "to": "user@example.com",
    "template_id": "order-confirmation",
    "variables": {"name": "Ann", "order": {"number": "A-1001"}},
    "unsubscribe": True,
}
TEMPLATE_BATCH_EXAMPLE: dict[str, Any] = {
    "template_id": "order-confirmation",
    "messages": [
        {"to": "a@example.com", "variables": {"name": "A", "order": {"number": "A-1"}}},
        {"to": "b@example.com", "variables": {"name": "B", "order": {"number": "B-2"}}},
    ],
}


def send_schema(content_schema: dict[str, Any]) -> dict[str, Any]:
    """Either the message as the spec has it, or the same naming a template
    (``content_schema`` self-contained, see :func:`mailpass_gateway.bodies.model_schema`)."""
    templated = copy.deepcopy(content_schema)
    templated["title"] = "TemplatedSendRequest"
    templated.pop("examples", None)
    properties = templated["properties"]
    for field in CONTENT_FIELDS:
        properties.pop(field, None)
    properties["template_id"] = {
        "type": "string",
        "maxLength": MAX_REFERENCE_CHARS,
        "description": "A stored template, by id (tpl_…) or alias; it makes the subject, "
        "html and text, rendered once when the message is accepted",
    }
    properties["variables"] = {
        "type": "object",
        "description": "The values the template uses (HTML-escaped in html). A variable the "
        "template uses and this lacks is 400 VALIDATION_ERROR naming it; `null` or the "
        "template's `| default:` make one optional. `unsubscribe_url` is given by MailPass.",
    }
    templated["required"] = [
        name for name in content_schema.get("required", []) if name not in CONTENT_FIELDS
    ] + ["template_id"]
    return {"oneOf": [content_schema, templated]}
