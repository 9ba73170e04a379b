"""What every service uses: database, broker topology, settings, telemetry, metrics, the
management port, worker processes, caches, secrets at rest, the egress policy and the
error codes."""
