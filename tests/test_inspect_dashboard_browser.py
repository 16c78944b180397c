"""The dashboard in a real headless Chromium (Debian's package), driven by Playwright.

Each test leaves a screenshot of the page as it ended in its tmp dir (``dashboard.png``).
Without a Chromium these tests skip, but not in CI (``CI`` set), where a missing browser fails.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from mockserver import MockServer, Settings, SqliteStore
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


@pytest.fixture
def open_page(
    browser: Browser, tmp_path: Path, console: Console
) -> Iterator[Callable[[str], Page]]:
    """``open_page(url)``: a fresh 1280x800 page at ``url``; a screenshot is kept at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pages: list[Page] = []

    def open_at(url: str) -> Page:
        page = context.new_page()
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
    url = f"{server.lucidworks_url(store)}/retail/signals/click"
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
    url = f"{server.lucidworks_url()}/retail/signals/query"
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


def test_a_page_on_another_localhost_port_sends_an_event_with_fetch(
    server: MockServer, open_page: Callable[[str], Page]
) -> None:
    html = PAGE_ON_ANOTHER_PORT % (server.url, json.dumps(json.dumps(CLICK)))

    class Storefront(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    storefront = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Storefront)
    threading.Thread(target=storefront.serve_forever, daemon=True).start()
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
    store = SqliteStore(str(tmp_path / "kept.db"))
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
    url = f"{server.lucidworks_url()}/retail/signals/query"
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
