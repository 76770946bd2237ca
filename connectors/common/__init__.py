"""What every connector shares: settings building blocks, HTTP header parsing, the
fake-server harness, Google APIs.

The design lets a connector import only `hub.model`, `hub.ports` and `hub.errors`
of the core; this package is the one exception, shared *between* connectors so that
parsing a Retry-After, serving a fake or calling Google is written once. It imports
nothing of pmhub except `hub.errors` (in `google.py`, whose errors it maps).
"""
