"""Plug-ins defined outside backfire, as a user would write them (docs/plugins.md): one module per kind.
tests/test_plugins.py names them in specs as ``"plugins.<module>:<NAME>"`` (tests/ is on sys.path)."""
