"""pmhub: the incident post-mortem process, enforced by a daemon."""

__version__ = "0.1.0"
