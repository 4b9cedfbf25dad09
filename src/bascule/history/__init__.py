"""What bascule writes into the target database, all inside its own schema `bascule`."""

from bascule.history.store import History, MigrationRecord

__all__ = ["History", "MigrationRecord"]
