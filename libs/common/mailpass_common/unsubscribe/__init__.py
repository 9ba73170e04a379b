"""One-click unsubscribe (RFC 8058): the signed link, the headers that carry it, and
what following it does (:mod:`.links`, :mod:`.record`)."""
