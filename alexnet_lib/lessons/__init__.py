"""Code that only one lesson needs: one module per notebook (01 to 06), on top of the core."""
