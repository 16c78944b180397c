"""The store: its interface (``base.Store``), the SQLite implementation, group commit."""

from __future__ import annotations

from collections.abc import Sequence

from mockserver.storage.base import Store, StoreUnavailable
from mockserver.storage.semantics import VendorAnalytics
from mockserver.storage.sqlite import SqliteStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(db: str, vendors: Sequence[VendorAnalytics]) -> Store:
    """The store a ``--db`` value names: a PostgreSQL URL (``postgresql://user:pass@host/db``),
    else a SQLite file path or ``:memory:``. ``vendors``: what the analytics read each
    vendor's events as (``vendors.registry.ANALYTICS``)."""
    if db.startswith(POSTGRES_SCHEMES):
        try:
            from mockserver.storage.postgres import PostgresStore
        except ImportError as exc:
            raise ValueError(
                "--db names a PostgreSQL database, which needs psycopg: "
                "install mockserver with its postgresql extra (from a clone: "
                "pip install './mockserver[postgresql]')"
            ) from exc
        return PostgresStore(db, vendors)
    return SqliteStore(db, vendors)


__all__ = ["SqliteStore", "Store", "StoreUnavailable", "VendorAnalytics", "open_store"]
