"""The dashboard in a real headless Chromium (Debian's package), driven by Playwright.

Each test leaves a screenshot of the page as it ended in its tmp dir (``dashboard.png``).
Without a Chromium these tests skip, but not in CI (``CI`` set), where a missing browser fails.
"""

from __future__ import annotations

import colorsys
import http.server
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    FloatRect,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from mockserver import MockServer, Settings, SqliteStore
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture

pytestmark = pytest.mark.slow


CHROMIUM_FLAGS = [
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No connections of its own: on a machine without internet they fail, many at a time.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLICK = load_fixture("lucidworks", "valid", "click-full.json")
QUERY = load_fixture("lucidworks", "valid", "query-example.json")
NEURALENS_CLICK = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")
LIVE_WITHIN_SECONDS = 1.0  # the promise: a posted event shows within a second


def _chromium_path() -> str:
    path = os.environ.get("MOCKSERVER_CHROMIUM") or shutil.which("chromium") or ""
    if path:
        return path
    message = (
        "no Chromium: install Debian's (apt-get install -y chromium) or set MOCKSERVER_CHROMIUM "
        "to a Chromium binary"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MockServer]:
    with MockServer(Settings(db=str(tmp_path / "mock.db"), port=0)) as running:
        yield running


class Console:
    """What the page said: console errors, uncaught exceptions, and dialogs (alert) opened."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def uncaught(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error}")

    def dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def console() -> Console:
    return Console()


class OpenPage(Protocol):
    def __call__(self, url: str, width: int = 1280, height: int = 800) -> Page: ...


@pytest.fixture
def open_page(browser: Browser, tmp_path: Path, console: Console) -> Iterator[OpenPage]:
    """``open_page(url)``: a fresh page at ``url``, 1280x800 unless told; a screenshot is kept
    at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pages: list[Page] = []

    def open_at(url: str, width: int = 1280, height: int = 800) -> Page:
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.on("console", console.message)
        page.on("pageerror", console.uncaught)
        page.on("dialog", console.dialog)
        page.goto(url)
        pages.append(page)
        return page

    yield open_at
    for number, page in enumerate(pages):
        suffix = f"-{number}" if number else ""
        page.screenshot(path=str(tmp_path / f"dashboard{suffix}.png"))
    context.close()


def dashboard(server: MockServer) -> str:
    return f"{server.url}/_mock/ui/"


def post_click(
    server: MockServer, body: Any = None, store: str | None = None, **headers: str
) -> int:
    url = f"{server.lucidworks_base_url(store)}/retail/signals/click"
    response = httpx.post(
        url,
        content=json.dumps(body if body is not None else CLICK),
        headers={**LUCIDWORKS_HEADERS, **headers},
    )
    return response.status_code


def post_neuralens(
    server: MockServer, body: Any, namespace: str | None = None, **headers: str
) -> int:
    url = server.neuralens_event_url
    if namespace:
        url = url.replace("/analytics/", f"/ns/{namespace}/analytics/")
    response = httpx.post(url, content=json.dumps(body), headers={**NEURALENS_HEADERS, **headers})
    return response.status_code


def rows(page: Page) -> Locator:
    return page.locator("#rows tr")


def wait_live(page: Page) -> None:
    expect(page.locator("#live-state")).to_have_text("live")


def test_the_page_loads_without_console_errors_and_shows_what_arrived(
    server: MockServer, open_page: Callable[[str], Page], console: Console
) -> None:
    assert post_click(server) == 202
    page = open_page(server.url)  # / redirects to the dashboard
    assert page.url.endswith("/_mock/ui/")
    wait_live(page)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("lucidworks")
    expect(page.locator("#count-events")).to_have_text("1")
    assert console.errors == []
    with server.client() as client:
        assert client.summary()["rejections"]["total"] == 0  # nor the favicon


def test_an_event_posted_after_the_page_loaded_shows_within_a_second(
    server: MockServer, open_page: Callable[[str], Page], console: Console
) -> None:
    page = open_page(dashboard(server))
    wait_live(page)
    expect(page.locator("#empty")).to_be_visible()
    assert post_neuralens(server, {**NEURALENS_CLICK, "uid": "live-user"}) == 200
    posted = time.monotonic()
    page.locator("#rows tr", has_text="live-user").wait_for(timeout=5_000)
    assert time.monotonic() - posted < LIVE_WITHIN_SECONDS
    expect(page.locator("#count-events")).to_have_text("1")
    assert console.errors == []


def test_rows_being_read_stay_in_place_while_events_stream_in(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    assert post_click(server, [{**CLICK[0], "visitorId": f"v{n}"} for n in range(40)]) == 202
    page = open_page(dashboard(server))
    expect(rows(page)).to_have_count(40)
    page.locator(".table-wrap").evaluate("wrap => { wrap.scrollTop = 300; }")
    reading = page.locator("#rows tr", has_text="v20")
    before = reading.bounding_box()
    post_click(server, [{**CLICK[0], "visitorId": "newcomer"}])
    expect(rows(page)).to_have_count(41)
    expect(rows(page).first).to_contain_text("newcomer")  # above, out of sight
    after = reading.bounding_box()
    assert before is not None
    assert after is not None
    assert abs(after["y"] - before["y"]) <= 1


def test_pause_holds_new_rows_back_until_resume(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    page = open_page(dashboard(server))
    wait_live(page)
    page.keyboard.press("p")
    expect(page.locator("#live-state")).to_have_text("paused")
    post_click(server)
    expect(page.locator("#live-state")).to_have_text("paused · 1 new")
    expect(rows(page)).to_have_count(0)
    page.get_by_role("button", name="Resume").click()
    expect(rows(page)).to_have_count(1)


FILTERS = [
    # (the control's name, a value typed or chosen, rows left of three)
    ("vendor", "neuralens", 2),
    ("namespace", "team-a", 1),
    ("tenant", "shop-eu", 1),
    ("type", "PURCHASE", 1),
    ("text", "OAK TABLE", 1),  # case-insensitive, in the query
    ("text", "SKU-42", 1),  # a product id
]


def test_each_filter_narrows_the_table_lives_in_the_url_and_survives_a_reload(
    server: MockServer, open_page: Callable[[str], Page], console: Console
) -> None:
    assert post_click(server, store="shop-eu") == 202
    oak = {**NEURALENS_CLICK, "query": "oak table"}
    assert post_neuralens(server, oak, namespace="team-a") == 200
    purchase = load_fixture("neuralens", "valid", "purchase-several-items.json")
    assert post_neuralens(server, {**purchase, "items": [{"id": "SKU-42"}]}) == 200
    page = open_page(dashboard(server))
    expect(rows(page)).to_have_count(3)
    for name, value, left in FILTERS:
        control = page.locator(f"#filters [name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            expect(control.locator(f"option[value='{value}']")).to_be_attached()
            control.select_option(value)
        else:
            control.fill(value)
            control.press("Enter")
        expect(rows(page)).to_have_count(left)
        assert parse_qs(urlparse(page.url).query)[name] == [value]
        page.reload()
        expect(rows(page)).to_have_count(left)
        expect(page.locator(f"#filters [name={name}]")).to_have_value(value)
        page.go_back()  # the view before the filter
        expect(rows(page)).to_have_count(3)
        expect(page.locator(f"#filters [name={name}]")).to_have_value("")
    assert console.errors == []


def test_accepted_and_rejected_are_two_views_and_a_link_reproduces_each(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    post_click(server)
    post_click(server, [{}])
    post_click(server, [{}])
    page = open_page(dashboard(server))
    expect(rows(page)).to_have_count(1)
    page.get_by_role("link", name=re.compile("Rejected")).click()
    expect(rows(page)).to_have_count(2)
    expect(page.locator("#count-rejections")).to_have_text("2")
    linked = open_page(page.url)
    expect(rows(linked)).to_have_count(2)
    expect(rows(linked).first).to_contain_text("400")


def test_the_detail_panel_shows_the_payload_headers_and_opens_from_the_keyboard(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    post_click(server, [{**CLICK[0], "visitorId": "first"}])
    post_click(server, [{**CLICK[0], "visitorId": "second"}])
    page = open_page(dashboard(server))
    expect(rows(page)).to_have_count(2)
    rows(page).first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the older one: "first"
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.locator(".json")).to_contain_text('"visitorId": "first"')
    expect(detail.locator("table.headers")).to_contain_text("authorization")
    expect(detail.locator("table.headers")).to_contain_text("hmac-sha256:")
    expect(detail.locator("table.headers")).not_to_contain_text(LUCIDWORKS_HEADERS["Authorization"])
    assert "open=e1" in page.url
    page.reload()  # the open event is part of the link
    expect(page.locator("#detail .json")).to_contain_text('"visitorId": "first"')
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()


def test_a_rejection_shows_each_reason_beside_the_field_it_names(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    wrong = json.loads(json.dumps(CLICK))
    wrong[0]["productDetails"][0]["product"]["currencyCode"] = "usd"
    del wrong[0]["sessionId"]
    assert post_click(server, wrong) == 400
    page = open_page(f"{dashboard(server)}?view=rejections")
    rows(page).first.click()
    body = page.locator("#detail .json")
    # The wrong value's own line is marked, its reason right under it...
    currency = body.locator(".line.has-error", has_text='"currencyCode": "usd"')
    expect(currency).to_have_count(1)
    expect(body.locator(".line.has-error + .note").first).to_be_visible()
    expect(body).to_contain_text("iso4217")
    # ...and a missing field's reason sits on the object that lacks it.
    expect(body.locator(".note", has_text="sessionId")).to_have_count(1)
    expect(page.locator("#detail .reasons li")).to_have_count(len(_reasons(server)))


def _reasons(server: MockServer) -> list[dict[str, str]]:
    with server.client() as client:
        (rejection,) = client.rejections()
    return list(rejection["errors"])


def test_a_header_reason_sits_beside_the_header(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    assert post_click(server, Authorization="Bearer x") == 401
    page = open_page(f"{dashboard(server)}?view=rejections&open=r1")
    header = page.locator("#detail table.headers tr.has-error")
    expect(header).to_contain_text("authorization")
    expect(header).to_contain_text("without 'Bearer '")


def test_reasons_are_grouped_with_counts_and_each_group_lists_its_requests(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    for _ in range(3):
        wrong = json.loads(json.dumps(CLICK))
        wrong[0]["productDetails"][0]["product"]["currencyCode"] = "usd"
        post_click(server, wrong)
    post_click(server, [{}])
    page = open_page(f"{dashboard(server)}?view=reasons")
    group = rows(page).first
    expect(group).to_contain_text("3 ×")
    expect(group).to_contain_text("$[0].productDetails[0].product.currencyCode")
    expect(group).to_contain_text("iso4217")
    group.click()
    expect(rows(page)).to_have_count(3)
    assert "rule=iso4217" in page.url
    expect(page.locator("#reason-filter")).to_contain_text("iso4217")


XSS_QUERY = "<img src=x onerror=alert(1)>"
XSS_TITLE = "</script><script>window.pwned = 1; alert(2)</script>"


def test_recorded_markup_is_shown_as_text_and_never_runs(
    server: MockServer, open_page: Callable[[str], Page], console: Console
) -> None:
    query = json.loads(json.dumps(QUERY))
    query[0]["searchTerms"] = XSS_QUERY
    query[0]["productDetails"][0]["product"]["title"] = XSS_TITLE
    url = f"{server.lucidworks_base_url()}/retail/signals/query"
    response = httpx.post(url, content=json.dumps(query), headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202, response.text
    assert post_neuralens(server, {**NEURALENS_CLICK, "uid": XSS_TITLE, "index": -1}) == 400
    page = open_page(dashboard(server))
    expect(rows(page).first).to_contain_text(XSS_QUERY)  # literally, as text
    rows(page).first.click()
    expect(page.locator("#detail .json")).to_contain_text(json.dumps(XSS_TITLE)[1:-1])
    page.get_by_role("link", name=re.compile("Rejected")).click()
    rows(page).first.click()
    expect(page.locator("#detail .json")).to_contain_text("window.pwned")
    assert page.locator("#rows img, #detail img, #detail script").count() == 0
    assert page.evaluate("window.pwned") is None
    assert console.dialogs == []  # no alert() ran
    assert console.errors == []


PAGE_ON_ANOTHER_PORT = """<!doctype html>
<title>storefront</title>
<script>
  fetch("%s/retail/signals/click", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "storefront-token"},
    body: %s,
  }).then(r => { document.title = "sent " + r.status; },
          e => { document.title = "failed " + e; });
</script>
"""


def serve_page(html: str) -> http.server.ThreadingHTTPServer:
    """``html`` served on a port of its own: a page on another origin than the mock's."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    return site


def test_a_page_on_another_localhost_port_sends_an_event_with_fetch(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    storefront = serve_page(PAGE_ON_ANOTHER_PORT % (server.url, json.dumps(json.dumps(CLICK))))
    try:
        port = storefront.server_address[1]
        page = open_page(f"http://localhost:{port}/")  # another origin: host and port differ
        expect(page).to_have_title("sent 202")
    finally:
        storefront.shutdown()
        storefront.server_close()
    with server.client() as client:
        client.assert_received(1, vendor="lucidworks")
        assert client.rejections() == []  # the preflight was answered, not recorded


def test_with_an_admin_token_nothing_shows_until_the_token_is_given(
    tmp_path: Path, open_page: Callable[[str], Page]
) -> None:
    settings = Settings(db=str(tmp_path / "guarded.db"), port=0, admin_token="s3cret")
    with MockServer(settings) as server:
        post_click(server)
        page = open_page(dashboard(server))
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        expect(rows(page)).to_have_count(0)
        dialog.locator("input").fill("wrong")
        dialog.locator("input").press("Enter")
        expect(page.locator("#token-error")).to_be_visible()
        expect(rows(page)).to_have_count(0)
        dialog.locator("input").fill("s3cret")
        dialog.locator("input").press("Enter")
        expect(dialog).to_be_hidden()
        expect(rows(page)).to_have_count(1)
        wait_live(page)  # the stream too takes the token
        post_click(server)
        expect(rows(page)).to_have_count(2)


def test_reset_asks_first_and_deletes_one_namespace_or_everything(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    post_neuralens(server, NEURALENS_CLICK, namespace="team-a")
    post_neuralens(server, NEURALENS_CLICK, namespace="team-b")
    page = open_page(f"{dashboard(server)}?namespace=team-a")
    expect(rows(page)).to_have_count(1)
    page.get_by_role("button", name="Reset…").click()
    page.get_by_role("button", name="Cancel").click()
    expect(rows(page)).to_have_count(1)  # cancelled: nothing deleted
    page.get_by_role("button", name="Reset…").click()
    expect(page.locator("#reset-namespace")).to_have_text("team-a")
    page.get_by_role("button", name="Delete").click()
    expect(rows(page)).to_have_count(0)
    with server.client() as client:
        assert [e["namespace"] for e in client.events()] == ["team-b"]


def test_the_page_reconnects_after_a_server_restart(
    tmp_path: Path, open_page: Callable[[str], Page]
) -> None:
    store = SqliteStore(str(tmp_path / "kept.db"), ANALYTICS)
    first = MockServer(Settings(db=store.path, port=0), store=store).start()
    port = int(first.url.rsplit(":", 1)[1])
    page = open_page(dashboard(first))
    wait_live(page)
    first.stop()
    expect(page.locator("#live-state")).to_have_text("reconnecting…")
    with MockServer(Settings(db=store.path, port=port), store=store) as second:
        wait_live(page)
        post_click(second)
        expect(rows(page)).to_have_count(1)
    store.close()


def test_the_analytics_view_shows_the_json_figures_and_a_bar_lists_its_events(
    server: MockServer, open_page: Callable[[str], Page], console: Console
) -> None:
    query = json.loads(json.dumps(QUERY))
    url = f"{server.lucidworks_base_url()}/retail/signals/query"
    assert httpx.post(url, content=json.dumps(query), headers=LUCIDWORKS_HEADERS).status_code == 202
    click = [{**CLICK[0], "queryId": query[0]["queryId"], "selectedPosition": 3}]
    assert post_click(server, click) == 202
    assert post_neuralens(server, {**NEURALENS_CLICK, "query": "oak table"}) == 200
    assert post_neuralens(server, {**NEURALENS_CLICK, "query": "oak table", "index": 0}) == 200
    expected = httpx.get(f"{server.url}/_mock/analytics").json()
    page = open_page(f"{dashboard(server)}?view=analytics")
    for name in ("searches", "ctr", "avg_click_position", "add_to_cart_rate", "purchases"):
        shown = page.locator(f"[data-figure={name}]")
        expect(shown).to_have_attribute("data-value", _js_number(expected[name]))
    # ...and shows them: a count as is, a rate as a percentage.
    expect(page.locator("[data-figure=searches] .figure-value")).to_have_text(
        str(expected["searches"])
    )
    expect(page.locator("[data-figure=ctr] .figure-value")).to_have_text(
        f"{expected['ctr'] * 100:.1f}%"
    )
    for step in expected["funnel"]:
        row = page.locator(f"[data-step={step['step']}]")
        expect(row).to_have_attribute("data-count", str(step["count"]))
    for position, clicks in expected["clicks_by_position"].items():
        column = page.locator(f"[data-position='{position}']")
        expect(column).to_have_attribute("data-count", str(clicks))
    top = page.locator("[data-list=top_queries] tbody tr")
    expect(top).to_have_count(len(expected["top_queries"]))
    expect(top.first).to_contain_text(expected["top_queries"][0]["query"])
    first = expected["series"][0]  # the Neuralens pair's day
    bar = page.locator("button.column").first
    expect(bar).to_have_attribute("data-total", str(first["total"]))
    bar.click()
    expect(rows(page)).to_have_count(first["total"])  # the events of that day, by event time
    assert "event_since" in page.url
    assert console.errors == []


def _js_number(value: float | int | None) -> str:
    """How the page writes a JSON number into an attribute (String(value) in JavaScript)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def test_the_faults_view_shows_the_rules_and_each_request_they_touched_live(
    server: MockServer, open_page: Callable[[str], Page], console: Console
) -> None:
    rules = {"rules": [{"vendor": "lucidworks", "fault": "status", "status": 503}]}
    assert httpx.put(f"{server.url}/_mock/faults", json=rules).status_code == 200
    assert post_click(server) == 503
    page = open_page(f"{dashboard(server)}?view=faults")
    expect(page.locator("#notice")).to_contain_text("#1 lucidworks:status,status=503 (1 hits)")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("503")
    wait_live(page)
    assert post_click(server) == 503
    expect(rows(page)).to_have_count(2)
    assert console.errors == []


def test_the_disagreements_view_shows_the_body_with_the_mocks_reasons_and_the_upstreams_reply(
    open_page: Callable[[str], Page], console: Console, tmp_path: Path
) -> None:
    null_ip = json.loads(json.dumps(CLICK))
    null_ip[0]["ipAddress"] = None  # the strict mock refuses it; a lenient real service takes it
    with MockServer(Settings(profile="lenient")) as upstream:
        shadowing = Settings(db=str(tmp_path / "m.db"), upstreams=(f"lucidworks={upstream.url}",))
        with MockServer(shadowing) as server:
            assert post_click(server) == 202  # agreed: not listed
            page = open_page(f"{dashboard(server)}?view=disagreements")
            wait_live(page)
            assert post_click(server, null_ip) == 400
            expect(rows(page)).to_have_count(1)  # live
            expect(page.locator("#count-disagreements")).to_have_text("1")
            expect(rows(page).first).to_contain_text("400")
            expect(rows(page).first).to_contain_text("202")
            rows(page).first.click()
            detail = page.locator("#detail")
            expect(detail).to_contain_text("The mock refused it (400); the real service accepted")
            ip_line = detail.locator(".json .line.has-error", has_text='"ipAddress": null')
            expect(ip_line).to_have_count(1)
            expect(detail.locator(".upstream-reply")).to_be_visible()
            expect(detail).to_contain_text(f"{upstream.url}/retail/signals/click")
    assert console.errors == []


# ---- what the dashboard must not mislead about (issue 26) ----------------------------------


def _utc(epoch_ms: int) -> str:
    return f"{datetime.fromtimestamp(epoch_ms / 1000, UTC):%Y-%m-%d %H:%M:%S}"


def test_the_list_shows_each_events_own_date_and_time_and_switches_to_the_time_received(
    server: MockServer, open_page: OpenPage, console: Console
) -> None:
    # Any int64 is a valid Lucidworks timestamp, most of them beyond what a date can hold.
    assert (
        post_click(server, load_fixture("lucidworks", "valid", "click-timestamp-int64-max.json"))
        == 202
    )
    assert post_click(server) == 202  # Lucidworks: epoch milliseconds
    assert post_neuralens(server, NEURALENS_CLICK) == 200  # Neuralens: epoch seconds
    page = open_page(dashboard(server))
    expect(rows(page)).to_have_count(3)
    times = page.locator("#rows td.time")
    expect(page.locator("#head th").first).to_have_text(re.compile(r"^Event time \(UTC\)"))
    expect(times.nth(0)).to_have_text(_utc(NEURALENS_CLICK["timestamp"] * 1000))
    expect(times.nth(1)).to_have_text(_utc(CLICK[0]["timestamp"]))  # the newest first
    expect(times.nth(2)).to_have_text("out of range")
    with server.client() as client:
        received = [event["received_at"] for event in client.events()]
    page.locator("#clock").click()
    expect(page.locator("#head th").first).to_have_text(re.compile(r"^Received \(UTC\)"))
    assert parse_qs(urlparse(page.url).query)["time"] == ["received"]
    for row, iso in enumerate(received[:2]):  # newest first, as the table
        at = datetime.fromisoformat(iso)
        shown = f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d}"
        expect(times.nth(row)).to_have_text(shown)
    page.reload()  # the clock is part of the link
    expect(page.locator("#head th").first).to_have_text(re.compile(r"^Received"))
    assert console.errors == []


def _box(locator: Locator) -> FloatRect:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box


def test_at_800_px_the_header_controls_are_on_screen_and_work(
    server: MockServer, open_page: OpenPage
) -> None:
    page = open_page(dashboard(server), width=800, height=600)
    wait_live(page)
    controls = [page.locator("#pause"), page.locator("#reset"), *page.locator(".tab").all()]
    for control in controls:
        box = _box(control)
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 800, f"{control} ends at {box['x'] + box['width']}"
        # ...and nothing covers it: its own middle is what a click there reaches.
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('button, a')?.id "
            "|| document.elementFromPoint(x, y).closest('a')?.dataset.view",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert on_top == (control.get_attribute("id") or control.get_attribute("data-view"))
    page.locator("#pause").click()
    expect(page.locator("#pause")).to_have_attribute("aria-pressed", "true")
    page.locator("#reset").click()
    expect(page.locator("#reset-dialog")).to_be_visible()


DAY_MS = 86_400_000
CHART_DAYS = (1_715_644_800_000, 1_715_644_800_000 + 3 * DAY_MS)  # 14 May 2024, 17 May 2024


def _post_chart_events(server: MockServer) -> None:
    first, last = (ms // 1000 for ms in CHART_DAYS)
    for seconds, event in [
        (first, "CLICK_PRODUCT"),
        (first + 60, "CLICK_PRODUCT"),
        (last, "PURCHASE"),
    ]:
        body = {**NEURALENS_CLICK, "timestamp": seconds, "event": event}
        assert post_neuralens(server, body) == 200
    clicks = [{**CLICK[0], "timestamp": CHART_DAYS[1] + n} for n in range(6)]
    assert post_click(server, clicks) == 202


def _hue(css: str) -> float:
    red, green, blue = (int(n) / 255 for n in re.findall(r"\d+", css)[:3])
    hue, _, _ = colorsys.rgb_to_hls(red, green, blue)
    return hue * 360


def test_the_chart_spans_its_period_with_a_y_scale_and_a_legend_by_vendor(
    server: MockServer, open_page: OpenPage, console: Console
) -> None:
    _post_chart_events(server)
    page = open_page(f"{dashboard(server)}?view=analytics")
    bars = page.locator(".plot button.column")
    expect(bars).to_have_count(4)  # the two empty days between are bars of zero
    plot = _box(page.locator(".plot"))
    first, last = _box(bars.first), _box(bars.last)
    assert first["x"] - plot["x"] <= 3
    assert plot["x"] + plot["width"] - (last["x"] + last["width"]) <= 3
    # Under the first bar, its day; the labels stay under the plot.
    expect(page.locator(".x-label").first).to_have_text("14 May 2024")
    # A y scale from 0, its top at or above the highest bar, the bars drawn to it.
    ticks = page.locator(".tick").evaluate_all("ts => ts.map(t => Number(t.dataset.tick))")
    assert ticks[0] == 0
    assert ticks == sorted(ticks)
    highest = 7  # 17 May: six clicks and a purchase; a round scale goes past it
    assert ticks[-1] > highest
    assert len(ticks) >= 3
    stack = _box(bars.last.locator(".stack"))
    assert abs(stack["height"] / plot["height"] - highest / ticks[-1]) < 0.02
    top_tick = _box(page.locator(".tick").last)
    assert abs(top_tick["y"] + top_tick["height"] / 2 - plot["y"]) <= 2
    # The legend groups the types by vendor, in each vendor's funnel order.
    groups = page.locator(".legend-group")
    expect(groups).to_have_count(2)
    expect(groups.nth(0)).to_have_attribute("data-vendor", "lucidworks")
    expect(groups.nth(0)).to_contain_text("Lucidworks")
    expect(groups.nth(1)).to_contain_text("Neuralens")
    legend = page.locator(".legend-item").evaluate_all(
        "items => items.map(i => `${i.closest('[data-vendor]').dataset.vendor} ${i.dataset.type}`)"
    )
    assert legend == ["lucidworks click", "neuralens CLICK_PRODUCT", "neuralens PURCHASE"]
    assert console.errors == []


def test_each_event_type_colour_belongs_to_its_vendors_family(
    server: MockServer, open_page: OpenPage
) -> None:
    page = open_page(f"{dashboard(server)}?view=analytics")
    expect(page.locator("#analytics .figures")).to_be_visible()
    # Every known type's swatch, drawn as the stylesheet colours it.
    colours = page.evaluate(
        """() => Object.fromEntries(["lucidworks", "neuralens"].map((vendor) => {
            const found = [];
            for (let i = 0; ; i++) {
              const probe = document.createElement("span");
              probe.className = `swatch type-${vendor}-${i}`;
              document.body.append(probe);
              const colour = getComputedStyle(probe).backgroundColor;
              probe.remove();
              if (colour === "rgba(0, 0, 0, 0)") return [vendor, found];
              found.push(colour);
            }
        }))"""
    )
    assert len(colours["lucidworks"]) == 4
    assert len(colours["neuralens"]) == 9
    everything = colours["lucidworks"] + colours["neuralens"]
    assert len(set(everything)) == len(everything)  # no two types alike
    lucidworks = [_hue(c) for c in colours["lucidworks"]]
    neuralens = [_hue(c) for c in colours["neuralens"]]
    # The families do not meet: every Lucidworks hue is further from every Neuralens one than
    # the spread within either family allows a reader to mistake.
    closest = min(min(abs(a - b), 360 - abs(a - b)) for a in lucidworks for b in neuralens)
    assert closest >= 30, (lucidworks, neuralens)


def _post_searches(server: MockServer, queries: list[str]) -> None:
    url = f"{server.lucidworks_base_url()}/retail/signals/query"
    signals = [
        {**QUERY[0], "queryId": f"q-{n}", "searchTerms": text} for n, text in enumerate(queries)
    ]
    response = httpx.post(url, content=json.dumps(signals), headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202, response.text


def test_each_rate_and_funnel_step_names_what_it_counts(
    server: MockServer, open_page: OpenPage
) -> None:
    _post_searches(server, ["oak table"])
    click = [{**CLICK[0], "queryId": "q-0", "sessionId": QUERY[0]["sessionId"]}]
    assert post_click(server, click) == 202
    page = open_page(f"{dashboard(server)}?view=analytics")
    # The three rates share a denominator, and the two that follow a search say a click is not
    # needed: the funnel's steps, which need one, then cannot read as the same figure.
    for name in ("ctr", "add_to_cart_rate", "conversion_rate"):
        expect(page.locator(f"[data-figure={name}] .figure-basis")).to_contain_text("of searches")
    for name in ("add_to_cart_rate", "conversion_rate"):
        expect(page.locator(f"[data-figure={name}]")).to_contain_text("clicked or not")
    expect(page.locator("[data-figure=purchases]")).to_contain_text("purchase events")
    expect(page.locator(".panel h3", has_text="Funnel")).to_contain_text("searches")
    for step in ("clicked", "added_to_cart", "purchased"):
        expect(page.locator(f"[data-step={step}] .row-value")).to_contain_text("of searches")
    expect(page.locator("[data-step=added_to_cart] .row-label")).to_contain_text("with a click")
    purchased = page.locator("[data-step=purchased] .row-label")
    expect(purchased).to_contain_text("with a click")
    expect(purchased).to_contain_text("add-to-cart")


def test_the_top_queries_heading_stays_above_its_rows_when_the_view_scrolls(
    server: MockServer, open_page: OpenPage
) -> None:
    _post_searches(server, [f"query {n}" for n in range(20)])
    page = open_page(f"{dashboard(server)}?view=analytics", height=500)
    table = page.locator("[data-list=top_queries]")
    expect(table.locator("tbody tr")).to_have_count(20)
    # Scroll the view until the table's top is 40 px above the view's top.
    page.evaluate(
        """() => {
            const view = document.getElementById("analytics");
            const table = document.querySelector("[data-list=top_queries]");
            const above = table.getBoundingClientRect().top - view.getBoundingClientRect().top;
            view.scrollTop += above + 40;
        }"""
    )
    view = _box(page.locator("#analytics"))
    assert _box(table)["y"] < view["y"] - 30  # scrolled past the table's top, as meant
    heading = _box(table.locator("thead th").first)
    first_row = _box(table.locator("tbody tr").first)
    assert heading["y"] + heading["height"] <= first_row["y"] + 0.5


# ---- signal quality: accepted, but it will spoil the analytics (issue 28) --------------------

# A click tied to a stored query (post_query first): no warning. The same without its
# selectedPosition (Average Click Position cannot count it), and that with a timestamp in
# seconds too (it lands in 1970): both accepted, as the vendor would.
CLEAN_CLICK = {**CLICK[0], "queryId": QUERY[0]["queryId"], "sessionId": QUERY[0]["sessionId"]}
NO_POSITION = {name: value for name, value in CLEAN_CLICK.items() if name != "selectedPosition"}
SLOPPY_CLICK = {**NO_POSITION, "timestamp": CLICK[0]["timestamp"] // 1000}
AMBER_HUES = (20.0, 50.0)  # amber, deep to light; a rejection's red is about 0


def post_query(server: MockServer) -> None:
    url = f"{server.lucidworks_base_url()}/retail/signals/query"
    response = httpx.post(url, content=json.dumps(QUERY), headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202, response.text


def _warned(server: MockServer) -> dict[str, Any]:
    (event,) = httpx.get(f"{server.url}/_mock/events", params={"warned": "true"}).json()["events"]
    return dict(event)


def _warned_rules(server: MockServer) -> dict[str, int]:
    """Events per rule, as the events list counts them (what a Warnings group opens)."""
    rules = httpx.get(f"{server.url}/_mock/summary").json()["warnings"]
    return {
        rule: httpx.get(f"{server.url}/_mock/events", params={"warning": rule}).json()["total"]
        for rule, n in rules.items()
        if n
    }


def test_a_warned_event_has_an_amber_mark_named_for_a_screen_reader(
    server: MockServer, open_page: OpenPage, console: Console
) -> None:
    post_query(server)
    # One request: a clean click, then a sloppy one ($[1] in the body).
    assert post_click(server, [{**CLEAN_CLICK, "visitorId": "clean"}, SLOPPY_CLICK]) == 202
    page = open_page(dashboard(server))
    expect(rows(page)).to_have_count(3)
    clean = page.locator("#rows tr", has_text="clean")
    sloppy = page.locator("#rows tr", has_text="1970-")
    expect(clean.locator(".warn-mark")).to_have_count(0)
    expect(clean).not_to_have_class(re.compile(r"\bwarned\b"))
    mark = sloppy.locator(".warn-mark")
    expect(mark).to_have_count(1)
    expect(sloppy).to_have_class(re.compile(r"\bwarned\b"))
    event = _warned(server)
    rules = {warning["rule"] for warning in event["warnings"]}
    assert rules == {"click-without-position", "timestamp-in-seconds"}
    # Named for a screen reader, each rule in the name, as is its column; the count shown.
    expect(sloppy.get_by_role("img")).to_have_accessible_name(
        re.compile(rf"^{len(event['warnings'])} warnings: .*")
    )
    for rule in rules:
        expect(mark).to_have_accessible_name(re.compile(re.escape(rule)))
    expect(page.get_by_role("columnheader", name="Warnings", exact=True)).to_have_count(1)
    expect(mark).to_have_text(str(len(event["warnings"])))
    # The cell's tooltip gives each warning's message.
    tooltip = sloppy.locator("td.mark").get_attribute("title") or ""
    for warning in event["warnings"]:
        assert warning["message"] in tooltip
    # Amber, not a rejection's red.
    hue = _hue(mark.evaluate("m => getComputedStyle(m).backgroundColor"))
    assert AMBER_HUES[0] <= hue <= AMBER_HUES[1], hue
    # "only warned" narrows the list and lives in the URL.
    page.locator("#filters [name=warned]").check()
    expect(rows(page)).to_have_count(1)
    assert parse_qs(urlparse(page.url).query)["warned"] == ["true"]
    page.reload()
    expect(rows(page)).to_have_count(1)
    expect(page.locator("#filters [name=warned]")).to_be_checked()
    assert console.errors == []


def test_the_detail_shows_each_warning_beside_the_field_it_names(
    server: MockServer, open_page: OpenPage, console: Console
) -> None:
    post_query(server)
    assert post_click(server, [{**CLEAN_CLICK, "visitorId": "clean"}, SLOPPY_CLICK]) == 202
    page = open_page(dashboard(server))
    page.locator("#rows tr.warned").click()
    detail = page.locator("#detail")
    event = _warned(server)
    # Listed with their paths and rules, as a rejection's reasons are...
    listed = detail.locator(".warnings li")
    expect(listed).to_have_count(len(event["warnings"]))
    for warning in event["warnings"]:
        item = detail.locator(f".warnings li[data-rule='{warning['rule']}']")
        expect(item).to_contain_text(warning["path"])
        expect(item).to_contain_text(warning["message"])
    # ...and each beside its field in this event's payload (the second signal sent): the
    # timestamp's on its line, the missing position's on the object that lacks it.
    body = detail.locator(".json")
    timestamp = body.locator(".line.has-warning[data-path='$.timestamp']")
    expect(timestamp).to_have_count(1)
    expect(timestamp).to_contain_text(str(SLOPPY_CLICK["timestamp"]))
    expect(body.locator(".line[data-path='$.timestamp'] + .note.warning")).to_contain_text(
        "[timestamp-in-seconds]"
    )
    missing = body.locator(".line[data-path='$'] ~ .note.warning", has_text="selectedPosition")
    expect(missing).to_contain_text("[click-without-position]")
    expect(body.locator(".line[data-path='$']")).to_have_class(re.compile(r"\bhas-warning\b"))
    # Amber, not red: a warning is not a rejection.
    expect(body.locator(".has-error")).to_have_count(0)
    note = body.locator(".note.warning").first
    assert AMBER_HUES[0] <= _hue(note.evaluate("n => getComputedStyle(n).color")) <= AMBER_HUES[1]
    # The clean event shows no warning at all.
    page.locator("#rows tr", has_text="clean").click()
    expect(detail.locator(".json")).to_contain_text('"visitorId": "clean"')
    expect(detail.locator(".warnings, .note.warning, .has-warning")).to_have_count(0)
    assert console.errors == []


def test_the_warnings_view_groups_by_rule_and_a_group_opens_its_events_live(
    server: MockServer, open_page: OpenPage, console: Console
) -> None:
    post_query(server)
    assert post_click(server, [NO_POSITION, NO_POSITION]) == 202
    assert post_click(server, [SLOPPY_CLICK]) == 202
    assert post_click(server, [CLEAN_CLICK]) == 202
    expected = _warned_rules(server)
    assert expected == {"click-without-position": 3, "timestamp-in-seconds": 1}
    page = open_page(f"{dashboard(server)}?view=warnings")
    groups = rows(page)
    expect(groups).to_have_count(len(expected))
    expect(groups.first).to_contain_text("3 ×")  # most frequent first
    expect(groups.first).to_contain_text("click-without-position")
    for rule, count in expected.items():
        expect(page.locator("#rows tr", has_text=rule)).to_contain_text(f"{count} ×")
    warned = httpx.get(f"{server.url}/_mock/events", params={"warned": "true"}).json()["total"]
    expect(page.locator("#count-warnings")).to_have_text(str(warned))
    # A new warned event shows in its group without a reload.
    wait_live(page)
    assert post_click(server, [NO_POSITION]) == 202
    expect(groups.first).to_contain_text("4 ×")
    # A group opens its events; the rule is in the link.
    groups.first.click()
    expect(rows(page)).to_have_count(4)
    query = parse_qs(urlparse(page.url).query)
    assert query.get("view") is None  # the Accepted list
    assert query["warning"] == ["click-without-position"]
    expect(page.locator("#warning-filter")).to_contain_text("click-without-position")
    page.reload()
    expect(rows(page)).to_have_count(4)
    page.locator("#warning-filter-clear").click()
    expect(rows(page)).to_have_count(6)  # and the query and the clean click
    assert console.errors == []


def test_the_analytics_view_says_what_the_average_click_position_ignores(
    server: MockServer, open_page: OpenPage, console: Console
) -> None:
    # Three clicks, one with a position: the average (3.0) ignores 2 of 3 clicks, 67%.
    post_query(server)
    assert post_click(server, [CLEAN_CLICK, NO_POSITION, NO_POSITION]) == 202
    expected = httpx.get(f"{server.url}/_mock/analytics").json()
    quality = expected["signal_quality"]
    assert quality["clicks_with_position"] == pytest.approx(1 / 3)
    page = open_page(f"{dashboard(server)}?view=analytics")
    caveat = page.locator("[data-figure=avg_click_position] .figure-warning")
    expect(caveat).to_have_text("ignores the 67% of clicks that had none")
    expect(caveat).to_have_attribute(
        "title", re.compile(r"^Your average click position ignores the 67% of clicks")
    )
    # The other shares, as in the JSON, and the top rules, each opening its events.
    for name in ("clicks_with_position", "signals_tied_to_query", "signals_with_warnings"):
        share = page.locator(f"[data-quality={name}]")
        expect(share).to_have_attribute("data-value", _js_number(quality[name]))
        if quality[name] is not None:
            expect(share.locator(".row-value")).to_contain_text(f"{quality[name] * 100:.1f}%")
    counts = quality["counts"]
    expect(page.locator("[data-quality=clicks_with_position] .row-value")).to_have_text(
        f"33.3% · {counts['clicks_with_position']} of {counts['clicks']}"
    )
    top = page.locator("[data-list=top_rules] li")
    expect(top).to_have_count(len(quality["top_rules"]))
    for index, entry in enumerate(quality["top_rules"]):
        expect(top.nth(index)).to_have_attribute("data-rule", entry["rule"])
        expect(top.nth(index)).to_have_attribute("data-count", str(entry["count"]))
    page.locator("[data-list=top_rules] button", has_text="click-without-position").click()
    expect(rows(page)).to_have_count(2)
    assert parse_qs(urlparse(page.url).query)["warning"] == ["click-without-position"]
    assert console.errors == []


def test_every_click_with_a_position_needs_no_caveat(
    server: MockServer, open_page: OpenPage
) -> None:
    post_query(server)
    assert post_click(server, [CLEAN_CLICK, CLEAN_CLICK]) == 202
    page = open_page(f"{dashboard(server)}?view=analytics")
    expect(page.locator("[data-figure=avg_click_position] .figure-value")).to_have_text("3.00")
    expect(page.locator("[data-quality=clicks_with_position]")).to_have_attribute("data-value", "1")
    expect(page.locator(".figure-warning")).to_have_count(0)
