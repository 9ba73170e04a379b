"""The web console: over HTTP (sessions, CSRF, isolation) and in a real browser."""
