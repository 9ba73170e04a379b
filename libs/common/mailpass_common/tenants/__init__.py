"""Tenants: accounts, their API keys, and the web console's sign-in."""
