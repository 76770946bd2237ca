"""Configuration: the models, the YAML loader and its error reporting.

Import from `hub.settings`; this package is its implementation.
"""
