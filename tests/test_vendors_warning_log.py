"""The terminal's signal-quality warnings: one line the first time, then counts, never a flood."""

from __future__ import annotations

import logging

import pytest

from mockserver.events import Event
from mockserver.vendors.warning_log import (
    COUNT_INTERVAL_SECONDS,
    WHERE_TO_LOOK,
    WarningLog,
)


def _warned(*rules: str, namespace: str = "default") -> Event:
    warnings = [{"rule": rule, "path": f"$.{rule}", "message": f"fix {rule}"} for rule in rules]
    return Event(
        "lucidworks", "/retail/signals/click", "click", namespace, "shop", "u", "s", None,
        "q", ["p"], None, 1, "{}", "r", "2026-01-01T00:00:00.000000Z", warnings=warnings,
    )  # fmt: skip


class Lines:
    """The terminal's lines, as they are said."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    def __len__(self) -> int:
        return len(self.caplog.records)

    def __getitem__(self, index: int) -> logging.LogRecord:
        return self.caplog.records[index]


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Lines:
    caplog.set_level(logging.WARNING, logger="mockserver.requests")
    return Lines(caplog)


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_first_warning_of_a_rule_is_one_line_that_says_where_to_look(
    lines: Lines,
) -> None:
    WarningLog().note([_warned("timestamp-in-seconds")], "click")
    assert len(lines) == 1
    line = lines[0]
    assert line.levelno == logging.WARNING
    assert line.getMessage() == (
        "warning lucidworks click timestamp-in-seconds $.timestamp-in-seconds: "
        "fix timestamp-in-seconds (said once per rule and namespace; "
        "GET /_mock/events?warned=true lists them)"
    )


def test_a_warning_in_another_namespace_names_it(lines: Lines) -> None:
    WarningLog().note([_warned("r", namespace="team-b")], "click")
    assert lines[0].getMessage().startswith("warning lucidworks click ns=team-b r $.r: fix r")


def test_the_counts_say_each_rule_most_first_and_the_seconds_since_the_last(
    lines: Lines,
) -> None:
    clock = Clock(100.0)
    said = WarningLog(interval=60.0, clock=clock)
    said.note([_warned("a", "b")], "click")  # each said once
    said.note([_warned("a", "b"), _warned("b")], "click")
    clock.now = 160.4
    said.note([], "click")  # the interval is over: a count line, whatever arrived
    assert lines[-1].getMessage() == (
        f"signal quality: 3 more warnings in 60s: b 2, a 1 ({WHERE_TO_LOOK})"
    )
    assert len(lines) == 3


def test_the_next_count_is_an_interval_after_the_last_and_counts_from_zero(
    lines: Lines,
) -> None:
    clock = Clock(0.0)
    said = WarningLog(interval=60.0, clock=clock)
    said.note([_warned("a"), _warned("a")], "click")
    clock.now = 60.0  # exactly the interval: due
    said.note([_warned("a")], "click")
    assert lines[-1].getMessage().startswith("signal quality: 2 more warnings in 60s: a 2 (")
    clock.now = 119.0
    said.note([_warned("a")], "click")
    assert len(lines) == 2  # 59 s since the last count: not yet
    clock.now = 120.0
    said.note([], "click")
    assert lines[-1].getMessage().startswith("signal quality: 1 more warnings in 60s: a 1 (")


def test_a_quiet_server_says_no_count(lines: Lines) -> None:
    clock = Clock(0.0)
    said = WarningLog(interval=60.0, clock=clock)
    said.note([_warned("a")], "click")
    clock.now = 1000.0
    said.note([_warned()], "click")  # nothing warned since the first line
    assert len(lines) == 1


def test_the_count_interval_is_a_minute_by_default_on_the_monotonic_clock() -> None:
    said = WarningLog()
    assert said.interval == COUNT_INTERVAL_SECONDS == 60.0
