"""An account's message history: the filtered list and resending a failed message."""
