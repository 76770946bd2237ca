"""What every connector shares: HTTP header parsing and the fake-server harness.

The design lets a connector import only `hub.model`, `hub.ports` and `hub.errors`
of the core; this package is the one exception, shared *between* connectors so that
parsing a Retry-After or serving a fake is written once. It imports nothing of pmhub.
"""
