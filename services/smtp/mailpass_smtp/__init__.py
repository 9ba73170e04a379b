"""mailpass-smtp: SMTP submission (RFC 6409, RFC 8314) with an API key as the password."""
