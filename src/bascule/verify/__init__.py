"""Integrity verification: prove a migration lost no data and left the database healthy."""
