"""mockserver: the Neuralens and Lucidworks behavioural-event APIs, emulated locally.

The names below are imported on first use: ``mockserver serve`` then never loads httpx and
the client side, which kept several MiB resident in the server for nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.client import MockClient, MockTimeout
    from mockserver.server import MockServer
    from mockserver.settings import Settings
    from mockserver.store import EventStore

__all__ = ["EventStore", "MockClient", "MockServer", "MockTimeout", "Settings", "create_app"]
__version__ = "0.1.0"

_HOMES = {
    "create_app": "mockserver.app",
    "MockClient": "mockserver.client",
    "MockTimeout": "mockserver.client",
    "MockServer": "mockserver.server",
    "Settings": "mockserver.settings",
    "EventStore": "mockserver.store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
