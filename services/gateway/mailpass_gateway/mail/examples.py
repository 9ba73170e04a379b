"""The Mail Send API spec's examples, word for word, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

SEND_REQUEST: dict[str, Any] = {
    "to": "user@example.com",
    "subject": "Order Confirmation",
    "html": "<h1>Your order has been confirmed</h1>",
    "text": "Your order has been confirmed",
    "from_email": "support@yourdomain.com",
    "from_name": "Your App",
    "reply_to": "reply@yourdomain.com",
    "cc": ["cc@example.com"],
    "bcc": ["bcc@example.com"],
    "tags": ["order", "confirmation"],
    "metadata": {"order_id": "12345"},
}

SEND_REQUEST_CURL: dict[str, Any] = {
    "to": "user@example.com",
    "subject": "Hello",
    "html": "<p>Hello World</p>",
}

SEND_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {
        "message_id": "<abc123.1706600000@mailpass.im>",
        "status": "sent",
        "to": "user@example.com",
        "from": "support@yourdomain.com",
    },
}

SEND_QUEUED_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {**SEND_RESPONSE["data"], "status": "queued"},
}

BATCH_REQUEST: dict[str, Any] = {
    "messages": [
        {"to": "a@example.com", "subject": "Hello A", "html": "<p>Hi A</p>"},
        {"to": "b@example.com", "subject": "Hello B", "html": "<p>Hi B</p>"},
    ],
    "from_email": "support@yourdomain.com",
    "from_name": "Your App",
}

BATCH_REQUEST_CURL: dict[str, Any] = {
    "messages": [
        {"to": "a@example.com", "subject": "Hi A", "html": "<p>Hello A</p>"},
        {"to": "b@example.com", "subject": "Hi B", "html": "<p>Hello B</p>"},
    ],
    "from_email": "support@yourdomain.com",
}

BATCH_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {
        "total": 2,
        "queued": 2,
        "failed": 0,
        "messages": [
            {"to": "a@example.com", "status": "queued", "queue_id": 101},
            {"to": "b@example.com", "status": "queued", "queue_id": 102},
        ],
    },
}

STATUS_RESPONSE: dict[str, Any] = {
    "success": True,
    "data": {
        "message": {
            "message_id": "<abc123@mailpass.im>",
            "from_email": "support@yourdomain.com",
            "to_email": "user@example.com",
            "subject": "Order Confirmation",
            "status": "sent",
            "error_message": None,
            "sent_at": "2026-01-30T12:00:00",
            "created_at": "2026-01-30T12:00:00",
            # Beyond the spec: when the body was purged under the retention policy.
            "body_purged_at": None,
        },
        "events": [
            {
                "event_type": "open",
                "ip_address": "192.168.1.1",
                "user_agent": "Mozilla/5.0...",
                "created_at": "2026-01-30T12:05:00",
            }
        ],
        # Beyond the spec: totals of every event by type, and the cursor to older events.
        "event_totals": {"open": 1, "sent": 1},
        "next_cursor": None,
    },
}
