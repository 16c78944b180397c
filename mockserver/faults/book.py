"""FaultBook: the rules in force, in order, and which one a request meets.

Rules are tried in order; the first that matches a request, has uses left and wins its
probability draw applies (and is counted). Plain values only: the request path
(``vendors/faults.py``) asks with the request's vendor, endpoint name, namespace and tenant.

At most ``MAX_RULES`` rules, indexed by where they apply: a request looks only at the rules
whose vendor, endpoint and namespace are its own or left out (eight buckets), so rules for
other namespaces cost it nothing (measured: bench/results/measurements.md#fault-book-buckets).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from operator import attrgetter
from typing import Any

from mockserver.faults.rules import Rule, RuleError, parse_rule

MAX_RULES = 1000
Where = tuple[str | None, str | None, str | None]  # vendor, endpoint, namespace


class FaultBook:
    def __init__(
        self,
        default_seed: int | None = None,
        vendors: Collection[str] | Mapping[str, Collection[str]] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``vendors``: the names a rule's vendor may take; a mapping also names each one's
        endpoints (see ``parse_rule``)."""
        self.default_seed = default_seed  # --fault-seed: for rules without their own seed
        self.clock = clock  # seconds, for per_second rate limits
        self.vendors = vendors
        self._rules: list[Rule] = []
        self._index: dict[Where, list[Rule]] = {}  # each bucket in rule order (ids ascend)
        self._next_id = 1
        self._lock = threading.Lock()  # the API and the request path may be on two threads
        # per_second counts, by rule and tenant, of the current second only: a count from an
        # earlier second is no use, and keeping them grew without end as new tenants came.
        self._windows: dict[tuple[int, str | None], int] = {}
        self._windows_second = -1

    @property
    def active(self) -> bool:
        return bool(self._rules)

    @property
    def rules(self) -> list[Rule]:
        return self._rules

    @rules.setter
    def rules(self, rules: list[Rule]) -> None:
        index: dict[Where, list[Rule]] = defaultdict(list)
        for rule in rules:
            index[(rule.vendor, rule.endpoint, rule.namespace)].append(rule)
        self._rules, self._index = rules, dict(index)

    def replace(self, raws: Iterable[Any]) -> list[Rule]:
        """All of ``raws`` or none (a RuleError names the first bad field)."""
        with self._lock:
            first = self._next_id
            rules = []
            for n, raw in enumerate(raws):
                if n == MAX_RULES:
                    raise RuleError("rules", f"at most {MAX_RULES} rules are in force at once")
                rules.append(parse_rule(raw, first + n, self.default_seed, self.vendors))
            self.rules = rules
            self._next_id = first + len(rules)
            return list(rules)

    def add(self, raw: Any) -> Rule:
        with self._lock:
            if len(self._rules) >= MAX_RULES:
                message = f"at most {MAX_RULES} rules are in force at once; delete some first"
                raise RuleError("rules", message)
            rule = parse_rule(raw, self._next_id, self.default_seed, self.vendors)
            self.rules = [*self._rules, rule]
            self._next_id += 1
            return rule

    def clear(self, namespace: str | None = None, rule_id: int | None = None) -> int:
        """Remove every rule, or those of ``namespace``, or the one ``rule_id``; how many went."""
        with self._lock:
            kept = [
                r
                for r in self.rules
                if (namespace is not None and r.namespace != namespace)
                or (rule_id is not None and r.id != rule_id)
            ]
            removed = len(self.rules) - len(kept)
            self.rules = kept
            return removed

    def listing(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return [r.as_json() for r in self.rules if namespace is None or r.namespace == namespace]

    def match(
        self, vendor: str | None, endpoint: str, namespace: str, tenant: str | None
    ) -> Rule | None:
        with self._lock:
            for rule in self._candidates(vendor, endpoint, namespace):
                if rule.spent:
                    continue
                if "per_second" in rule.params and not self._over(rule, tenant):
                    continue
                if rule.probability < 1 and rule.rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                return rule
        return None

    def _candidates(self, vendor: str | None, endpoint: str, namespace: str) -> Iterator[Rule]:
        """The rules that apply to this request, in rule order."""
        # dict.fromkeys: a request with no vendor would name the (None, …) buckets twice, and
        # meet each of their rules twice (a second draw, a tenant counted twice).
        wheres = itertools.product((vendor, None), (endpoint, None), (namespace, None))
        buckets = [bucket for where in dict.fromkeys(wheres) if (bucket := self._index.get(where))]
        if len(buckets) == 1:
            return iter(buckets[0])
        return heapq.merge(*buckets, key=attrgetter("id"))

    def _over(self, rule: Rule, tenant: str | None) -> bool:
        """rate_limit with per_second: this tenant's requests this second exceed it."""
        second = int(self.clock())
        if second != self._windows_second:
            self._windows.clear()
            self._windows_second = second
        count = self._windows[(rule.id, tenant)] = self._windows.get((rule.id, tenant), 0) + 1
        return bool(count > rule.params["per_second"])


def rules_of(body: Mapping[str, Any]) -> list[Any]:
    """The rule list of a PUT body: ``{"rules": [...]}``."""
    rules = body.get("rules")
    if not isinstance(rules, list):
        raise ValueError('send {"rules": [...]}, a list of rule objects')
    return rules
