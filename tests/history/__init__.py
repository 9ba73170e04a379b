"""The message history and the stats: list, resend, counts."""
