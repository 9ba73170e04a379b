"""mailpass-inbound: the SMTP server that takes bounces and complaints for the return-path
domain."""
