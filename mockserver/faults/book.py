"""FaultBook: the rules in force, in order, and which one a request meets.

Rules are tried in order; the first that matches a request, has uses left and wins its
probability draw applies (and is counted). Plain values only: the request path
(``vendors/faults.py``) asks with the request's vendor, endpoint name, namespace and tenant.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from mockserver.faults.rules import Rule, parse_rule


class FaultBook:
    def __init__(
        self,
        default_seed: int | None = None,
        vendors: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_seed = default_seed  # --fault-seed: for rules without their own seed
        self.clock = clock  # seconds, for per_second rate limits
        self.vendors = tuple(vendors)  # the names a rule's vendor may take
        self.rules: list[Rule] = []
        self._next_id = 1
        self._lock = threading.Lock()  # the API and the request path may be on two threads
        self._windows: dict[tuple[int, str | None], tuple[int, int]] = {}

    @property
    def active(self) -> bool:
        return bool(self.rules)

    def replace(self, raws: Iterable[Any]) -> list[Rule]:
        """All of ``raws`` or none (a RuleError names the first bad field)."""
        with self._lock:
            first = self._next_id
            rules = [
                parse_rule(raw, first + n, self.default_seed, self.vendors)
                for n, raw in enumerate(raws)
            ]
            self.rules = rules
            self._next_id = first + len(rules)
            return list(rules)

    def add(self, raw: Any) -> Rule:
        with self._lock:
            rule = parse_rule(raw, self._next_id, self.default_seed, self.vendors)
            self.rules = [*self.rules, rule]
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
            for rule in self.rules:
                if rule.spent or not _applies(rule, vendor, endpoint, namespace):
                    continue
                if "per_second" in rule.params and not self._over(rule, tenant):
                    continue
                if rule.probability < 1 and rule.rng.random() >= rule.probability:
                    continue
                rule.hits += 1
                return rule
        return None

    def _over(self, rule: Rule, tenant: str | None) -> bool:
        """rate_limit with per_second: this tenant's requests this second exceed it."""
        second = int(self.clock())
        start, count = self._windows.get((rule.id, tenant), (second, 0))
        count = count + 1 if start == second else 1
        self._windows[(rule.id, tenant)] = (second, count)
        return bool(count > rule.params["per_second"])


def _applies(rule: Rule, vendor: str | None, endpoint: str, namespace: str) -> bool:
    return (
        (rule.vendor is None or rule.vendor == vendor)
        and (rule.endpoint is None or rule.endpoint == endpoint)
        and (rule.namespace is None or rule.namespace == namespace)
    )


def rules_of(body: Mapping[str, Any]) -> list[Any]:
    """The rule list of a PUT body: ``{"rules": [...]}``."""
    rules = body.get("rules")
    if not isinstance(rules, list):
        raise ValueError('send {"rules": [...]}, a list of rule objects')
    return rules
