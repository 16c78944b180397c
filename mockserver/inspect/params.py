"""The inspection API's query parameters, each declared once: its name, its JSON Schema (type,
bounds, choices), its description and the parser that reads it.

The request parser (a 400 naming a wrong parameter), the OpenAPI description
(``inspect/openapi.py``) and the check of the docs' parameter lists
(``tests/test_inspect_params.py`` against docs/inspection-api.md) all read ``ENDPOINTS``:
a bound or a choice written here is the one the server keeps and the one the documents show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mockserver.events import OUTCOMES
from mockserver.faults.rules import KINDS
from mockserver.inspect.analytics import BUCKETS, DEFAULT_SESSION_MINUTES, SESSION_IDS
from mockserver.inspect.limits import (
    DEFAULT_LIMIT,
    DEFAULT_WAIT_SECONDS,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_STREAM_SECONDS,
    MAX_WAIT_COUNT,
    MAX_WAIT_SECONDS,
)
from mockserver.vendors.registry import VENDOR_NAMES
from mockserver.vendors.signal_quality import RULE_IDS

Parser = Callable[[str, str], Any]


class BadParameter(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    description: str
    parse: Parser

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI parameter object."""
        schema = self.schema
        if schema.get("type") == "string":  # the server refuses an empty filter rather than guess
            schema = {**schema, "minLength": 1}
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": self.description,
        }


# -- the parsers ------------------------------------------------------------------------------


def _text(name: str, raw: str) -> str:
    if not raw:
        raise BadParameter(name, "must not be empty")
    return raw


def _timestamp(name: str, raw: str) -> str:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, "must be an ISO 8601 time such as 2026-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in the year 0
        raise BadParameter(name, "must be a time from the year 1 to 9999 in UTC") from None
    # Written out by hand: strftime's %Y does not pad the year 326 to 0326, and these strings
    # are compared as text with the stored ones.
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def _epoch_ms(name: str, raw: str) -> int:
    iso = _timestamp(name, raw)
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


def _boolean(name: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise BadParameter(name, "must be true or false")
    return raw == "true"


# -- the kinds of parameter: each makes its schema and its parser from the same values --------


def text(name: str, description: str) -> Param:
    return Param(name, {"type": "string"}, description, _text)


def time(name: str, description: str) -> Param:
    """An ISO 8601 time, read as the stored text it is compared with."""
    return Param(name, {"type": "string", "format": "date-time"}, description, _timestamp)


def epoch_time(name: str, description: str) -> Param:
    """An ISO 8601 time, read as milliseconds since 1970 (events' own times are stored so)."""
    return Param(name, {"type": "string", "format": "date-time"}, description, _epoch_ms)


def boolean(name: str, description: str) -> Param:
    return Param(name, {"type": "boolean"}, description, _boolean)


def one_of(
    name: str, choices: Iterable[str], description: str, default: str | None = None
) -> Param:
    allowed = tuple(choices)

    def parse(name: str, raw: str) -> str:
        if raw not in allowed:
            raise BadParameter(name, f"must be one of {', '.join(allowed)}")
        return raw

    schema: dict[str, Any] = {"enum": list(allowed)}
    if default is not None:
        schema["default"] = default
    return Param(name, schema, description, parse)


def integer(name: str, low: int, high: int, description: str, default: int | None = None) -> Param:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise BadParameter(name, "must be a whole number") from None
        if not low <= value <= high:
            raise BadParameter(name, f"must be from {low} to {high}")
        return value

    schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
    if default is not None:
        schema["default"] = default
    return Param(name, schema, description, parse)


def seconds(name: str, high: float, description: str, default: float | None = None) -> Param:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise BadParameter(name, "must be a number of seconds") from None
        if not 0 <= value <= high:
            raise BadParameter(name, f"must be from 0 to {high:g} seconds")
        return value

    schema: dict[str, Any] = {"type": "number", "minimum": 0, "maximum": high}
    if default is not None:
        schema["default"] = default
    return Param(name, schema, description, parse)


# -- the parameters ---------------------------------------------------------------------------

NAMESPACE = text("namespace", "Only this namespace (default: every namespace).")
VENDOR = one_of("vendor", VENDOR_NAMES, "Only this vendor.")
TENANT = text("tenant", "Neuralens application id or Lucidworks signal store id.")
SINCE = time("since", "Received at or after (ISO 8601).")
UNTIL = time("until", "Received before (ISO 8601).")
LIMIT = integer("limit", 1, MAX_LIMIT, "Page size.", default=DEFAULT_LIMIT)
OFFSET = integer("offset", 0, MAX_OFFSET, "Rows to skip.", default=0)
PAGING = (LIMIT, OFFSET)

EVENT_FILTERS = (
    NAMESPACE,
    VENDOR,
    text("type", "Neuralens event name, or click/query/cartadd/purchase."),
    TENANT,
    text("user", "Neuralens uid or Lucidworks visitorId."),
    text("session", "Lucidworks sessionId."),
    text("query", "Search text."),
    text("query_id", "Lucidworks queryId."),
    text("item", "A product id among the event's items."),
    text(
        "text",
        "Part of the query, the user or a product id; ASCII letters match in either case.",
    ),
    SINCE,
    UNTIL,
    epoch_time("event_since", "Event time (the event's own timestamp) at or after (ISO 8601)."),
    epoch_time("event_until", "Event time before (ISO 8601)."),
    boolean(
        "warned",
        "true: events with any signal-quality warning (unknown-query as of this read); false: "
        "events with none.",
    ),
    one_of("warning", RULE_IDS, "Events with this signal-quality warning."),
)
REJECTION_FILTERS = (
    NAMESPACE,
    VENDOR,
    TENANT,
    integer("status", 100, 599, "Only this HTTP status."),
    text("rule", "A reason's rule, e.g. `iso4217`."),
    text(
        "path",
        "A reason's path, e.g. `$[0].productDetails[0].product.currencyCode`; with `rule`, "
        "one reason must have both.",
    ),
    text("text", "Part of the body; ASCII letters match in either case."),
    SINCE,
    UNTIL,
)
ATTEMPT_FILTERS = (
    NAMESPACE,
    VENDOR,
    one_of("fault", KINDS, "Only this kind of fault."),
    text("rule", "Only the rule with this id."),
)
UPSTREAM_FILTERS = (
    NAMESPACE,
    VENDOR,
    TENANT,
    one_of("outcome", OUTCOMES, "Only this outcome."),
    text("text", "Part of the body a disagreement kept; ASCII letters match in either case."),
    SINCE,
    UNTIL,
)
DISAGREEMENT_FILTERS = tuple(param for param in UPSTREAM_FILTERS if param.name != "outcome")
WAITING = (
    integer("count", 1, MAX_WAIT_COUNT, "Events to wait for.", default=1),
    seconds("timeout", MAX_WAIT_SECONDS, "Seconds to wait at most.", default=DEFAULT_WAIT_SECONDS),
)
ANALYTICS = (
    NAMESPACE,
    VENDOR,
    text("tenant", "Only this tenant."),
    time("since", "Event time at or after (ISO 8601)."),
    time("until", "Event time before (ISO 8601)."),
    one_of("bucket", BUCKETS, "The series' bucket (UTC).", default="day"),
    # one for each vendor the registry declares analytics for
    *(
        integer(
            f"{vendor}_session_minutes",
            1,
            24 * 60,
            f"Inactivity that ends a {vendor.title()} session"
            f"{' (of events with no session id)' if vendor in SESSION_IDS else ''}.",
            default=minutes,
        )
        for vendor, minutes in DEFAULT_SESSION_MINUTES.items()
    ),
)

# Each endpoint's parameters, by "METHOD path" below /_mock; one not listed takes none.
ENDPOINTS: dict[str, tuple[Param, ...]] = {
    "GET /events": (*EVENT_FILTERS, *PAGING),
    "GET /rejections": (*REJECTION_FILTERS, *PAGING),
    "GET /rejections/reasons": (*REJECTION_FILTERS, LIMIT),
    "GET /attempts": (*ATTEMPT_FILTERS, *PAGING),
    "GET /upstream": (*UPSTREAM_FILTERS, *PAGING),
    "GET /disagreements": (*DISAGREEMENT_FILTERS, *PAGING),
    "GET /summary": (NAMESPACE,),
    "POST /reset": (NAMESPACE,),
    "GET /wait": (*EVENT_FILTERS, *PAGING, *WAITING),
    "GET /stream": (
        NAMESPACE,
        seconds(
            "duration",
            MAX_STREAM_SECONDS,
            "Seconds to stream before closing (default: a day, or until the client leaves).",
        ),
    ),
    "GET /analytics": ANALYTICS,
    "GET /faults": (NAMESPACE,),
    # PUT and POST take none: a rule's namespace is in the body, and a ?namespace= there
    # would be ignored (a global rule where a scoped one was meant).
    "PUT /faults": (),
    "POST /faults": (),
    "DELETE /faults": (NAMESPACE, integer("id", 1, MAX_OFFSET, "Only the rule with this id.")),
}


def parse_params(items: Iterable[tuple[str, str]], taken: tuple[Param, ...]) -> dict[str, Any]:
    """The query's parameters read by their declarations; BadParameter names a wrong one."""
    by_name = {param.name: param for param in taken}
    params: dict[str, Any] = {}
    for name, raw in items:
        param = by_name.get(name)
        if param is None:
            takes = ", ".join(by_name) or "none (a fault rule's namespace is in its body)"
            raise BadParameter(name, f"unknown parameter; this endpoint takes {takes}")
        if name in params:  # each takes one value: the last one winning hid a mistake
            raise BadParameter(name, "given more than once; give it once")
        params[name] = param.parse(name, raw)
    return params


def _number(value: float) -> str:
    """1,000,000 and 300, not 1e+06 and 300.0; 2**63 - 1 written out, not rounded."""
    return f"{int(value):,}" if value == int(value) else f"{value:,}"


def _value(schema: dict[str, Any]) -> str:
    """A parameter's values, in words, for the docs."""
    if "enum" in schema:
        shown = ", ".join(f"`{choice}`" for choice in schema["enum"])
    elif schema.get("format") == "date-time":
        shown = "ISO 8601 time"
    elif schema["type"] in ("integer", "number"):
        kind = "whole number" if schema["type"] == "integer" else "seconds"
        shown = f"{kind}, {_number(schema['minimum'])} to {_number(schema['maximum'])}"
    elif schema["type"] == "boolean":
        shown = "`true` or `false`"
    else:
        shown = "text, not empty"
    if "default" in schema:
        default = schema["default"]
        shown += f"; default `{_number(default) if isinstance(default, float) else default}`"
    return shown


def markdown_table() -> str:
    """The parameters table of docs/inspection-api.md, made from ENDPOINTS (a test holds the
    docs to it; ``python -m mockserver.inspect.params`` prints it)."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for endpoint, taken in ENDPOINTS.items():
        for param in taken:
            key = (param.name, _value(param.schema), param.description)
            rows.setdefault(key, []).append(f"`{endpoint}`")
    lines = ["| parameter | value | on | what |", "|---|---|---|---|"]
    for (name, value, description), endpoints in sorted(rows.items()):
        lines.append(f"| `{name}` | {value} | {', '.join(endpoints)} | {description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
