"""Webhooks: tenants' HTTPS endpoints told what happens to their mail, as Standard Webhooks.

- ``endpoints``  the endpoint documents (URL, event filter, encrypted ``whsec_`` secrets,
  rotation overlap, the failing/disabled state) and the short-lived cache of which
  accounts have endpoints at all;
- ``outbox``     :func:`outbox.emit`, the one way any service reports an event, and the
  relay's claim on unpublished events;
- ``signing``    the Standard Webhooks signature;
- ``attempts``   every delivery attempt, listed a page at a time;
- ``topology``   the RabbitMQ queues of the ``mailpass-webhooks`` consumer and its jobs.
"""
