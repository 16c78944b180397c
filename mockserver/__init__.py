"""mockserver: the Neuralens and Lucidworks behavioural-event APIs, emulated locally."""

from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.store import EventStore

__all__ = ["EventStore", "Settings", "create_app"]
__version__ = "0.1.0"
