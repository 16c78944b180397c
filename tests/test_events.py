"""The receive time every row carries: the store's time filters compare it as text."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from mockserver.events import utc_now


def test_utc_now_is_iso_8601_utc_with_microseconds() -> None:
    before = datetime.now(UTC)
    stamp = utc_now()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    assert before <= datetime.fromisoformat(stamp) <= after


def test_utc_now_sorts_as_text_across_a_second_boundary() -> None:
    stamps = [utc_now()]
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and stamps[-1][:19] == stamps[0][:19]:
        stamps.append(utc_now())
    assert stamps[-1][:19] != stamps[0][:19]  # the cached date moved on
    assert stamps == sorted(stamps)
