"""The counts behind the analytics' ``signal_quality`` part, in either dialect.

Not kept as running totals: ``unknown-query`` is as of the read (a search stored later ties a
click that was stored earlier). What the analytics' own counts already hold is taken from
them (events, clicks, clicks with a position); the rest reads only the events it is about,
each set through a partial index of its own: the followers of a search (``query_link =
'follows'``: follow signals, unknown-query) and the events with stored warnings (the rules).
That is far faster than two scans of every event of the period, and made ``/_mock/analytics``
as a whole faster (measured: bench/results/measurements.md#signal-quality-part; the whole
endpoint in the latest ``make bench``: bench/results/analytics.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mockserver.events import QUERY_FOLLOWS, QUERY_SEARCH, UNKNOWN_QUERY
from mockserver.storage.base import AnalyticsQuery
from mockserver.storage.dialect import Dialect
from mockserver.storage.from_events import EVENT_TIME, FILTERS, IN_PERIOD

# The partial indexes' conditions, written as the queries write them (SQLite uses a partial
# index only for a query whose WHERE has its condition's terms).
FOLLOWS = f"query_link = '{QUERY_FOLLOWS}'"
WARNED = "warnings IS NOT NULL"
# Both stores' (name, columns, condition). Only the rows of its condition are in each, so an
# insert of any other event leaves it alone. The followers' and the searches' hold every
# column the unknown-query test reads (query_link too: SQLite does not take it from the
# condition), so that neither reads the table (a probe of the queryId index reads each event
# with that queryId from it): the followers' count got faster
# (measured: bench/results/measurements.md#covering-partial-indexes).
PARTIAL_INDEXES = (
    (
        "events_following",
        "namespace, vendor, tenant, query_id, timestamp_ms, received_at, query_link",
        FOLLOWS,
    ),
    (
        "events_searches",
        "query_id, vendor, tenant, namespace, query_link",
        f"query_link = '{QUERY_SEARCH}'",
    ),
    ("events_warned", "namespace", WARNED),
)


def create_partial_indexes() -> str:
    return "".join(
        f"CREATE INDEX {name} ON events ({columns}) WHERE {condition};\n"
        for name, columns, condition in PARTIAL_INDEXES
    )


def quality_counts(
    dialect: Dialect,
    unknown_query: str,
    query: AnalyticsQuery,
    rows: Callable[[str, Mapping[str, Any]], list[Any]],
    counts: Mapping[str, Any],
) -> dict[str, Any]:
    """``rows(sql, params)`` runs a statement in the caller's snapshot, the one ``counts``
    (the analytics' counts for the same ``query``, from the totals or from the events) were
    read in. ``unknown_query``: the read-time test (``FilterSQL.unknown_query``)."""
    clauses = [clause for name, clause in FILTERS.items() if getattr(query, name) is not None]
    event_time = EVENT_TIME.format(received_ms=dialect.received_ms)
    rules = dialect.elements.format(column="scoped.warnings", alias="w")
    rule = dialect.field.format(alias="w", key="rule")
    params = {
        "namespace": query.namespace,
        "vendor": query.vendor,
        "tenant": query.tenant,
        "since": query.since_ms,
        "until": query.until_ms,
    }

    def scoped(condition: str, *columns: str) -> str:
        where = " AND ".join([condition, *clauses])
        selected = ", ".join([*columns, f"{event_time} AS t"])
        return f"WITH scoped AS (SELECT {selected} FROM events WHERE {where}) "

    # The unknown-query test once a row: named once in each statement (SQLite evaluates an
    # expression a GROUP BY repeats once for each mention). The followers' columns only, so
    # that the index covers them; the overlap with stored warnings from the warned events.
    ((follow_signals, unknown),) = rows(
        dialect.sql(
            f"{scoped(FOLLOWS, f'{unknown_query} AS unknown')}"
            f"SELECT count(*), count(*) FILTER (WHERE unknown) FROM scoped WHERE {IN_PERIOD}"
        ),
        params,
    )
    ((warned, warned_unknown),) = rows(
        dialect.sql(
            f"{scoped(WARNED, f'{unknown_query} AS unknown')}"
            f"SELECT count(*), count(*) FILTER (WHERE unknown) FROM scoped WHERE {IN_PERIOD}"
        ),
        params,
    )
    by_rule = {
        name: int(n)
        for name, n in rows(
            dialect.sql(
                f"{scoped(WARNED, 'warnings')}SELECT {rule}, count(*) FROM scoped, {rules} "
                f"WHERE {IN_PERIOD} GROUP BY 1"
            ),
            params,
        )
    }
    if unknown:
        by_rule[UNKNOWN_QUERY] = by_rule.get(UNKNOWN_QUERY, 0) + unknown
    return {
        "events": int(counts["events"]),
        "with_warnings": int(warned) + int(unknown) - int(warned_unknown),  # both: once
        "clicks": int(counts["clicks"]),
        "clicks_with_position": int(counts["position_count"]),
        "follow_signals": int(follow_signals),
        "tied_to_query": int(follow_signals) - int(unknown),
        "by_rule": sorted(by_rule.items(), key=lambda pair: (-pair[1], pair[0])),
    }
