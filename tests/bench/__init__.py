"""Webhook-ingest benchmark: `python -m tests.bench.run` (or `make bench`)."""
