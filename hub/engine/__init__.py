"""The engine: the reconciler (plan → jobs), the effect runner (one intent, once),
`performers/` (one per port) and `actions/` (what people do)."""
