"""MailPass's own delivery (the ``mailpass`` provider type): sending domains, DKIM, the
signed VERP return path, and what the sender and ``mailpass-inbound`` share about them."""
