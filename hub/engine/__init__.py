"""The engine: reconciler and worker (leases, retries, timers)."""
