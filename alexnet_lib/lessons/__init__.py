"""Code that only one lesson needs, on top of the core: one module per notebook, 01 to 08 (05 and 06 keep
their checks in a ``_checks`` module beside it)."""
