"""mailpass-inbound: the SMTP server taking bounces and complaints for the return path."""
