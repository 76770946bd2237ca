"""The durable job queue, top to bottom: what a job is and how it runs.

`model` (the Job row, its states), `kinds` (ingest → reconcile → effect and their dedupe
keys), `enqueue` (adding jobs inside a caller's transaction), `leasing` (which due jobs a
lease takes), `queue` (lease, renew, complete, fail, release, retry: the fenced
operations), `wakeups` (LISTEN/NOTIFY between PostgreSQL replicas), `backoff` (retry
delays) and `worker` (the loop that leases and runs jobs, and its burst mode for tests).
"""
