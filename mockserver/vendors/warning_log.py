"""What the terminal says about signal-quality warnings, without flooding it.

The first time a rule fires in a namespace: one line at warning level, with the message and
the place (``warning lucidworks click timestamp-in-seconds: timestamp is in epoch
seconds…``). After that, the signals it warns about again are counted, and at most once every
``interval`` seconds one line gives the counts since the last one (``signal quality: 412
more warnings in 60s: click-without-position 400, timestamp-in-seconds 12``). The count line
is written when a warned signal arrives after the interval, so a quiet server writes
nothing. ``unknown-query`` is found when events are read, not when they arrive: it is never
said here (GET /_mock/summary counts it).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from mockserver.events import Event
from mockserver.vendors.intake import DEFAULT_NAMESPACE

log = logging.getLogger("mockserver.requests")  # beside the refusal lines: shown by default
COUNT_INTERVAL_SECONDS = 60.0
WHERE_TO_LOOK = "GET /_mock/events?warned=true lists them"
# Namespaces are the client's to choose: past this many (namespace, rule) pairs said once, new
# ones are counted as already said, so the set cannot grow without end.
MAX_SAID = 10_000


class WarningLog:
    def __init__(
        self,
        interval: float = COUNT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._said: set[tuple[str, str]] = set()  # (namespace, rule) already said once
        self._since_said: Counter[str] = Counter()
        self._last_count = clock()

    def note(self, events: Sequence[Event], endpoint_name: str) -> None:
        """The events of one accepted request (most have no warnings: one check each)."""
        for event in events:
            for warning in event.warnings:
                key = (event.namespace, warning["rule"])
                if key in self._said or len(self._said) >= MAX_SAID:
                    self._since_said[warning["rule"]] += 1
                    continue
                self._said.add(key)
                where = f" ns={event.namespace}" if event.namespace != DEFAULT_NAMESPACE else ""
                log.warning(
                    "warning %s %s%s %s %s: %s (said once per rule and namespace; %s)",
                    event.vendor, endpoint_name, where, warning["rule"], warning["path"],
                    warning["message"], WHERE_TO_LOOK,
                )  # fmt: skip
        now = self.clock()
        if self._since_said and now - self._last_count >= self.interval:
            self._say_counts(now)

    def _say_counts(self, now: float) -> None:
        total = sum(self._since_said.values())
        rules = ", ".join(f"{rule} {n}" for rule, n in self._since_said.most_common())
        seconds = now - self._last_count
        log.warning(
            "signal quality: %d more warnings in %.0fs: %s (%s)", total, seconds, rules,
            WHERE_TO_LOOK,
        )  # fmt: skip
        self._since_said.clear()
        self._last_count = now
