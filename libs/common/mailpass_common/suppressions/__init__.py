"""The suppression list: addresses an account no longer sends to (``service``)."""
