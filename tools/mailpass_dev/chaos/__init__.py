"""``make chaos``: the real stack under failure, and proof that nothing accepted was lost."""
