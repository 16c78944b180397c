"""What mockserver/http11.py takes from uvicorn's private httptools protocol, pinned.

http11.py copies ``HttpToolsProtocol.data_received`` (to read an ignored Upgrade's body itself)
and calls private methods and attributes of uvicorn's protocol and its request cycle. None of
that is uvicorn's public API, so pyproject.toml allows only the uvicorn releases checked here.
When a new uvicorn changes one of them, these tests fail and name it: compare the new release's
method with http11.py's copy, carry the change over, then record the new fingerprint. The
behaviour itself (h2c bodies, the header timeout, connection faults) is tested through a real
server in test_hostile_input.py and test_vendors_faults.py.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import inspect
import re
import textwrap
from typing import cast

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from mockserver import http11

# sha256 of ast.dump() of the uvicorn methods http11.py copies whole rather than extends.
# The same from uvicorn 0.45 to 0.55 (checked release by release from their wheels; before
# 0.45 there is no _start_asgi_task, which the lane calls).
COPIED = {
    "data_received": "cfb48d75",
    "on_message_complete": "d23dbbe7",  # http11's override falls back to it: its checks matter
    # replaced, for one keep-alive timer a connection
    "on_response_complete": "0709ec90",
    "_unset_keepalive_if_required": "4781fe6c",
}


def fingerprint(method: object) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(method)))  # type: ignore[arg-type]
    return hashlib.sha256(ast.dump(tree.body[0]).encode()).hexdigest()[:8]


@pytest.mark.parametrize("name", sorted(COPIED))
def test_the_uvicorn_methods_http11_copies_are_those_it_was_copied_from(name: str) -> None:
    assert fingerprint(getattr(HttpToolsProtocol, name)) == COPIED[name], (
        f"uvicorn's HttpToolsProtocol.{name} changed: carry the change into http11.py"
    )


def test_the_private_methods_http11_calls_are_still_there() -> None:
    for name in (
        "_unset_keepalive_if_required",
        "_should_upgrade",
        "handle_websocket_upgrade",
        "_unsupported_upgrade_warning",
        "send_400_response",
        "on_body",
        "shutdown",
        "_start_asgi_task",
        "on_response_complete",
    ):
        assert callable(getattr(HttpToolsProtocol, name, None)), name


def test_the_protocol_and_cycle_attributes_http11_reads_are_still_set() -> None:
    protocol_init = inspect.getsource(HttpToolsProtocol.__init__)
    for name in (
        "self.parser", "self.cycle", "self.loop", "self.logger", "self.headers", "self.app",
        "self.access_log", "self.access_logger", "self.limit_concurrency", "self.pipeline",
        "self.timeout_keep_alive", "self.server_state",
    ):  # fmt: skip
        assert f"{name} " in protocol_init or f"{name}:" in protocol_init, name
    message_begin = inspect.getsource(HttpToolsProtocol.on_message_begin)
    for name in ("self.scope", "self.url", "self.expect_100_continue"):
        assert name in message_begin, name
    connection_made = inspect.getsource(HttpToolsProtocol.connection_made)
    for name in ("self.transport", "self.flow"):
        assert name in connection_made, name
    assert callable(getattr(HttpToolsProtocol, "timeout_keep_alive_handler", None))
    state = ServerState()
    assert (state.default_headers, state.total_requests) == ([], 0)
    cycle_init = inspect.getsource(RequestResponseCycle.__init__)
    for name in ("self.more_body", "self.message_event", "self.keep_alive"):
        assert name in cycle_init, name


def test_the_lane_cycle_has_what_uvicorn_asks_of_a_request_cycle() -> None:
    # http11.LaneCycle sits in uvicorn's cycle slot: uvicorn starts it (pipelined) with
    # run_asgi, marks it disconnected, sets its message_event, and asks response_complete
    # and keep_alive of it. These are the only cycle members uvicorn's protocol touches.
    protocol = inspect.getsource(HttpToolsProtocol)
    touched = set(re.findall(r"\bcycle\.(\w+)", protocol))
    assert touched <= {
        "run_asgi", "disconnected", "message_event", "response_complete", "keep_alive", "body",
        "more_body",
    }, touched  # fmt: skip
    lane_cycle = (*http11.LaneCycle.__slots__, "message_event", "run_asgi")
    for name in touched - {"body"}:  # uvicorn's on_body: http11 answers a lane cycle's itself
        assert name in lane_cycle, name
    assert "cycle.run_asgi(app)" in inspect.getsource(HttpToolsProtocol._start_asgi_task)
    assert "self.pipeline.pop()" in inspect.getsource(HttpToolsProtocol.on_response_complete)
    init = inspect.getsource(HttpToolsProtocol.__init__)
    for name in ("self.pipeline", "self.flow", "self.access_log", "self.limit_concurrency"):
        assert name in init, name
    assert "self.expect_100_continue = True" in inspect.getsource(HttpToolsProtocol.on_header)
    assert "default_headers" in inspect.getsource(HttpToolsProtocol.send_400_response)


def test_the_protocol_mockserver_serves_with_extends_uvicorns() -> None:
    assert issubclass(http11.GoLikeHttpToolsProtocol, HttpToolsProtocol)


def test_a_request_that_asks_after_the_server_began_to_stop_is_told_at_once() -> None:
    # A long-poll whose handler first asks in the loop turn after shutdown() told the
    # connection would otherwise wait out the grace period, then be cancelled (an Event made
    # only when a request first asked was never set): the connection's one Event says it.
    told, late = (http11.Connection(cast(asyncio.Transport, None)) for _ in range(2))
    waiting = told.stopping
    told.stopping.set()
    late.stopping.set()
    assert waiting.is_set()
    assert late.stopping.is_set()
