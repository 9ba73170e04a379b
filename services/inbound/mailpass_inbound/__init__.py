"""mailpass-inbound: the SMTP server for the return-path domain (bounces, complaints)."""
