"""mockserver.simulate.sender: each request sent in order (live: each at its own time), a
progress line on a terminal, and a summary that counts what was meant and what was not."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from mockserver.simulate import sender
from mockserver.simulate.payloads import Request
from mockserver.simulate.sender import Tally, per_second, send

LIVE_FROM = 1_764_460_800_000


class Clock:
    """Time for the sender: still, but for its sleeps (and a tick for each post)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


class Poster:
    def __init__(self, clock: Clock | None = None, status: int = 200) -> None:
        self.clock = clock
        self.status = status
        self.posted: list[tuple[str, bytes, dict[str, str], float | None]] = []

    def post(self, url: str, *, content: bytes, headers: Any) -> httpx.Response:
        self.posted.append((url, content, dict(headers), self.clock.now if self.clock else None))
        if self.clock is not None:
            self.clock.now += 0.25  # a post takes a quarter of a second
        return httpx.Response(self.status, text="refused" if self.status >= 400 else "")


def _request(at_ms: int, path: str = "/analytics/event", **marks: Any) -> Request:
    return Request(at_ms, "neuralens", path, {"X-Test": str(at_ms)}, {"at": at_ms}, **marks)


def test_a_live_run_sends_each_request_at_its_own_time_from_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(sender, "time", clock)
    poster = Poster(clock)
    sent = [_request(LIVE_FROM + ms) for ms in (0, 1500, 1500, 4000, 4100, 4600)]
    tally = send("", sent, live_from_ms=LIVE_FROM, out=io.StringIO(), client=poster)
    # Not sent before its time, even a tenth of a second; one already late is sent at once.
    assert [at for *_, at in poster.posted] == [1000, 1001.5, 1001.75, 1004, 1004.25, 1004.6]
    assert clock.slept == [1.25, 2.0, 0.1]  # each post took a quarter of a second
    assert [(url, content) for url, content, _, _ in poster.posted] == [
        ("/analytics/event", f'{{"at":{r.at_ms}}}'.encode()) for r in sent
    ]
    assert [headers for _, _, headers, _ in poster.posted] == [r.headers for r in sent]
    assert (tally.sent, tally.accepted, tally.rejected) == (6, 6, 0)


def test_a_backfill_sends_at_once_whatever_the_times(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(sender, "time", clock)
    poster = Poster(clock)
    send("", [_request(LIVE_FROM + 60_000), _request(LIVE_FROM)], out=io.StringIO(), client=poster)
    assert clock.slept == []
    assert len(poster.posted) == 2


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_progress_line_is_rewritten_at_most_five_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(sender, "time", clock)
    out = Terminal()
    poster = Poster(clock)  # each post a quarter of a second: each one shown
    send("", [_request(LIVE_FROM)] * 3, out=out, client=poster)
    lines = out.getvalue().split("\r")
    assert lines[0] == ""
    assert [line.split(":")[0] for line in lines[1:-1]] == [f"sent {n} requests" for n in (1, 2, 3)]
    assert all(line.endswith("/s   ") for line in lines[1:-1])
    assert lines[-1] == ""  # the cursor back at the start, for the summary

    quick = Terminal()
    clock.now += 1
    send("", [_request(LIVE_FROM)] * 3, out=quick, client=Poster())  # no time passes: one line
    assert quick.getvalue().count("\r") == 2


def test_elsewhere_no_progress_line_is_written() -> None:
    out = io.StringIO()
    send("", [_request(LIVE_FROM)] * 3, out=out, client=Poster())
    assert out.getvalue() == ""


def test_ctrl_c_stops_between_requests_with_the_tally_so_far() -> None:
    def stream() -> Any:
        yield _request(LIVE_FROM)
        yield _request(LIVE_FROM, mistake="empty sessionId")
        raise KeyboardInterrupt

    out = Terminal()
    with pytest.raises(KeyboardInterrupt) as stopped:
        send("", stream(), out=out, client=Poster())
    (tally,) = stopped.value.args
    assert isinstance(tally, Tally)
    assert (tally.sent, tally.spoiled) == (2, 1)
    assert out.getvalue().endswith("\r")


def test_without_a_client_the_sender_keeps_one_of_its_own_to_the_url_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[dict[str, Any]] = []
    seen: list[str] = []
    real = httpx.Client

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(202)

    def client(**options: Any) -> httpx.Client:
        made.append(options)
        return real(**options, transport=httpx.MockTransport(accept))

    monkeypatch.setattr(httpx, "Client", client)
    tally = send("http://MOCKX/", [_request(LIVE_FROM)] * 2, out=io.StringIO())
    assert made == [{"base_url": "http://MOCKX", "timeout": 30}]  # one, for them all
    assert seen == ["http://mockx/analytics/event"] * 2
    assert tally.accepted == 2


def test_the_summary_counts_refusals_and_each_surprise() -> None:
    sent = [_request(LIVE_FROM), _request(LIVE_FROM, mistake="no index on a positional event")]
    accepting = send("", sent, out=io.StringIO(), client=Poster(status=202))
    assert (accepting.sent, accepting.accepted, accepting.rejected) == (2, 2, 0)
    assert (accepting.spoiled, accepting.sloppy) == (1, 0)
    assert accepting.unexpected == [
        "accepted despite no index on a positional event: /analytics/event"
    ]
    long = "x" * 400

    class Refusing(Poster):
        def post(self, url: str, *, content: bytes, headers: Any) -> httpx.Response:
            return httpx.Response(422, text=long)

    sloppy = _request(LIVE_FROM, sloppiness="timestamp days ahead")
    refusing = send("", [*sent, sloppy], out=io.StringIO(), client=Refusing())
    assert (refusing.sent, refusing.accepted, refusing.rejected) == (3, 0, 3)
    assert (refusing.spoiled, refusing.sloppy) == (1, 1)
    assert refusing.unexpected == [
        f"422 for a correct request to /analytics/event: {'x' * 300}",
        f"422 for a sloppy (timestamp days ahead) request to /analytics/event: {'x' * 300}",
    ]


def test_a_summary_with_nothing_sent_on_purpose_says_nothing_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sender, "time", Clock(50.0))
    nothing = Tally(sent=9, accepted=9, started=50.0)
    assert nothing.line() == "sent 9 requests: 9 accepted, 0 rejected, 0.00/s"
    spoiled = Tally(sent=1200, accepted=1000, rejected=200, spoiled=200, started=50.0)
    assert spoiled.line() == (
        "sent 1,200 requests (200 with a mistake on purpose): 1,000 accepted, 200 rejected, 0.00/s"
    )


def test_a_tally_read_at_its_start_sends_at_no_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender, "time", Clock(50.0))
    assert Tally(sent=3, started=50.0).rate() == 0.0
    assert Tally(sent=3, started=49.5).rate() == 6.0  # under a second is a rate too
    assert Tally(sent=0, started=49.5).rate() == 0.0


@pytest.mark.parametrize(
    ("rate", "shown"),
    [(2500.4, "2,500"), (100.0, "100"), (99.96, "100.0"), (1.0, "1.0"), (0.999, "1.00"),
     (0.4, "0.40")],
)  # fmt: skip
def test_a_rate_shows_as_many_decimals_as_it_needs(rate: float, shown: str) -> None:
    assert per_second(rate) == shown
