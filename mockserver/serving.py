"""Serving the app with uvicorn in this process: one server, or ``--workers N`` processes.

``mockserver serve`` calls ``serve``; ``MockServer`` (a thread, for tests) shares
``uvicorn_config``. Everything here is process-wide plumbing that a library caller of
``create_app`` never needs.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
from typing import Any, cast

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from mockserver.app import create_app
from mockserver.faults.rules import parse_flag, parse_rule
from mockserver.http11 import GoLikeHttpToolsProtocol
from mockserver.settings import Settings
from mockserver.storage import open_store
from mockserver.validation import Profile, load_contracts
from mockserver.vendors.faults import RULE_TARGETS
from mockserver.vendors.registry import ANALYTICS
from mockserver.vendors.upstream import check_upstream

# uvicorn's, most severe first
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
DEFAULT_LOG_LEVEL = "warning"
GRACEFUL_SHUTDOWN_SECONDS = 2
WORKER_SETTINGS = "MOCKSERVER_WORKER_SETTINGS"
WORKER_LOG_LEVEL = "MOCKSERVER_WORKER_LOG_LEVEL"


def uvicorn_config(
    app: ASGIApp | str, log_level: str = DEFAULT_LOG_LEVEL, **extra: Any
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=logs_requests(log_level),
        lifespan="on",
        # On SIGTERM (or MockServer.stop) requests still running get this long, then are
        # cancelled: a /_mock/wait of up to 300 s must not hold a shutdown.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=GoLikeHttpToolsProtocol,
        **extra,
    )


def logs_requests(log_level: str) -> bool:
    """Whether uvicorn's access log is on: only where its level shows the lines. uvicorn builds
    each request's line (client address, quoted path) before the logger drops it, a cost for
    nothing at the default warning level (measured: bench/results/measurements.md#access-log)."""
    return LOG_LEVELS.index(log_level) >= LOG_LEVELS.index("info")


def prepare(settings: Settings) -> Starlette | None:
    """Check the settings and build what serving needs; ValueError says what is wrong.

    One process: the app. Several: nothing, but the schemas were loaded and the store migrated
    once here, before any worker starts (two workers must not race to migrate)."""
    if settings.workers <= 1:
        return create_app(settings)
    if settings.db == ":memory:":
        raise ValueError("--workers needs a --db file: each worker would have its own :memory:")
    for flag in settings.faults:  # a wrong --fault stops here, not in every worker
        parse_rule(parse_flag(flag), 0, vendors=RULE_TARGETS)
    check_upstream(
        settings.upstreams, settings.upstream_mode, settings.upstream_ca, settings.upstream_timeout
    )
    load_contracts(settings.schema_dir, cast(Profile, settings.profile))
    open_store(settings.db, ANALYTICS).close()
    return None


def bind(settings: Settings) -> socket.socket:
    """The listening socket, bound before serving so that the URL is known and printed first."""
    return socket.create_server((settings.host, settings.port))


def serve(settings: Settings, app: Starlette | None, sock: socket.socket, log_level: str) -> None:
    """Serve on ``sock`` until interrupted: ``app`` in this process, else ``settings.workers``
    processes, each building its own app (``worker_app``)."""
    if app is None:
        os.environ[WORKER_SETTINGS] = settings.to_json()
        os.environ[WORKER_LOG_LEVEL] = log_level
        config = uvicorn_config(
            "mockserver.serving:worker_app", log_level, factory=True, workers=settings.workers
        )
        Multiprocess(config, sockets=[sock]).run()
        return
    _log_requests_to_stderr(log_level)
    _exempt_startup_objects_from_gc()
    uvicorn.Server(uvicorn_config(app, log_level)).run(sockets=[sock])


def _log_requests_to_stderr(log_level: str) -> None:
    """The request path's lines (a refused request's status, vendor, endpoint and first
    reason) as plain lines on stderr, from the given level."""
    logger = logging.getLogger("mockserver")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(log_level.upper() if log_level != "trace" else logging.DEBUG)
    logger.propagate = False


def worker_app() -> Starlette:
    """The app of one worker process (``--workers N``), from the settings the parent passed."""
    app = create_app(Settings.from_json(os.environ[WORKER_SETTINGS]))
    _log_requests_to_stderr(os.environ.get(WORKER_LOG_LEVEL, DEFAULT_LOG_LEVEL))
    _exempt_startup_objects_from_gc()
    return app


def _exempt_startup_objects_from_gc() -> None:
    """Keep what start-up built (modules, schemas, compiled validators) out of every later
    garbage collection: a full collection walked them all mid-request, which was most of p99
    at c=64 (measured: bench/results/measurements.md#gc-freeze). Only for the server process:
    a library call must not change its host's collector."""
    gc.collect()
    gc.freeze()
