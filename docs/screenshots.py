"""Makes the README's two screenshots: docs/dashboard.png and docs/dashboard-analytics.png.

    .venv/bin/python docs/screenshots.py    (needs Debian's chromium, as the browser tests do)

A server in this process gets a simulated week (1,500 sessions, seed 1, 3% client mistakes,
5% sloppy signals);
Chromium then shows a rejected click beside its reasons, and the analytics view.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from mockserver import MockServer, Settings
from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.sender import send
from mockserver.simulate.traffic import Plan, requests

DOCS = Path(__file__).parent
WEEK_MS = 7 * 86_400_000
CURRENCY = "rule=iso4217&path=%24%5B0%5D.productDetails%5B0%5D.product.currencyCode"


def main() -> None:
    with MockServer(Settings(db=":memory:", port=0)) as server:
        now = round(time.time() * 1000)
        plan = Plan(
            start_ms=now, seed=1, sessions=1500, backfill_ms=WEEK_MS, invalid_rate=0.03,
            sloppy_rate=0.05,
        )  # fmt: skip
        send(server.url, requests(plan, Catalogue.load()), out=io.StringIO())
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{server.url}/_mock/ui/?view=analytics")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(DOCS / "dashboard-analytics.png"))
            page.goto(f"{server.url}/_mock/ui/?view=rejections&{CURRENCY}")
            page.locator("#rows tr").first.click()
            page.wait_for_timeout(800)
            page.screenshot(path=str(DOCS / "dashboard.png"))
            browser.close()


if __name__ == "__main__":
    main()
