"""The audit log: who changed what in an account, when, from where, before and after.

One append-only document per change in ``audit_events`` (:mod:`.record` writes them,
:mod:`.query` reads them). No function here updates or deletes an entry: the API and the
console only list them; entries end only by the retention TTL index
(``AUDIT_RETENTION_DAYS``).
"""
