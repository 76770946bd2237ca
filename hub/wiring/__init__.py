"""The composition root's parts: what `hub.app` assembles the daemon from.

The one place besides `hub.app` itself where the core meets the connectors: which
connectors the configuration names and what each adds (`connectors`), the pacer each
vendor's connector gets (`pacing`), where operations notices go (`ops_channel`), and
the counting of vendor failures and the weekly digest's wiring (`numbers`). Nothing in
the core (model, policy, store, jobs, intake, engine) may import this package.
"""
