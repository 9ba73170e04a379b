"""Messages: the documents, their status lifecycle, and every query and write on them.

- ``models``            the message document, its status and kind, the collections' names
- ``transitions``       the one table of status moves every status write goes through
- ``service``           inserts, the atomic claim, forward-only outcomes, in bulk;
  ``failed``: a failed message's replay and resend links
- ``due``               the scheduler's queries: due batch messages, lost jobs
- ``scheduled``         messages waiting for their ``scheduled_at``
- ``events``            deferrals, opens, clicks: one document an event
- ``search``            an account's messages, filtered, one page at a time
- ``stats``             counts over a window
- ``retention``         bodies first, the rest later
- ``attachments``       what is accepted; ``attachment_store`` where it is kept
- ``replies``           the sender's answer to a ``/send`` job; ``ids``, ``sequences``,
  ``idempotency``
- ``webhook_events``    what the sender and the tracker report to webhooks, in one shape
- ``signed_links``      open and click tracking tokens; ``validation`` header field rules
"""
