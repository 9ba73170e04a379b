"""Accepting a message: the steps every way in shares (the Mail Send API's ``/send`` and
batches, a resend, SMTP submission), so a message is stored and delivered the same way
whichever way it came. The top of the library's layers: it builds on providers, sending
domains, suppressions and messages.

1. :func:`~.service.default_provider`: the account's default provider (NO_SMTP_PROVIDER);
2. the caller's own checks (the request's fields, or the SMTP transaction), suppressions,
   :func:`~.service.refused_senders` (the provider type's own check of the senders, e.g.
   MailPass SMTP's verified domains: DOMAIN_NOT_VERIFIED), the message document;
3. :func:`~.service.accept`: count it against the provider's hourly and daily limits
   (SEND_LIMIT_EXCEEDED; a refused send stores nothing), store its body chunks (before the
   message, so a sender never finds a message without its bytes), then insert the
   document, the outbox; a failed write gives the reservation back. Once it returns the
   message exists: that is when the API answers 200/202 and SMTP answers 250;
4. :func:`~.service.publish`: the job for the sender. A publish that fails leaves the
   message ``queued``, and the scheduler's recovery publishes it.

A refusal is a :class:`mailpass_common.providers.plugin.AcceptanceRefused` (the steps'
own: :class:`~.refusals.Refused`) with its stable error code; each way in says it in its
own protocol (the gateway's envelope, an SMTP reply).
"""
