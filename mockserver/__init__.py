"""mockserver: the Neuralens and Lucidworks behavioural-event APIs, emulated locally.

The names below are imported on first use: ``mockserver serve`` then never loads httpx and
the client side, which kept several MiB resident in the server for nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.settings import Settings
    from mockserver.storage import SqliteStore, Store
    from mockserver.testing.client import MockClient, MockTimeout
    from mockserver.testing.server import MockServer

__all__ = [
    "EventStore",
    "MockClient",
    "MockServer",
    "MockTimeout",
    "Settings",
    "SqliteStore",
    "Store",
    "create_app",
]
__version__ = "0.1.0"

_HOMES = {
    "create_app": "mockserver.app",
    "MockClient": "mockserver.testing.client",
    "MockTimeout": "mockserver.testing.client",
    "MockServer": "mockserver.testing.server",
    "Settings": "mockserver.settings",
    "SqliteStore": "mockserver.storage",
    "Store": "mockserver.storage",
}


# The name of the SQLite store before the store interface existed; kept for existing callers.
_RENAMED = {"EventStore": "SqliteStore"}


def __getattr__(name: str) -> Any:
    name = _RENAMED.get(name, name)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
