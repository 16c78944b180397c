"""``GET /_mock/analytics``: the search metrics a search team reads, from counts the store
computes in SQL (``Store.analytics``). Here the counts become rates, and every figure gets
its definition; docs/analytics.md says the same with worked examples.

Every figure is over the whole period asked for (never an average of daily figures). With
nothing stored, counts are 0 and rates and averages are null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mockserver.storage.base import ANALYTICS_TOP, LAST_POSITION, AnalyticsQuery
from mockserver.vendors.registry import ANALYTICS

BUCKETS = {"hour": 3_600_000, "day": 86_400_000}
# Each vendor's declared session gap, which ?<vendor>_session_minutes changes.
DEFAULT_SESSION_MINUTES = {
    v.vendor: v.session_gap_ms // 60_000 for v in sorted(ANALYTICS, key=lambda v: v.vendor)
}
SESSION_IDS = frozenset(v.vendor for v in ANALYTICS if v.session_ids)  # the gap: when none is named
MAX_FILLED_BUCKETS = 1000  # empty buckets are listed as zeros up to this many, for charts

DEFINITIONS = {
    "totals": "Events by event type (Lucidworks click/query/cartadd/purchase, Neuralens event "
    "names) whose event time is in the period.",
    "series": "The same counts per bucket (hour or day, UTC) of event time, each bucket's start "
    "in ISO 8601 (null beyond the year 9999) and in epoch milliseconds. Buckets with no "
    f"events between the first and the last are listed with zero counts (up to "
    f"{MAX_FILLED_BUCKETS} buckets).",
    "sessions": "A session belongs to one namespace, vendor and tenant. A Lucidworks event "
    "with a sessionId belongs to that session. Any other event of a user starts a new session "
    "when it comes at least the session gap after the user's previous event (Lucidworks 40 "
    "minutes, as its beacon; Neuralens 30 minutes; lucidworks_session_minutes and "
    "neuralens_session_minutes change them). An event without a user is a session of its own. "
    "Sessions are cut from all the events, and counted in a period they overlap (first event "
    "before until, last at or after since).",
    "searches": "Lucidworks: distinct queryIds of query signals in a namespace and tenant, "
    "with the query, results and session of the first signal. Neuralens sends no search "
    "event: distinct (session, query) of events on SEARCH_RESULT_PAGE. A search counts in the "
    "period its first event is in. Queries compare trimmed and in ASCII lower case.",
    "ctr": "Searches with at least one click / searches (Algolia's click-through rate), the "
    "click whenever it came. Lucidworks: a click signal with the search's queryId. Neuralens: "
    "a CLICK_PRODUCT with the same query in the session.",
    "avg_click_position": "Mean 1-based position over all clicks that carry one (Lucidworks "
    "click selectedPosition; Neuralens CLICK_PRODUCT index + 1).",
    "clicks_by_position": f"Clicks at each position 1 to {LAST_POSITION}, and beyond "
    f"({LAST_POSITION + 1}+).",
    "no_click_queries": f"The {ANALYTICS_TOP} queries with the most searches that got no "
    "click, with that count.",
    "zero_result_queries": f"The {ANALYTICS_TOP} queries with the most searches that returned "
    "no products (Lucidworks query signals whose productDetails name no product; Neuralens "
    "does not say how many results a search had).",
    "top_queries": f"The {ANALYTICS_TOP} queries with the most searches, with each one's "
    "click-through rate.",
    "add_to_cart_rate": "Searches followed by an add-to-cart (cartadd, ADD_TO_CART) in the same "
    "session, at or after the search (also after the period) / searches. Any product counts, "
    "not only a clicked one.",
    "conversion_rate": "Searches followed by a purchase (purchase, PURCHASE) in the same "
    "session, at or after the search (also after the period) / searches.",
    "purchases": "Purchase events of both vendors.",
    "revenue": "Sum of the revenue of Lucidworks purchase signals that carry one (null when "
    "none does). Neuralens purchases carry no revenue.",
    "funnel": "Searches; of those, with a click; of those, also followed by an add-to-cart; of "
    "those, also followed by a purchase. Each step is a subset of the one before.",
    # signal_quality: how far the figures above can be trusted (docs/signal-quality.md)
    "clicks_with_position": "Clicks that carry a position / clicks, in the period (Lucidworks "
    "click signals with selectedPosition; Neuralens CLICK_PRODUCT events with index): "
    "avg_click_position and clicks_by_position leave out the others.",
    "signals_tied_to_query": "Lucidworks click and cartadd signals whose queryId a stored query "
    "signal of the same namespace and tenant carries, as of this read / click and cartadd "
    "signals, in the period (Neuralens sends no queryId). The others are lost to ctr and the "
    "funnel.",
    "signals_with_warnings": "Events with at least one signal-quality warning (unknown-query as "
    "of this read) / events, in the period.",
    "top_rules": "The signal-quality warning rules, by how many events in the period have "
    "each, most first.",
}


def analytics_query(params: Mapping[str, Any]) -> AnalyticsQuery:
    """The query for the endpoint's parsed parameters (times as the API's ISO strings)."""
    gaps = {
        vendor: 60_000 * params.get(f"{vendor}_session_minutes", minutes)
        for vendor, minutes in DEFAULT_SESSION_MINUTES.items()
    }
    return AnalyticsQuery(
        namespace=params.get("namespace"),
        vendor=params.get("vendor"),
        tenant=params.get("tenant"),
        since_ms=_epoch_ms(params.get("since")),
        until_ms=_epoch_ms(params.get("until")),
        bucket_ms=BUCKETS[params.get("bucket", "day")],
        session_gap_ms=gaps,
    )


def figures(counts: Mapping[str, Any], query: AnalyticsQuery, bucket: str) -> dict[str, Any]:
    by_type: dict[str, int] = {}
    for _, event_type, n in counts["series"]:
        by_type[event_type] = by_type.get(event_type, 0) + n
    searches = counts["searches"]
    positions = counts["positions"]
    histogram = {str(p): positions.get(p, 0) for p in range(1, LAST_POSITION + 1)}
    histogram[f"{LAST_POSITION + 1}+"] = positions.get(LAST_POSITION + 1, 0)
    return {
        "filters": {
            "namespace": query.namespace,
            "vendor": query.vendor,
            "tenant": query.tenant,
            "since": _iso(query.since_ms),
            "until": _iso(query.until_ms),
            "bucket": bucket,
            "session_minutes": {v: ms // 60_000 for v, ms in query.session_gap_ms.items()},
        },
        "totals": {"events": sum(by_type.values()), "by_type": _sorted_counts(by_type)},
        "series": _series(counts["series"], query.bucket_ms),
        "sessions": counts["sessions"],
        "searches": searches,
        "ctr": _rate(counts["clicked"], searches),
        "avg_click_position": _rate(counts["position_sum"] or 0, counts["position_count"]),
        "clicks_by_position": histogram,
        "no_click_queries": [{"query": q, "count": n} for q, n in counts["no_click_queries"]],
        "zero_result_queries": [{"query": q, "count": n} for q, n in counts["zero_result_queries"]],
        "top_queries": [
            {"query": q, "searches": n, "ctr": _rate(clicked, n)}
            for q, n, clicked in counts["top_queries"]
        ],
        "add_to_cart_rate": _rate(counts["carted"], searches),
        "conversion_rate": _rate(counts["purchased"], searches),
        "purchases": counts["purchases"],
        "revenue": counts["revenue"],
        "funnel": [
            {"step": "searches", "count": searches},
            {"step": "clicked", "count": counts["clicked"]},
            {"step": "added_to_cart", "count": counts["funnel_carted"]},
            {"step": "purchased", "count": counts["funnel_purchased"]},
        ],
        "signal_quality": _signal_quality(counts["signal_quality"]),
        "definitions": DEFINITIONS,
    }


_QUALITY_COUNTS = (
    "clicks", "clicks_with_position", "follow_signals", "tied_to_query", "events", "with_warnings",
)  # fmt: skip


def _signal_quality(counts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "clicks_with_position": _rate(counts["clicks_with_position"], counts["clicks"]),
        "signals_tied_to_query": _rate(counts["tied_to_query"], counts["follow_signals"]),
        "signals_with_warnings": _rate(counts["with_warnings"], counts["events"]),
        "top_rules": [{"rule": rule, "count": n} for rule, n in counts["by_rule"]],
        "counts": {name: counts[name] for name in _QUALITY_COUNTS},
    }


def _series(rows: list[tuple[int, str, int]], bucket_ms: int) -> list[dict[str, Any]]:
    buckets: dict[int, dict[str, int]] = {}
    for index, event_type, n in rows:  # the bucket's number since the epoch: Python's big ints
        buckets.setdefault(index * bucket_ms, {})[event_type] = n
    if buckets:
        first, last = min(buckets), max(buckets)
        if (last - first) // bucket_ms < MAX_FILLED_BUCKETS:
            for start in range(first, last + 1, bucket_ms):
                buckets.setdefault(start, {})
    return [
        {
            "start": _iso(start),
            "start_ms": start,
            "counts": buckets[start],
            "total": sum(buckets[start].values()),
        }
        for start in sorted(buckets)
    ]


def _sorted_counts(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _rate(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def _epoch_ms(iso: str | None) -> int | None:
    if iso is None:
        return None
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


def _iso(epoch_ms: int | None) -> str | None:
    """UTC ISO 8601; None beyond what it can write (years 1 to 9999: Lucidworks timestamps
    are any int64, and the mock accepts what Go accepts)."""
    if epoch_ms is None:
        return None
    try:
        moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return None
    # By hand: strftime's %Y writes the year 385 as "385", which is not ISO 8601.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )
