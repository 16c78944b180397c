"""MockServer: the mock on a real socket, served by uvicorn in a background thread.

The socket is bound before the thread starts (port 0 picks a free port), so ``url`` is known
at once and two servers never race for a port. ``stop`` asks uvicorn to exit and joins the
thread; nothing is left behind, however many servers one process starts.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from mockserver.app import create_app
from mockserver.serving import uvicorn_config
from mockserver.settings import Settings
from mockserver.storage import Store
from mockserver.testing.client import MockClient, VendorURLNames, VendorURLs

STARTUP_TIMEOUT_SECONDS = 10.0


class MockServer(VendorURLNames):
    """``with MockServer() as server: requests.post(server.neuralens_event_url, ...)``; its
    URLs (``url`` e.g. ``http://127.0.0.1:53211``, and the vendors') are VendorURLNames'."""

    def __init__(self, settings: Settings | None = None, store: Store | None = None) -> None:
        """``store``: keep the events after ``stop`` (the caller closes it); by default the
        server opens ``settings.db`` and closes it when it stops."""
        self.settings = settings if settings is not None else Settings()  # free port, memory
        self.store = store
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._urls: VendorURLs | None = None

    def client(self, namespace: str | None = None) -> MockClient:
        """A client of this server's inspection API, bound to ``namespace`` if given."""
        return MockClient(self.url, namespace=namespace, admin_token=self.settings.admin_token)

    def start(self) -> MockServer:
        if self._thread is not None:
            raise RuntimeError("this MockServer is already started")
        sock = socket.create_server((self.settings.host, self.settings.port))
        host, port = sock.getsockname()[:2]
        server = uvicorn.Server(uvicorn_config(create_app(self.settings, self.store)))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"mockserver:{port}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(STARTUP_TIMEOUT_SECONDS)
                sock.close()
                raise RuntimeError(f"mockserver did not start on {host}:{port}")
            time.sleep(0.002)
        self._server, self._thread = server, thread
        url_host = f"[{host}]" if ":" in host else host
        self._urls = VendorURLs(f"http://{url_host}:{port}")
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(STARTUP_TIMEOUT_SECONDS)
        self._server = self._thread = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _vendor_urls(self) -> VendorURLs:
        if self._urls is None:
            raise RuntimeError("start the MockServer first (server.start() or `with MockServer()`)")
        return self._urls
