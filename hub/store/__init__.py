"""Storage: SQLAlchemy Core tables and queries (inbox, jobs, effects, records, audit).

Import the submodules directly (`hub.store.state`, `hub.store.effects`, ...): this
package deliberately re-exports nothing, so importing one part of the store does
not pull in the others.
"""
