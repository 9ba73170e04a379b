"""Stored templates: the ``/api/v1/templates`` resource, and their use by the Mail Send
API (``template_id`` and ``variables`` on ``/send`` and batch messages)."""
