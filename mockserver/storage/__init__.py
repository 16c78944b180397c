"""The store: its interface (``base.Store``), the SQLite implementation, group commit."""

from __future__ import annotations

from mockserver.storage.base import Store, StoreUnavailable
from mockserver.storage.sqlite import SqliteStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(db: str) -> Store:
    """The store a ``--db`` value names: a PostgreSQL URL (``postgresql://user:pass@host/db``),
    else a SQLite file path or ``:memory:``."""
    if db.startswith(POSTGRES_SCHEMES):
        try:
            from mockserver.storage.postgres import PostgresStore
        except ImportError as exc:
            raise ValueError(
                "--db names a PostgreSQL database, which needs psycopg: "
                "install mockserver with its postgresql extra (from a clone: "
                "pip install './mockserver[postgresql]')"
            ) from exc
        return PostgresStore(db)
    return SqliteStore(db)


__all__ = ["SqliteStore", "Store", "StoreUnavailable", "open_store"]
