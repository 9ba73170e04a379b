"""Delivery: the providers (SMTP, SES, SendGrid, Mailgun), MIME building and the provider
check, shared by the sender (which delivers) and the gateway and CLI (which check)."""
