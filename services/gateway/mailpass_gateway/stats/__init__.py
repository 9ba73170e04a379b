"""Counts over a window: what went out, what failed, what was opened and clicked."""
