"""Rehearsal: run migrations on a production-sized copy, profile them and prove the rollback round trip."""
