"""``make bench``, part three: ``/_mock/analytics`` over a large store.

The store is filled with ANALYTICS_ROWS events (default 1,000,000) that the shopper simulator's
requests become (``mockserver simulate``'s model, seed 1, a week backfilled), written straight
into the store rather than over HTTP (that would take a quarter of an hour). Then a server on
one core answers ``GET /_mock/analytics`` three times; the median is reported against the
demo issue's target of 1 s. Writes bench/results/analytics.md and analytics.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import RESULTS, _free_port, _server, mockserver_command

from mockserver.events import Event
from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.payloads import Request
from mockserver.simulate.traffic import Plan, requests
from mockserver.storage.sqlite import SqliteStore
from mockserver.vendors.lucidworks import QUERY_LINKS
from mockserver.vendors.registry import ANALYTICS

ROWS = int(os.environ.get("ANALYTICS_ROWS", "1000000"))
TARGET_SECONDS = 1.0
RUNS = 3
START_MS = 1_764_460_800_000  # 2025-11-30T00:00:00Z
WEEK_MS = 7 * 86_400_000


def _event(request: Request, number: int) -> Event:
    """The event the vendor module stores for this request (what the server would keep)."""
    common: dict[str, Any] = {
        "namespace": "default", "tenant": "demo-shop", "payload": request.content().decode(),
        "request_id": f"r{number}", "received_at": "2026-11-30T00:00:00.000000Z",
    }  # fmt: skip
    if request.vendor == "lucidworks":
        (signal,) = request.body
        kind = request.path.rsplit("/", 1)[-1]
        return Event(
            vendor="lucidworks", endpoint=f"/retail/signals/{kind}", type=kind,
            user=signal["visitorId"], session=signal["sessionId"],
            query=signal.get("searchTerms"), query_id=signal["queryId"],
            items=[d["product"]["productId"] for d in signal["productDetails"]],
            position=signal.get("selectedPosition"), timestamp_ms=signal["timestamp"],
            revenue=signal.get("revenue"), query_link=QUERY_LINKS.get(kind), **common,
        )  # fmt: skip
    body = request.body
    index = body.get("index")
    return Event(
        vendor="neuralens", endpoint="/analytics/event", type=body["event"], user=body["uid"],
        session=None, query=body.get("query"), query_id=None,
        items=[item["id"] for item in body["items"]],
        position=None if index is None else index + 1, timestamp_ms=body["timestamp"] * 1000,
        page=body["page"], **common,
    )  # fmt: skip


def _simulated(rows: int) -> Iterator[Event]:
    catalogue = Catalogue.load()
    sessions = rows // 6  # about 6.6 requests a session: enough, then cut at ``rows``
    plan = Plan(start_ms=START_MS, seed=1, sessions=sessions, backfill_ms=WEEK_MS)
    for number, request in enumerate(requests(plan, catalogue)):
        if number == rows:
            return
        yield _event(request, number)


def _fill(path: Path, rows: int) -> float:
    """Store the events as the server would, and the seconds until the analytics' running
    totals (folded by the store's own thread as events arrive) have caught up."""
    store = SqliteStore(str(path), ANALYTICS)
    batch: list[Event] = []
    for event in _simulated(rows):
        batch.append(event)
        if len(batch) == 20_000:
            store.add(batch)
            batch = []
    store.add(batch)
    stored = time.monotonic()
    store.fold_analytics()
    behind = time.monotonic() - stored
    store.close()
    return behind


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "analytics.db"
        started = time.monotonic()
        behind = _fill(db, ROWS)
        filled = time.monotonic() - started
        print(
            f"stored {ROWS:,} simulated events in {filled:.0f} s; the running totals were "
            f"{behind:.1f} s behind the last",
            flush=True,
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        took = []
        with _server("mockserver", mockserver_command(port, db), f"{base}/_mock/health"):
            for _ in range(RUNS):
                began = time.monotonic()
                with urllib.request.urlopen(f"{base}/_mock/analytics", timeout=600) as answer:  # noqa: S310
                    figures = json.loads(answer.read())
                took.append(time.monotonic() - began)
    median = statistics.median(took)
    result = {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "stored_events": ROWS,
        "seconds": [round(t, 2) for t in took],
        "median_seconds": round(median, 2),
        "target_seconds": TARGET_SECONDS,
        "met": median <= TARGET_SECONDS,
        "store_and_fold_seconds": round(filled, 1),
        "totals_behind_seconds": round(behind, 1),
        "searches": figures["searches"],
        "ctr": figures["ctr"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "analytics.json").write_text(json.dumps(result, indent=2) + "\n")
    verdict = "met" if result["met"] else "NOT met"
    (RESULTS / "analytics.md").write_text(
        f"Measured {result['measured']}: `GET /_mock/analytics` over {ROWS:,} simulated events "
        f"(the server on one core), {RUNS} runs: {', '.join(f'{t:.2f}' for t in took)} s; "
        f"median {median:.2f} s. Target ≤ {TARGET_SECONDS:g} s: {verdict}. Storing the "
        f"events took {filled:.0f} s with the running totals folded in meanwhile by the "
        f"store's thread, which finished {behind:.1f} s after the last was stored.\n"
    )
    print((RESULTS / "analytics.md").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
