"""The sending domains API (``/api/v1/domains``) and what the console shares with it."""
