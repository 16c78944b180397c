"""Fault rules: what goes wrong, for which requests, how often.

A rule is flat JSON: where it applies (``vendor``, ``endpoint``, ``namespace``; each may be
left out), the ``fault`` and that kind's own fields, and how often: the next ``times``
matching requests only, and/or each with ``probability``, drawn from ``seed`` (the rule's, or
the server's ``--fault-seed``) so that the same requests in the same order meet the same
faults. An unknown kind or field is a ``RuleError`` that names it.

Kinds, and what a client sees:
- ``status``: a vendor-shaped 500, 502, 503 or 504; nothing stored.
- ``rate_limit``: 429 with ``Retry-After: retry_after`` seconds; on every matching request,
  or with ``per_second`` only when the tenant sends more than that many a second.
- ``latency``: the request is served (stored if valid) and the reply waits ``ms``, or a
  uniform draw between ``min_ms`` and ``max_ms``, or a lognormal one of median ``median_ms``
  and shape ``sigma`` (as WireMock's: 0.1 stays near the median, 1 has a long tail).
- ``reset`` (a TCP reset, no reply), ``empty`` (the connection closed, no reply),
  ``malformed`` (a broken HTTP reply), ``hang`` (no reply until the client gives up, or
  ``seconds``): nothing stored.
- ``ack_lost``: the event is stored, then the connection is reset before the reply: the
  case where a retrying client sends the event twice.
- ``down``: every matching request is reset at once, until the rule is cleared.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

WHERE = ("vendor", "endpoint", "namespace")
HOW_OFTEN = ("times", "probability", "seed")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "rate_limit": ("retry_after", "per_second"),
    "latency": ("ms", "min_ms", "max_ms", "median_ms", "sigma"),
    "reset": (),
    "empty": (),
    "malformed": (),
    "hang": ("seconds",),
    "ack_lost": (),
    "down": (),
}
KINDS = tuple(KIND_FIELDS)
STATUSES = (500, 502, 503, 504)
DEFAULT_HANG_SECONDS = 300.0
# Every number a rule takes, bounded (low, high): 1e308 seconds of latency is not a rule
# anyone means, and a latency draw that overflows after the event was stored answered 500,
# so a retrying client stored it twice.
MAX_DELAY_MS = 600_000  # ten minutes: beyond any client's timeout
BOUNDS: dict[str, tuple[float, float]] = {
    "ms": (0, MAX_DELAY_MS),
    "min_ms": (0, MAX_DELAY_MS),
    "max_ms": (0, MAX_DELAY_MS),
    "median_ms": (0, MAX_DELAY_MS),
    "sigma": (0, 10),  # WireMock's shape: 1 is already a long tail
    "seconds": (0, 3_600),
    "retry_after": (0, 86_400),
    "per_second": (0, 1_000_000),
    "times": (1, 1_000_000_000),
    "seed": (-(2**63), 2**63 - 1),
}
WHOLE = frozenset({"retry_after", "times", "seed"})
# Namespace names as the routes take them in /ns/{namespace}; a rule naming another one could
# never apply (a megabyte or a <script> name was accepted and shown back).
NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class RuleError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass
class Rule:
    id: int
    fault: str
    vendor: str | None = None
    endpoint: str | None = None
    namespace: str | None = None
    times: int | None = None
    probability: float = 1.0
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0  # requests the fault was applied to
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.id, "fault": self.fault}
        for name in (*WHERE, "times", "seed"):
            if getattr(self, name) is not None:
                shown[name] = getattr(self, name)
        if self.probability != 1.0:
            shown["probability"] = self.probability
        return {**shown, **self.params, "hits": self.hits}

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def delay_seconds(self) -> float:
        """latency: how long this reply waits (draws from the rule's stream)."""
        p = self.params
        if "ms" in p:
            return float(p["ms"]) / 1000
        if "min_ms" in p:
            return self.rng.uniform(p["min_ms"], p["max_ms"]) / 1000
        # A long tail is cut at the bound: the draw comes after the event was stored.
        exponent = self.rng.normalvariate(math.log(p["median_ms"]), p["sigma"])
        return math.exp(min(exponent, math.log(MAX_DELAY_MS))) / 1000


def parse_rule(
    raw: Any,
    rule_id: int,
    default_seed: int | None = None,
    vendors: Collection[str] | Mapping[str, Collection[str]] = (),
) -> Rule:
    """``vendors``: the names a rule's ``vendor`` may take (any, when empty); a mapping also
    gives each vendor's endpoint names, which a rule's ``endpoint`` must then be one of."""
    if not isinstance(raw, Mapping):
        raise RuleError("rule", 'must be a JSON object, such as {"fault": "status", "status": 503}')
    kind = raw.get("fault")
    if not isinstance(kind, str) or kind not in KIND_FIELDS:
        raise RuleError("fault", f"must be one of {', '.join(KINDS)}")
    allowed = {"fault", *WHERE, *HOW_OFTEN, *KIND_FIELDS[kind]}
    for name in raw:
        if name not in allowed:
            takes = ", ".join(sorted(allowed))
            raise RuleError(str(name)[:64], f"unknown field for a {kind} rule; it takes {takes}")
    where = {name: _text(raw, name) for name in WHERE}
    _check_where(where, vendors)
    times = _bounded("times", _whole(raw.get("times")), optional=True)
    probability = raw.get("probability", 1.0)
    if not _is_number(probability) or not 0 <= probability <= 1:
        raise RuleError("probability", "must be a number from 0 to 1")
    seed = _bounded("seed", _whole(raw.get("seed", default_seed)), optional=True)
    params = {name: _whole(raw[name]) for name in KIND_FIELDS[kind] if name in raw}
    _check_params(kind, params)
    return Rule(
        id=rule_id, fault=kind, vendor=where["vendor"], endpoint=where["endpoint"],
        namespace=where["namespace"], times=times, probability=float(probability), seed=seed,
        params=params, rng=random.Random(seed),  # noqa: S311 (faults, not secrets)
    )  # fmt: skip


def _check_where(
    where: Mapping[str, str | None], vendors: Collection[str] | Mapping[str, Collection[str]]
) -> None:
    vendor, endpoint, namespace = where["vendor"], where["endpoint"], where["namespace"]
    if vendors and vendor is not None and vendor not in vendors:
        raise RuleError("vendor", f"must be one of {', '.join(vendors)}")
    if isinstance(vendors, Mapping) and endpoint is not None:
        names = vendors[vendor] if vendor is not None else [n for v in vendors.values() for n in v]
        if endpoint not in names:
            whose = f"{vendor}'s" if vendor is not None else "an"
            choices = ", ".join(dict.fromkeys(names))
            raise RuleError("endpoint", f"must be {whose} endpoint name: one of {choices}")
    if namespace is not None and not NAMESPACE_PATTERN.fullmatch(namespace):
        raise RuleError("namespace", "must be 1-64 letters, digits, '.', '_' or '-'")


def _bounded(name: str, value: Any, optional: bool = False) -> Any:
    """``value`` if it is a number within ``BOUNDS[name]`` (whole, for ``WHOLE``); None, for
    an ``optional`` field left out or null (a kind's own fields are never null)."""
    if value is None and optional:
        return None
    low, high = BOUNDS[name]
    whole = name in WHOLE
    if not (_is_int(value) if whole else _is_number(value)) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise RuleError(name, f"must be {kind} from {low:g} to {high:g}")
    return value


def _check_params(kind: str, params: dict[str, Any]) -> None:
    for name, value in params.items():
        if name != "status":
            _bounded(name, value)
    if kind == "status":
        if params.get("status") not in STATUSES:
            raise RuleError("status", f"must be one of {', '.join(map(str, STATUSES))}")
    elif kind == "rate_limit":
        params.setdefault("retry_after", 1)
    elif kind == "latency":
        shapes = [("ms",), ("min_ms", "max_ms"), ("median_ms", "sigma")]
        given = [shape for shape in shapes if any(n in params for n in shape)]
        if len(given) != 1 or not all(n in params for n in given[0]):
            raise RuleError("ms", "give ms, or min_ms and max_ms, or median_ms and sigma")
        if "median_ms" in params and params["median_ms"] <= 0:
            raise RuleError("median_ms", "must be more than 0")


def _text(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise RuleError(name, "must be a non-empty string")
    return value


def _whole(value: Any) -> Any:
    """JSON has one number type: 2.0 is the whole number 2 (as JSON Schema reads it)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_flag(text: str) -> dict[str, Any]:
    """The compact form of ``--fault``: ``[vendor[.endpoint][@namespace]:]kind[=value][,k=v...]``.

    ``lucidworks.click:status=503,p=0.2`` is a 503 on a fifth of Lucidworks clicks;
    ``rate_limit=2`` a 429 with Retry-After 2 everywhere; ``neuralens:latency,ms=800``;
    ``@team-a:down``; ``ack_lost,times=1``. ``p`` is short for probability; a kind's value
    is its main field (status, retry_after, ms, seconds)."""
    where, _, rest = text.rpartition(":")
    rule: dict[str, Any] = {}
    if where:
        scope, _, namespace = where.partition("@")
        vendor, _, endpoint = scope.partition(".")
        for name, value in (("vendor", vendor), ("endpoint", endpoint), ("namespace", namespace)):
            if value:
                rule[name] = value
    parts = [part.strip() for part in rest.split(",") if part.strip()]
    if not parts:
        raise RuleError("fault", f"{text!r}: give a fault, such as status=503 or latency,ms=500")
    kind, _, main = parts[0].partition("=")
    rule["fault"] = kind
    if main:
        main_field = {"status": "status", "rate_limit": "retry_after", "latency": "ms",
                      "hang": "seconds"}.get(kind)  # fmt: skip
        if main_field is None:
            raise RuleError("fault", f"{kind} takes no value ({parts[0]!r})")
        rule[main_field] = _number(main)
    for part in parts[1:]:
        name, sep, value = part.partition("=")
        if not sep:
            raise RuleError(name, f"{part!r}: write name=value")
        rule["probability" if name == "p" else name] = _number(value)
    return rule


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
