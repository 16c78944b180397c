"""The dashboard's files, served by the app: where they are, their headers, what they may not do.

What the page does in a browser is tested in a real Chromium: test_inspect_dashboard_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver import Settings
from mockserver.inspect.dashboard import UI_FILES
from mockserver.vendors import lucidworks
from tests.conftest import ClientFactory

UI = "/_mock/ui/"


def _recorded(client: TestClient) -> int:
    summary = client.get("/_mock/summary").json()
    return int(summary["events"]["total"] + summary["rejections"]["total"])


def test_the_root_redirects_to_the_dashboard_and_is_not_recorded(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == UI
    assert client.get("/_mock/ui", follow_redirects=False).headers["location"] == UI
    assert _recorded(client) == 0


def test_the_favicon_is_served_and_not_recorded(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert _recorded(client) == 0


def test_a_post_to_the_root_is_still_a_recorded_vendor_404(client: TestClient) -> None:
    assert client.post("/", content=b"{}").status_code == 404
    assert client.get("/_mock/rejections").json()["rejections"][0]["endpoint"] == "/"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("", "text/html"),
        ("app.js", "text/javascript"),
        ("json.js", "text/javascript"),
        ("analytics.js", "text/javascript"),
        ("style.css", "text/css"),
    ],
)
def test_each_file_is_served_with_a_policy_that_allows_only_this_origin(
    client: TestClient, name: str, content_type: str
) -> None:
    response = client.get(UI + name)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy  # no inline script, no other origin
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_page_is_served_without_the_admin_token_but_its_data_is_not(
    client_with: ClientFactory,
) -> None:
    guarded = client_with(admin_token="s3cret")
    assert guarded.get(UI).status_code == 200  # the files hold nothing recorded
    assert guarded.get("/_mock/events").status_code == 401


def test_an_unknown_file_is_a_404_and_no_rejection(client: TestClient) -> None:
    assert client.get(UI + "nothing.js").status_code == 404
    assert client.get(UI + "../api.py").status_code == 404
    assert _recorded(client) == 0


SOURCES = sorted(path for path in UI_FILES.iterdir() if path.suffix in (".html", ".js", ".css"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_nothing_is_fetched_from_another_origin(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # Every URL the page loads is relative or rooted here; a CDN link would fail offline.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert not re.search(r"""(url\(|import\s*\(?\s*["'])\s*(https?:)?//""", text)


@pytest.mark.parametrize("path", [p for p in SOURCES if p.suffix == ".js"], ids=lambda p: p.name)
def test_the_script_never_writes_html(path: Path) -> None:
    # Recorded values reach the page through textContent only (the browser tests send real
    # XSS payloads); these calls would parse a value as markup.
    text = path.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in text


def _vendor_types() -> dict[str, list[str]]:
    """analytics.js's VENDOR_TYPES, read from the script."""
    script = (UI_FILES / "analytics.js").read_text(encoding="utf-8")
    block = re.search(r"const VENDOR_TYPES = \{(.*?)\n\};", script, re.S)
    assert block, "analytics.js no longer declares VENDOR_TYPES"
    return {
        vendor: re.findall(r'"([^"]+)"', names)
        for vendor, names in re.findall(r"(\w+): \[(.*?)\]", block.group(1), re.S)
    }


def test_the_chart_knows_every_event_type_of_each_vendor_and_colours_each() -> None:
    # A type the chart does not know is drawn grey under "Other": a vendor's new event type
    # must join its vendor's group and hue family here first.
    schema = json.loads((Settings().schema_dir / "neuralens" / "event.schema.json").read_text())
    expected = {
        "lucidworks": set(lucidworks.SIGNALS),
        "neuralens": set(schema["properties"]["event"]["enum"]),
    }
    types = _vendor_types()
    assert {vendor: set(names) for vendor, names in types.items()} == expected
    style = (UI_FILES / "style.css").read_text(encoding="utf-8")
    for vendor, names in types.items():
        for index in range(len(names)):
            assert re.search(rf"\.type-{vendor}-{index} \{{ background: #[0-9a-f]{{6}}; \}}", style)


def test_the_docs_quote_the_dashboards_labels_for_rates_and_the_funnel() -> None:
    # docs/analytics.md explains why these figures differ; it must name them as shown.
    script = (UI_FILES / "analytics.js").read_text(encoding="utf-8")
    docs = (Path(__file__).parent.parent / "docs" / "analytics.md").read_text(encoding="utf-8")
    labelled = dict(
        (name, (label, basis))
        for name, label, basis in re.findall(
            r'figure\("(\w+)", "([^"]+)", [^\n]*, d, "([^"]+)"\)', script
        )
    )
    for name in ("ctr", "add_to_cart_rate", "conversion_rate", "purchases"):
        label, basis = labelled[name]
        assert f"| {label} · *{basis}* | `{name}` |" in docs
    steps = re.search(r"const FUNNEL_STEPS = \{(.*?)\};", script, re.S)
    assert steps
    for step, label in re.findall(r'(\w+): "([^"]+)"', steps.group(1)):
        if step in ("added_to_cart", "purchased"):
            assert f"*{label}* · *N · x% of searches* | `funnel` `{step}` |" in docs


def test_the_demo_page_says_what_the_dashboard_says_and_does_about_warnings() -> None:
    # docs/demo.md quotes the analytics view's caveat and the Warnings view's refresh period.
    docs = (Path(__file__).parent.parent / "docs" / "demo.md").read_text(encoding="utf-8")
    docs = " ".join(docs.split())  # the page wraps its lines
    analytics = (UI_FILES / "analytics.js").read_text(encoding="utf-8")
    caveat = re.search(r"text: `(ignores the \$\{missing\} of clicks that had none)`", analytics)
    assert caveat, "analytics.js no longer says what the average click position ignores"
    assert f'("{caveat.group(1).replace("${missing}", "31%")}")' in docs
    app = (UI_FILES / "app.js").read_text(encoding="utf-8")
    every = re.search(r"const WARNINGS_EVERY_MS = ([\d_]+);", app)
    assert every
    seconds = int(every.group(1).replace("_", "")) // 1000
    assert f"counted again at most every {seconds} seconds" in docs
