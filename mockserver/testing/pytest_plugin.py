"""pytest fixtures for apps that send Neuralens or Lucidworks events (registered via pytest11).

- ``mockserver``: a MockClient bound to a namespace of its own for this test, over one server
  for the session. Send the app's traffic to its endpoints, ``mockserver.neuralens_event_url``
  or ``mockserver.lucidworks_signal_url("click", store)``, or give the app a base URL,
  ``mockserver.url`` or ``mockserver.lucidworks_base_url(store)``; tests never see each
  other's events, even on one shared server (pytest-xdist, a CI service container).
- ``mockserver_settings``: the server's Settings; override it, or set the ini options. An
  override that sets neither ``port`` nor ``db`` (``Settings(neuralens_keys=("k",))``) still
  gets a free port and an in-memory store: those are a Settings' defaults in code.
- ``mockserver_app``: the ASGI app itself, for in-process use without sockets.
- Contract mode (``--mockserver-strict``, ini ``mockserver_fail_on_rejection = true``, or
  ``@pytest.mark.mockserver_strict``): a test fails when the mock rejected anything it was sent.
- Signal-quality warnings (``--mockserver-warnings``, ini ``mockserver_warnings``): ``report``
  (the default) lists the tests whose accepted events drew warnings at the end of the run,
  from one query a session; ``error`` fails those tests as contract mode does (one query a
  test); ``ignore`` neither asks nor says.

The server is imported only when a fixture is used, so the plugin costs nothing otherwise.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from mockserver.settings import Settings
    from mockserver.testing.client import MockClient

STRICT_MARKER = "mockserver_strict"
WARNINGS_MODES = ("error", "report", "ignore")
DISAGREEMENT_MODES = ("error", "ignore")
SUMMARY_PLUGIN = "mockserver-warnings-summary"
# What a pytest-xdist worker sends its controller: (test id, its warnings) pairs.
WORKER_OUTPUT_KEY = "mockserver_warnings"
# Report mode reads the warned events received since the session began, less this margin
# for a shared server whose clock is behind ours (other runs' events are left out by
# namespace anyway).
CLOCK_MARGIN = timedelta(hours=1)
_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9._-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "Neuralens/Lucidworks mock server")
    group.addoption(
        "--mockserver-strict",
        action="store_true",
        default=None,
        help="fail each test whose traffic the mock rejected (contract mode)",
    )
    group.addoption(
        "--mockserver-warnings",
        choices=WARNINGS_MODES,
        default=None,
        help="what a test whose accepted events drew signal-quality warnings gets: error "
        "(fails, as --mockserver-strict does for rejections), report (listed at the end; the "
        "default) or ignore",
    )
    group.addoption(
        "--mockserver-upstream-disagreement",
        choices=DISAGREEMENT_MODES,
        default=None,
        help="shadow mode (ini mockserver_upstreams): what a test gets when the mock and the "
        "real service disagreed on a request it sent: error (fails) or ignore (the default)",
    )
    group.addoption(
        "--mockserver-url",
        default=None,
        help="use this running mockserver instead of starting one (also MOCKSERVER_URL)",
    )
    parser.addini(
        "mockserver_fail_on_rejection", "contract mode for every test", type="bool", default=False
    )
    parser.addini(
        "mockserver_warnings", "error, report (default) or ignore signal-quality warnings",
        default="report",
    )  # fmt: skip
    parser.addini(
        "mockserver_upstream_disagreement", "error or ignore (default) disagreements",
        default="ignore",
    )  # fmt: skip
    parser.addini(
        "mockserver_upstreams", "VENDOR=URL: forward each request to the real service too "
        "(shadow mode; docs/shadow-mode.md)", type="args",
    )  # fmt: skip
    parser.addini("mockserver_upstream_mode", "shadow (default) or passthrough", default="shadow")
    parser.addini("mockserver_url", "a running mockserver to use instead of starting one")
    parser.addini("mockserver_db", "SQLite file of the started server", default=":memory:")
    parser.addini("mockserver_profile", "strict (default) or lenient validation", default="strict")
    parser.addini("mockserver_neuralens_keys", "accept only these Neuralens keys", type="args")
    parser.addini(
        "mockserver_lucidworks_tokens", "accept only these Lucidworks tokens", type="args"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{STRICT_MARKER}(enabled=True): fail this test when the mock rejected anything it was "
        "sent; mockserver_strict(False) turns contract mode off for one test",
    )
    mode = _warnings_mode(config)
    if mode not in WARNINGS_MODES:
        raise pytest.UsageError(
            f"mockserver_warnings = {mode!r}: use one of {', '.join(WARNINGS_MODES)}"
        )
    if mode == "report":
        config.pluginmanager.register(_WarningsSummary(config), SUMMARY_PLUGIN)


@pytest.fixture(scope="session")
def mockserver_settings(pytestconfig: pytest.Config) -> Settings:
    """The started server's settings. Override this fixture to change any of them."""
    from mockserver.settings import Settings

    return Settings(
        db=str(pytestconfig.getini("mockserver_db")),
        profile=str(pytestconfig.getini("mockserver_profile")),
        neuralens_keys=tuple(pytestconfig.getini("mockserver_neuralens_keys")),
        lucidworks_tokens=tuple(pytestconfig.getini("mockserver_lucidworks_tokens")),
        upstreams=tuple(pytestconfig.getini("mockserver_upstreams")),
        upstream_mode=str(pytestconfig.getini("mockserver_upstream_mode")),
    )


@pytest.fixture(scope="session")
def mockserver_url(pytestconfig: pytest.Config, mockserver_settings: Settings) -> Iterator[str]:
    """The base URL of the session's server: a running one if configured, else a new one."""
    configured = (
        pytestconfig.getoption("mockserver_url")
        or os.environ.get("MOCKSERVER_URL")
        or pytestconfig.getini("mockserver_url")
    )
    if configured:
        yield str(configured).rstrip("/")
        return
    from mockserver.testing.server import MockServer

    with MockServer(mockserver_settings) as server:
        yield server.url


@pytest.fixture(scope="session")
def _mockserver_http(
    mockserver_url: str, mockserver_settings: Settings, pytestconfig: pytest.Config
) -> Iterator[Any]:
    """One HTTP client (and its kept-alive connection) for every test's MockClient."""
    from mockserver.testing.client import MockClient

    token = mockserver_settings.admin_token or os.environ.get("MOCKSERVER_ADMIN_TOKEN")
    with MockClient.http_client(mockserver_url, admin_token=token) as http:
        yield http
        # After the last test, while the server still runs (it stops after this client).
        summary = pytestconfig.pluginmanager.get_plugin(SUMMARY_PLUGIN)
        if summary is not None:
            summary.collect(MockClient(mockserver_url, http=http))


@pytest.fixture
def mockserver(
    mockserver_url: str, _mockserver_http: Any, request: pytest.FixtureRequest
) -> MockClient:
    """A client of the session's server, bound to a fresh namespace for this test.

    Nothing to reset: the namespace is new (the test's name and a random suffix), so the test
    sees only its own traffic, even on a server shared by earlier runs. Setup and teardown
    cost little (bench/results/fixture.md)."""
    from mockserver.testing.client import MockClient

    namespace = _namespace_for(request.node.nodeid)
    summary = request.config.pluginmanager.get_plugin(SUMMARY_PLUGIN)
    if summary is not None:
        summary.tests[namespace] = request.node.nodeid
    return MockClient(mockserver_url, namespace=namespace, http=_mockserver_http)


@pytest.fixture
def mockserver_app(mockserver_settings: Settings) -> Starlette:
    """The mock as an ASGI app on a throwaway in-memory store: no server, no sockets."""
    from mockserver.app import create_app

    return create_app(mockserver_settings.with_overrides(db=":memory:"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield  # a test that already failed keeps its own failure
    client = getattr(item, "funcargs", {}).get("mockserver")
    if client is None:
        return result
    failures = []
    if _strict(item):
        try:
            client.assert_no_rejections()
        except AssertionError as rejected:
            failures.append(f"contract mode: {rejected}")
    if _warnings_mode(item.config) == "error":
        try:
            client.assert_no_warnings()
        except AssertionError as warned:
            failures.append(f"--mockserver-warnings=error: {warned}")
    if _disagreement_mode(item.config) == "error":
        try:
            client.assert_no_disagreements()
        except AssertionError as disagreed:
            failures.append(f"--mockserver-upstream-disagreement=error: {disagreed}")
    if failures:
        # Failed outside the except block: inside it, pytest printed the message twice (the
        # assertion, then "During handling of the above exception" and the failure).
        pytest.fail("\n".join(failures), pytrace=False)
    return result


class _WarningsSummary:
    """Report mode: after the last test, one read of the warned events (not one a test, which
    would double what the fixture costs a test) sorted to the tests by their namespaces; then
    a section of the terminal summary. Under pytest-xdist each worker reads its own tests'
    and sends them to the controller, which prints them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.began = datetime.now(UTC) - CLOCK_MARGIN
        self.tests: dict[str, str] = {}  # namespace: test id, of the tests run here
        self.reported: list[tuple[str, str]] = []

    def collect(self, client: MockClient) -> None:
        from mockserver.testing.client import describe_warned

        since = self.began.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        warned: dict[str, list[dict[str, Any]]] = {}
        offset = 0
        while page := client.events(warned="true", since=since, limit=1000, offset=offset):
            for event in page:
                if event["namespace"] in self.tests:
                    warned.setdefault(event["namespace"], []).append(event)
            offset += len(page)
        self.reported += [
            (test, describe_warned(warned[namespace], f" in namespace {namespace!r}"))
            for namespace, test in self.tests.items()
            if namespace in warned
        ]
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKER_OUTPUT_KEY] = self.reported

    @pytest.hookimpl(optionalhook=True)  # pytest-xdist's, on the controller
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.reported += [
            (str(test), str(text))
            for test, text in getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, [])
        ]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.reported:
            return
        terminalreporter.section("mockserver warnings", yellow=True)
        for test, text in sorted(self.reported):
            terminalreporter.write_line(f"{test}: {text}")
        tests = "1 test" if len(self.reported) == 1 else f"{len(self.reported)} tests"
        them = "it" if len(self.reported) == 1 else "them"
        terminalreporter.write_line(
            f"{tests} sent signals the vendor accepts but whose analytics they spoil; "
            f"--mockserver-warnings=error fails {them}, ignore leaves this out."
        )


def _disagreement_mode(config: pytest.Config) -> str:
    option: Any = config.getoption("mockserver_upstream_disagreement")
    return str(option or config.getini("mockserver_upstream_disagreement")).strip()


def _warnings_mode(config: pytest.Config) -> str:
    option: Any = config.getoption("mockserver_warnings")
    return str(option or config.getini("mockserver_warnings")).strip()


def _strict(item: pytest.Item) -> bool:
    marker = item.get_closest_marker(STRICT_MARKER)
    if marker is not None:
        return bool(marker.args[0]) if marker.args else bool(marker.kwargs.get("enabled", True))
    option: Any = item.config.getoption("mockserver_strict")
    return bool(option) or bool(item.config.getini("mockserver_fail_on_rejection"))


def _namespace_for(nodeid: str) -> str:
    """``test_checkout.py-test_pay-1f3a9c2e``: readable, unique, and a valid namespace name."""
    readable = _NOT_A_NAME_CHARACTER.sub("-", nodeid.split("/")[-1].replace("::", "-")).strip("-._")
    return f"{readable[:46] or 't'}-{uuid.uuid4().hex[:12]}"
