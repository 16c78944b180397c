"""The store: its interface (``base.Store``), the SQLite implementation, group commit."""

from __future__ import annotations

from mockserver.storage.base import Store, StoreUnavailable
from mockserver.storage.sqlite import SqliteStore


def open_store(db: str) -> Store:
    """The store a ``--db`` value names: a SQLite file path, or ``:memory:``."""
    return SqliteStore(db)


__all__ = ["SqliteStore", "Store", "StoreUnavailable", "open_store"]
