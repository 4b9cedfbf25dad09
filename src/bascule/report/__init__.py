"""Renderers: text for terminals, JSON for machines. No computation happens here."""
