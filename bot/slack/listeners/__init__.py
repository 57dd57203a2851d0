"""Bolt listeners, one module per kind, each with a `register(app, desk)`."""
