"""Targets: where migrations run. A URL is all the rest of the code sees."""
