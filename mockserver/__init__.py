"""mockserver: the Neuralens and Lucidworks behavioural-event APIs, emulated locally."""

from mockserver.app import create_app
from mockserver.client import MockClient, MockTimeout
from mockserver.server import MockServer
from mockserver.settings import Settings
from mockserver.store import EventStore

__all__ = ["EventStore", "MockClient", "MockServer", "MockTimeout", "Settings", "create_app"]
__version__ = "0.1.0"
