"""A page on another origin, in a real headless Chromium, cannot change the mock's state
(issue 27, item 1): no fetch, no form post, no ``no-cors`` request resets the store or adds a
fault rule. The dashboard's own page still can.

Without a Chromium these tests skip, but not in CI (``CI`` set), where a missing browser fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mockserver import MockServer, Settings
from tests.conftest import LUCIDWORKS_HEADERS, load_fixture
from tests.test_inspect_dashboard_browser import CHROMIUM_FLAGS, _chromium_path, serve_page

pytestmark = pytest.mark.slow

CLICK = load_fixture("lucidworks", "valid", "click-full.json")

# Every way a page can send a POST to another origin without being granted CORS: a simple
# fetch (text/plain), a no-cors fetch, a JSON fetch (preflighted), and a form submitted into
# a hidden frame. The title says the page ran to its end.
ATTACK = """<!doctype html><title>running</title>
<iframe name="sink" style="display:none"></iframe>
<form id="reset" method="POST" action="{mock}/_mock/reset" target="sink"></form>
<form id="fault" method="POST" action="{mock}/_mock/faults" target="sink" enctype="text/plain">
  <input name='{{"fault":"down","x":"' value='"}}'>
</form>
<script>
const mock = "{mock}";
const attempts = [
  () => fetch(mock + "/_mock/reset", {{method: "POST", mode: "no-cors"}}),
  () => fetch(mock + "/_mock/faults", {{method: "POST", mode: "no-cors",
        headers: {{"Content-Type": "text/plain"}}, body: '{{"fault":"down"}}'}}),
  () => fetch(mock + "/_mock/faults", {{method: "PUT",
        headers: {{"Content-Type": "application/json"}}, body: '{{"rules":[]}}'}}),
  () => fetch(mock + "/_mock/faults", {{method: "DELETE", mode: "no-cors"}}),
];
(async () => {{
  for (const attempt of attempts) {{
    try {{ await attempt(); }} catch (e) {{ /* refused by CORS: also a pass */ }}
  }}
  document.getElementById("reset").submit();
  await new Promise((r) => setTimeout(r, 300));
  document.getElementById("fault").submit();
  await new Promise((r) => setTimeout(r, 300));
  document.title = "done";
}})();
</script>"""


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


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_a_page_on_another_origin_cannot_reset_the_store_or_add_faults(
    server: MockServer, page: Page
) -> None:
    with server.client() as client:
        client.add_fault(fault="status", status=503, namespace="kept")
    httpx.post(server.url + "/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS)
    site = serve_page(ATTACK.format(mock=server.url))
    try:
        # localhost, not 127.0.0.1: another origin, as any page on the web is
        page.goto(f"http://localhost:{site.server_address[1]}/")
        expect(page).to_have_title("done", timeout=15_000)
    finally:
        site.shutdown()
        site.server_close()
    with server.client() as client:
        assert len(client.events()) == 1
        assert [rule["namespace"] for rule in client.faults()] == ["kept"]


def test_the_dashboard_page_itself_can_reset(server: MockServer, page: Page) -> None:
    httpx.post(server.url + "/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS)
    page.goto(server.url + "/")
    status = page.evaluate("fetch('/_mock/reset', {method: 'POST'}).then((r) => r.status)")
    assert status == 204
    with server.client() as client:
        assert client.events() == []
