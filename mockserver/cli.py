"""The ``mockserver`` command: a thin shell over the library, one short function a command."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mockserver import __version__, serving
from mockserver.ci.payload_files import (
    check,
    exit_status,
    format_human,
    format_json,
    read_payloads,
)
from mockserver.events import DISAGREE, plural
from mockserver.inspect.dashboard import UI_PATH
from mockserver.settings import DEFAULT_DB, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, Settings, data_dir
from mockserver.simulate import DEMO_INVALID_RATE, DEMO_SLOPPY_RATE
from mockserver.storage import open_store
from mockserver.storage.base import redacted
from mockserver.validation import PROFILES, load_contracts
from mockserver.vendors.registry import ANALYTICS, ENDPOINT_NAMES, VENDOR_NAMES, VENDORS

if TYPE_CHECKING:
    from mockserver.ci.reports import Traffic

SERVE_EPILOG = """\
examples:
  mockserver serve                                  # http://127.0.0.1:8080, ./mockserver.db
  mockserver serve --port 9000 --db :memory:        # throwaway store
  mockserver serve --neuralens-key k1 --lucidworks-token t1   # only these credentials pass

point your app at:
  Neuralens   http://127.0.0.1:8080/analytics/event
  Lucidworks  http://127.0.0.1:8080/retail/signals/{click,query,cartadd,purchase}
              (signal store: http://127.0.0.1:8080/signal-store/mystore/retail/signals/...)
  isolated    http://127.0.0.1:8080/ns/<name>/...  (any of the above, in namespace <name>)
  inspect     http://127.0.0.1:8080/_mock/events, /_mock/rejections, /_mock/summary
  dashboard   http://127.0.0.1:8080/_mock/ui/  (in a browser)

Every flag can also be set as MOCKSERVER_<NAME> (MOCKSERVER_PORT=9000,
MOCKSERVER_NEURALENS_KEYS=k1,k2) or in a TOML file given by --config or MOCKSERVER_CONFIG.
"""

VALIDATE_EPILOG = """\
examples:
  mockserver validate payloads/*.json                  # vendor and endpoint inferred
  mockserver validate --endpoint purchase basket.json  # a cartId alone is ambiguous
  mockserver validate --format json events.ndjson      # one body a line; JSON report
  my-app --dump-events | mockserver validate -         # from standard input

endpoint inference: --endpoint, else click/query/cartadd/purchase in the file name, else the
body: an object is a Neuralens event; an array is Lucidworks: searchTerms -> query, cartId
with orderId or revenue -> purchase, cartId alone -> ask, anything else -> click.
"""

RUN_EPILOG = """\
examples:
  mockserver run -- pytest tests/integration
  mockserver run --junit mock-junit.xml --markdown mock-report.md -- npm test
  mockserver run --allow-rejections --json traffic.json -- ./e2e.sh
  mockserver run --fail-on-warnings --junit mock-junit.xml -- pytest tests/integration

The command sees MOCKSERVER_URL, NEURALENS_BASE_URL and LUCIDWORKS_BASE_URL, each the
server's base URL (append /analytics/event or /retail/signals/click), and
NEURALENS_EVENT_URL, the Neuralens endpoint itself; NEURALENS_API_URL and
LUCIDWORKS_SIGNALS_URL, older names of the base URL, are set too. Exit status: the
command's when it failed, else 1 when the mock rejected anything (unless
--allow-rejections), received nothing at all (unless --allow-empty), or, with
--fail-on-warnings, accepted any event with a signal-quality warning, else 0. Without
--fail-on-warnings, warnings are reported (JUnit properties and system-out, a Markdown and
JSON section by rule) and change no exit status.
"""

REPORT_EPILOG = """\
examples:
  mockserver report --db mockserver.db --junit junit.xml
  mockserver report --url http://127.0.0.1:8080 --namespace ci-42 --markdown report.md
  mockserver report --url http://mockserver:8080 --junit junit.xml --fail-on-rejections
  mockserver report --db mockserver.db --fail-on-warnings   # sloppy signals fail the job too

Exit status: 0 when the reports were written, whatever they say; with --fail-on-rejections,
1 when the mock rejected any request (in --namespace, if given), so that a CI job that ran
the mock as a service fails at its last step; with --fail-on-warnings, 1 when it accepted
any event with a signal-quality warning (a Lucidworks timestamp in seconds, a click without
selectedPosition, ...); 2 when the traffic cannot be read.
"""


SIMULATE_EPILOG = """\
examples:
  mockserver simulate                                    # in real time, 2 a second, until Ctrl-C
  mockserver simulate --duration 30s --invalid-rate 0.1  # in real time for 30 s, 10% mistakes
  mockserver simulate --backfill 1h --sessions 50 --invalid-rate 0.1   # 50 shoppers at once
  mockserver simulate --backfill 1h --sessions 50 --sloppy-rate 0.2    # 20% draw a warning
  mockserver simulate --backfill 7d --sessions 3000      # a week: 19,800 requests, a minute or so
  mockserver simulate --backfill 1d --sessions 20 --seed 7 --start 2026-11-30T09:00:00Z
                                                         # the same bytes each run

Live runs are in real time: a shopper takes minutes from search to purchase, so 50 sessions
live take about a quarter of an hour (a live run says how long as it starts); --backfill
sends the sessions, over that long before --start, as fast as the server takes them.

--invalid-rate spoils requests so that the vendor refuses them; --sloppy-rate makes them
valid but sloppy (Lucidworks timestamps in seconds or days ahead, clicks without
selectedPosition, e-mail addresses as visitorId, a click's queryId never sent in a query;
Neuralens timestamps days ahead): accepted, each with a warning.

Exit 0 when the server accepted every correct or sloppy request and refused every spoiled
one, 1 when it did not (the first few are printed), 2 when it cannot run as asked, 130 on
Ctrl-C.
"""


def _add_server_options(
    parser: argparse.ArgumentParser, default_port: str, default_db: str
) -> None:
    parser.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument(
        "--port", type=int, help=f"port to bind, 0 for any free one ({default_port})"
    )
    parser.add_argument(
        "--db",
        help=f"SQLite file, :memory:, or postgresql://user:pass@host:5432/dbname for a store "
        f"several servers share (needs mockserver's postgresql extra: "
        f"docs/shared-deployment.md) ({default_db})",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        help=f"larger bodies get 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    parser.add_argument(
        "--neuralens-key",
        action="append",
        dest="neuralens_keys",
        metavar="KEY",
        help="accept only this Neuralens API key (repeatable; default: any non-empty key)",
    )
    parser.add_argument(
        "--lucidworks-token",
        action="append",
        dest="lucidworks_tokens",
        metavar="TOKEN",
        help="accept only this Lucidworks embed token (repeatable; default: any non-empty token)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        help="strict (default): every rule the real service may run; lenient: only what it "
        "surely refuses (see docs/validation.md, Profiles)",
    )
    parser.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="require Authorization: Bearer TOKEN on /_mock/* (all but health and openapi.json)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="let pages from ORIGIN (https://shop.example; * for any) send vendor requests; "
        "pages on localhost, 127.0.0.1 and [::1] always may (repeatable)",
    )
    parser.add_argument(
        "--admin-token-file",
        type=Path,
        metavar="FILE",
        help="read the admin token from FILE, so that it shows neither in ps nor in history",
    )
    parser.add_argument(
        "--fault",
        action="append",
        dest="faults",
        metavar="RULE",
        help="a fault rule from the start, [vendor[.endpoint][@namespace]:]kind[=value][,k=v]: "
        "lucidworks.click:status=503,p=0.2 | rate_limit=2 | latency,ms=800 | ack_lost,times=1 "
        "| @team-a:down (repeatable; more at runtime: /_mock/faults; docs/faults.md)",
    )
    parser.add_argument(
        "--fault-seed", type=int, help="seed of the fault rules that give no seed of their own"
    )
    upstream = parser.add_argument_group(
        "shadow mode", "forward each vendor request to the real service too, and keep both "
        "verdicts: GET /_mock/disagreements (docs/shadow-mode.md)",
    )  # fmt: skip
    upstream.add_argument(
        "--upstream",
        action="append",
        dest="upstreams",
        metavar="VENDOR=URL",
        help="the real service of VENDOR, e.g. lucidworks=https://{store}.applications."
        "lucidworks.com ({store}: each request's signal store) or neuralens=https://HOST "
        "(repeatable)",
    )
    upstream.add_argument(
        "--upstream-mode",
        choices=("shadow", "passthrough"),
        help="shadow (default): the client gets the mock's reply, the upstream is called after "
        "it; passthrough: the client gets the upstream's",
    )
    upstream.add_argument(
        "--upstream-ca", type=Path, metavar="FILE", help="PEM file of the CA that signs the "
        "upstream's certificate, when no public authority does",
    )  # fmt: skip
    upstream.add_argument(
        "--upstream-timeout", type=int, metavar="SECONDS", help="wait this long for the upstream "
        "(default 10); then it counts as unavailable",
    )  # fmt: skip
    parser.add_argument("--config", type=Path, help="TOML file with any of the settings above")


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--junit", type=Path, metavar="FILE", help="JUnit XML: a test case a request"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="summary, rejections, coverage")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="the same, for people")
    parser.add_argument(
        "--fail-on-warnings",
        action="store_true",
        help="exit 1 when any event was accepted with a signal-quality warning, and show those "
        "requests as JUnit failures (by default warnings are reported only)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockserver",
        description="A local Neuralens and Lucidworks event API that validates like the real "
        "services and records every event and rejection (in SQLite, or in PostgreSQL for a "
        "store several servers share).",
    )
    parser.add_argument("-V", "--version", action="version", version=f"mockserver {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    serve = commands.add_parser(
        "serve",
        help="start the mock server",
        description="Start the mock server and print the URLs it serves.",
        epilog=SERVE_EPILOG,
        formatter_class=raw,
    )
    _add_server_options(serve, f"default {DEFAULT_PORT}", "default ./mockserver.db")
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port and the --db file (default 1; not with :memory:)",
    )
    serve.add_argument(
        "--log-level",
        default=serving.DEFAULT_LOG_LEVEL,
        choices=serving.LOG_LEVELS,
        help="uvicorn log level (default warning); info or lower also logs each request",
    )

    validate = commands.add_parser(
        "validate",
        help="check payload files offline, without a server",
        description="Check request bodies against the same contracts the server runs. Exit 0 "
        "when all are valid, 1 when any is invalid, else 2 when any could not be checked (its "
        "vendor or endpoint cannot be told: the output says which flag to pass) or the command "
        "cannot run as asked. Valid bodies that would spoil the analytics (seconds timestamps, "
        "clicks without a position, ...) are printed with their warnings; they fail only with "
        "--fail-on-warnings.",
        epilog=VALIDATE_EPILOG,
        formatter_class=raw,
    )
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="JSON or NDJSON file, or - for stdin"
    )
    validate.add_argument("--vendor", choices=VENDOR_NAMES, help="default: inferred from each body")
    validate.add_argument(
        "--endpoint",
        choices=ENDPOINT_NAMES,
        help="default: from the file name (query-x.json), else the body's fields",
    )
    validate.add_argument("--profile", choices=PROFILES, default="strict", help="default strict")
    validate.add_argument("--format", choices=("human", "json"), default="human")
    validate.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"a larger payload is invalid, as the server's 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    validate.add_argument(
        "--fail-on-warnings",
        action="store_true",
        help="exit 1 when a valid payload has a signal-quality warning (docs/signal-quality.md)",
    )

    run = commands.add_parser(
        "run",
        help="run a command against a fresh mock server, then report",
        description="Start the server, run COMMAND with the endpoints in its environment, stop "
        "the server, write the reports.",
        epilog=RUN_EPILOG,
        formatter_class=raw,
    )
    _add_server_options(run, "default 0", "default :memory:, gone when the command ends")
    _add_report_options(run)
    run.add_argument(
        "--allow-rejections", action="store_true", help="report rejections without failing"
    )
    run.add_argument(
        "--allow-empty",
        action="store_true",
        help="pass when the command sent nothing (by default that fails: a contract test that "
        "saw no traffic tested nothing)",
    )
    run.add_argument("command_line", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")

    report = commands.add_parser(
        "report",
        help="write JUnit, JSON or Markdown reports of recorded traffic",
        description="Report what a mockserver recorded: one JUnit test case a request, "
        "rejections with their reasons, and contract coverage. Prints the Markdown summary.",
        epilog=REPORT_EPILOG,
        formatter_class=raw,
    )
    source = report.add_mutually_exclusive_group()
    source.add_argument(
        "--db", default=DEFAULT_DB, help=f"the server's --db (default ./{DEFAULT_DB})"
    )
    source.add_argument("--url", help="a running mockserver instead of a file")
    report.add_argument("--namespace", help="only this namespace")
    report.add_argument(
        "--fail-on-rejections",
        action="store_true",
        help="exit 1 when the mock rejected any request (the reports are written first)",
    )
    _add_report_options(report)
    _add_simulate(commands)
    _add_demo(commands)
    _add_check_shared(commands)
    _add_probe(commands)
    return parser


# The valid signal each vendor's probe bodies are made from.
PROBED = {"lucidworks": "click-full.json", "neuralens": "click-product-docs-example-fixed.json"}


def _add_probe(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    probe = commands.add_parser(
        "probe",
        help="ask a real service which reading of each profile rule it follows",
        description="Send about fifty boundary bodies (fields null, absent, of the wrong "
        "type or case, keys repeated, 1.0 integers, invalid UTF-8, data after the JSON) to "
        "the real service, and report, for each rule that tells the strict profile from the "
        "lenient one, which reading the service follows. It writes test signals into the "
        "service's store: point it at one kept for testing (docs/shadow-mode.md).",
        epilog="example:\n  mockserver probe --upstream https://{store}.applications."
        "lucidworks.com --store test-store --lucidworks-token $TOKEN --markdown probe.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    probe.add_argument("--upstream", required=True, metavar="URL", help="the service's base URL")
    probe.add_argument("--vendor", choices=VENDOR_NAMES, default="lucidworks")
    probe.add_argument("--store", help="the Lucidworks signal store, for a URL with {store}")
    probe.add_argument("--lucidworks-token", help="the embed token (Authorization)")
    probe.add_argument("--neuralens-key", help="the API key (X-Neuralens-API-Key)")
    probe.add_argument("--neuralens-app", help="the application id (X-Neuralens-Application-ID)")
    probe.add_argument("--upstream-ca", type=Path, metavar="FILE", help="PEM file of its CA")
    probe.add_argument("--markdown", type=Path, metavar="FILE", help="write the report here too")
    probe.add_argument("--yes", action="store_true", help="do not ask before sending")


def probe(args: argparse.Namespace) -> int:
    from mockserver.ci.probe import BOTH_ACCEPT, PATHS, corpus, readings, report, send
    from mockserver.vendors.upstream import STORE_PLACEHOLDER, check_upstream

    base = args.upstream.rstrip("/")
    if STORE_PLACEHOLDER in base:
        if not args.store:
            return _fail("probe", "the URL names {store}: give --store, a signal store for tests")
        base = base.replace(STORE_PLACEHOLDER, args.store)
    try:
        check_upstream([f"{args.vendor}={base}"], "shadow", None)
        verify = check_upstream((), "shadow", args.upstream_ca)
    except ValueError as exc:
        return _fail("probe", str(exc))
    schema_dir = Settings().schema_dir
    strict, lenient = load_contracts(schema_dir, "strict"), load_contracts(schema_dir, "lenient")
    valid = json.loads(
        (data_dir() / "fixtures" / args.vendor / "valid" / PROBED[args.vendor]).read_text()
    )
    probes = corpus(args.vendor, valid, strict, lenient)
    url = base + PATHS[args.vendor]
    if not args.yes:
        question = (
            f"mockserver probe: this sends {len(probes)} test signals to {url}, into the store "
            "behind it. Use a store kept for testing. Send them? [y/N] "
        )
        if not sys.stdin.isatty():
            return _fail("probe", f"{question.split('. Send')[0]}; give --yes to send them")
        if input(question).strip().lower() not in ("y", "yes"):
            print("mockserver probe: nothing sent", file=sys.stderr)
            return 1
    if args.vendor == "lucidworks":
        headers = {"Authorization": args.lucidworks_token or "", "Accept": "application/json"}
    else:
        headers = {
            "X-Neuralens-API-Key": args.neuralens_key or "",
            "X-Neuralens-Application-ID": args.neuralens_app or "",
        }
    headers["Content-Type"] = "application/json"
    answers = send(url, probes, headers, verify=verify)
    text = report(url, answers)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    print(text, end="")
    if readings(answers).get(BOTH_ACCEPT) != "agrees":
        print(
            "mockserver probe: the service did not accept the bodies both profiles accept, so "
            "its readings say nothing; check the URL and the credentials",
            file=sys.stderr,
        )
        return 1
    return 0


def _add_check_shared(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = commands.add_parser(
        "check-shared",
        help="check that the servers of a shared deployment make one store",
        description="Send Lucidworks clicks through every server at once, in a namespace of the "
        "check's own (deleted at the end), and check that each server shows every acknowledged "
        "event once with the same ids, that a wait on the last is answered by events stored "
        "through the others, that each server's analytics count every event, and that a reset "
        "through the first is seen by all. Exit 1 if a check "
        "fails, 2 if the servers could not be asked.",
        epilog="example, after `docker compose up`:\n"
        "  MOCKSERVER_ADMIN_TOKEN=... mockserver check-shared http://127.0.0.1:8081 "
        "http://127.0.0.1:8082",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("urls", nargs="+", metavar="URL", help="each server (or replica) to check")
    check.add_argument(
        "--admin-token",
        default=os.environ.get("MOCKSERVER_ADMIN_TOKEN"),
        help="the servers' admin token (default $MOCKSERVER_ADMIN_TOKEN)",
    )
    check.add_argument("--events", type=int, default=200, help="1 to 1000 (default 200)")
    check.add_argument(
        "--timeout", type=float, default=30.0, help="seconds for each request and the wait"
    )


def check_shared(args: argparse.Namespace) -> int:
    import httpx

    from mockserver.testing.shared_check import MAX_EVENTS
    from mockserver.testing.shared_check import check_shared as run_check

    if not 1 <= args.events <= MAX_EVENTS:
        return _fail("check-shared", f"--events must be 1 to {MAX_EVENTS}")
    try:
        outcome = run_check(
            args.urls, admin_token=args.admin_token, events=args.events, timeout=args.timeout,
            say=print,
        )  # fmt: skip
    except (ValueError, httpx.HTTPError) as exc:  # the inspection API refused (a token?)
        return _fail("check-shared", f"{exc} (is --admin-token or MOCKSERVER_ADMIN_TOKEN set?)")
    for ok, line in outcome.lines:
        print(f"{'ok  ' if ok else 'FAIL'}  {line}")
    return 1 if outcome.failed else 0


def _add_simulate(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    simulate = commands.add_parser(
        "simulate",
        help="send simulated shoppers' events to a running mock server",
        description="Send believable shopping sessions (searches, clicks at positions a click "
        "model draws, cart adds, purchases) to a running mockserver, as a correct client of "
        "both vendors' APIs. The same --seed, flags and --start send the same bodies in the "
        "same order. Live by default: events at --rate a second, timed as they happen.",
        epilog=SIMULATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate.add_argument(
        "--url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the server (default %(default)s)"
    )
    simulate.add_argument("--seed", type=int, default=1, help="default 1")
    simulate.add_argument(
        "--start",
        help="the simulated clock's start, ISO 8601 (default now); with --backfill, its end",
    )
    simulate.add_argument("--sessions", type=int, help="stop after this many sessions")
    simulate.add_argument(
        "--duration", type=_duration, help="live: stop after this long (90s, 10m, 2h, 7d)"
    )
    simulate.add_argument(
        "--rate", type=float, default=2.0, help="live: events a second (default %(default)s)"
    )
    simulate.add_argument(
        "--backfill",
        type=_duration,
        help="spread the sessions (--sessions, default 1000) over this long before --start "
        "and send them as fast as the server takes them (7d: the past week)",
    )
    simulate.add_argument("--vendor", choices=VENDOR_NAMES, help="only this vendor's shoppers")
    simulate.add_argument("--namespace", help="send under /ns/<name>/")
    simulate.add_argument(
        "--tenant",
        default="demo-shop",
        help="Lucidworks signal store and Neuralens application id (default %(default)s)",
    )
    simulate.add_argument(
        "--invalid-rate",
        type=float,
        default=0.0,
        help="this fraction of requests carries one realistic client mistake (default 0)",
    )
    simulate.add_argument(
        "--sloppy-rate",
        type=float,
        default=0.0,
        help="this fraction of requests is valid but sloppy: accepted, with a warning that "
        "it spoils the analytics (default 0)",
    )
    simulate.add_argument("--lucidworks-token", default="demo-embed-token", help="embed token")
    simulate.add_argument("--neuralens-key", default="demo-key", help="API key")


def _add_demo(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = commands.add_parser(
        "demo",
        help="a server full of a week of simulated shoppers, still shopping (make demo)",
        description="Start a server on its own database (deleted and made again: the same "
        "seed gives the same shoppers), send it a week of seeded shoppers, then keep a gentle live "
        "stream going and print the dashboard's URL. A few requests carry a client mistake and "
        "a few more are sloppy, so that the dashboard has rejections and warnings to explain. "
        "Ctrl-C or SIGTERM stops the shoppers and "
        "the server.",
    )
    demo.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    demo.add_argument("--db", default="demo.db", help="default ./%(default)s (replaced)")
    demo.add_argument("--sessions", type=int, default=3000, help="in the week (default 3000)")
    demo.add_argument("--rate", type=float, default=1.0, help="live events a second (default 1)")
    demo.add_argument("--seed", type=int, default=1, help="default 1")
    demo.add_argument(
        "--invalid-rate",
        type=float,
        default=DEMO_INVALID_RATE,
        help="this fraction of requests carries one realistic client mistake (default "
        "%(default)s; 0 for none)",
    )
    demo.add_argument(
        "--sloppy-rate",
        type=float,
        default=DEMO_SLOPPY_RATE,
        help="this fraction of requests is valid but draws a warning (default %(default)s; 0 "
        "for none)",
    )


def demo(args: argparse.Namespace) -> int:
    import httpx  # the client side: loaded only for the commands that send

    from mockserver.simulate.demo import Demo
    from mockserver.simulate.demo import run as run_demo

    if args.rate <= 0 or args.sessions < 1:
        return _fail("demo", "--rate must be more than 0 and --sessions at least 1")
    if not (0 <= args.invalid_rate <= 1 and 0 <= args.sloppy_rate <= 1):
        return _fail("demo", "--invalid-rate and --sloppy-rate are fractions from 0 to 1")
    demo = Demo(args.port, args.db, args.sessions, args.rate, args.seed, args.invalid_rate,
                args.sloppy_rate)  # fmt: skip
    try:
        return run_demo(demo)
    except (RuntimeError, httpx.HTTPError) as exc:
        return _fail("demo", str(exc))


def _duration(text: str) -> int:
    """``90s``, ``10m``, ``2h``, ``7d`` (or plain seconds) as milliseconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use 90s, 10m, 2h or 7d") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return round(value * units[unit] * 1000)


def simulate(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import httpx  # the client side: loaded only for the commands that send

    from mockserver.simulate.catalogue import Catalogue
    from mockserver.simulate.payloads import Credentials
    from mockserver.simulate.sender import send
    from mockserver.simulate.traffic import Plan, live_outline, requests

    if not (0 <= args.invalid_rate <= 1 and 0 <= args.sloppy_rate <= 1):
        return _fail("simulate", "--invalid-rate and --sloppy-rate are fractions from 0 to 1")
    if args.rate <= 0:
        return _fail("simulate", "--rate must be more than 0")
    try:
        start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC)
    except ValueError:
        return _fail("simulate", f"--start {args.start!r}: use ISO 8601, 2026-11-30T12:00:00Z")
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    start_ms = round(start.timestamp() * 1000)
    plan = Plan(
        start_ms=start_ms,
        seed=args.seed,
        vendors=(args.vendor,) if args.vendor else tuple(VENDOR_NAMES),
        sessions=args.sessions,
        backfill_ms=args.backfill,
        duration_ms=args.duration,
        rate=args.rate,
        invalid_rate=args.invalid_rate,
        sloppy_rate=args.sloppy_rate,
        namespace=args.namespace,
        tenant=args.tenant,
        credentials=Credentials(args.lucidworks_token, args.neuralens_key),
    )
    live = None if args.backfill else start_ms
    catalogue = Catalogue.load()
    if live is not None:
        print(f"mockserver simulate: {live_outline(plan, catalogue)}", file=sys.stderr)
    try:
        tally = send(args.url, requests(plan, catalogue), live_from_ms=live)
    except KeyboardInterrupt as stopped:
        if stopped.args:
            print(f"stopped: {stopped.args[0].line()}", file=sys.stderr)
        return 130
    except httpx.HTTPError as exc:
        return _fail("simulate", f"cannot reach {args.url} ({exc}); start it with make run")
    print(tally.line(), file=sys.stderr)
    for problem in tally.unexpected[:5]:
        print(f"  unexpected: {problem}", file=sys.stderr)
    return 1 if tally.unexpected else 0


def _settings(args: argparse.Namespace, **defaults: object) -> Settings:
    flags = {
        "host": args.host,
        "port": args.port,
        "db": args.db,
        "max_body_bytes": args.max_body_bytes,
        "profile": args.profile,
        "admin_token": args.admin_token,
        "admin_token_file": args.admin_token_file,
        "workers": getattr(args, "workers", None),
        "neuralens_keys": tuple(args.neuralens_keys) if args.neuralens_keys else None,
        "lucidworks_tokens": tuple(args.lucidworks_tokens) if args.lucidworks_tokens else None,
        "cors_origins": tuple(args.cors_origins) if args.cors_origins else None,
        "faults": tuple(args.faults) if args.faults else None,
        "fault_seed": args.fault_seed,
        "upstreams": tuple(args.upstreams) if args.upstreams else None,
        "upstream_mode": args.upstream_mode,
        "upstream_ca": args.upstream_ca,
        "upstream_timeout": args.upstream_timeout,
    }
    for name, value in defaults.items():
        if flags.get(name) is None:
            flags[name] = value
    return Settings.load(flags, os.environ, args.config)


def _fail(command: str, message: str) -> int:
    print(f"mockserver {command}: {message}", file=sys.stderr)
    return 2


def serve(args: argparse.Namespace) -> int:
    try:
        return _serve(args)
    except KeyboardInterrupt:  # Ctrl-C, starting or serving (uvicorn stops, then raises it)
        return 130


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        app = serving.prepare(settings)
    except ValueError as exc:
        return _fail("serve", str(exc))
    try:
        sock = serving.bind(settings)
    except OSError as exc:
        return _fail(
            "serve",
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
            "choose another --port (0 picks a free one)",
        )
    _print_banner(settings, sock.getsockname()[1])
    serving.serve(settings, app, sock, args.log_level)
    return 0


def _print_banner(settings: Settings, port: int) -> None:
    base = f"http://{_url_host(settings.host)}:{port}"
    if settings.exposed_without_admin_token:
        print(
            f"mockserver serve: warning: listening on {settings.host}, beyond this machine, "
            "without --admin-token: anyone who reaches this port can read and reset what was "
            "recorded. Set --admin-token, or --host 127.0.0.1.",
            file=sys.stderr,
        )
    print(f"mockserver listening on {base}  (store: {redacted(settings.db)})")
    print(f"  dashboard   {base}{UI_PATH}/")
    for spec in VENDORS:
        print(f"  {spec.name.capitalize():<11} {spec.served.replace(' ', f' {base}', 1)}")
    print(
        f"  inspect     GET  {base}/_mock/events   {base}/_mock/rejections   {base}/_mock/summary"
    )
    sys.stdout.flush()


def validate(args: argparse.Namespace) -> int:
    payloads = []
    for name in args.files:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            return _fail("validate", f"cannot read {name}: {exc.strerror}")
        payloads += read_payloads(name, data)
    contracts = load_contracts(Settings().schema_dir, args.profile)
    results = list(check(payloads, contracts, args.vendor, args.endpoint, args.max_body_bytes))
    print(format_json(results) if args.format == "json" else format_human(results))
    return exit_status(results, args.fail_on_warnings)


def _write_reports(args: argparse.Namespace, traffic: Traffic, settings: Settings) -> str:
    from mockserver.ci.reports import json_report, junit_xml, markdown_report, summary

    data = summary(traffic, load_contracts(settings.schema_dir))
    if args.junit:
        args.junit.write_text(junit_xml(traffic, args.fail_on_warnings), encoding="utf-8")
    if args.json:
        args.json.write_text(json_report(data), encoding="utf-8")
    markdown = markdown_report(data)
    if args.markdown:
        args.markdown.write_text(markdown, encoding="utf-8")
    return markdown


def run(args: argparse.Namespace) -> int:
    # Imported here, as in report: the client side (httpx) has no place in a serving process.
    import httpx

    from mockserver.ci.reports import traffic_from_store
    from mockserver.testing.client import describe_disagreements
    from mockserver.testing.server import MockServer

    command = args.command_line[1:] if args.command_line[:1] == ["--"] else args.command_line
    if not command:
        return _fail("run", "give the command to run after --, e.g. mockserver run -- pytest")
    try:
        settings = _settings(args, port=0, db=":memory:")
    except ValueError as exc:
        return _fail("run", str(exc))
    store = open_store(settings.db, ANALYTICS)
    try:
        with MockServer(settings, store) as server:
            urls = {
                "MOCKSERVER_URL": server.url,
                "NEURALENS_BASE_URL": server.neuralens_base_url,  # append the vendor's paths
                "LUCIDWORKS_BASE_URL": server.lucidworks_base_url(),
                "NEURALENS_EVENT_URL": server.neuralens_event_url,  # the endpoint itself
                "NEURALENS_API_URL": server.url,  # the base URLs' older names, for old scripts
                "LUCIDWORKS_SIGNALS_URL": server.url,
            }
            print(
                f"mockserver run: serving on {server.url} for: {' '.join(command)}", file=sys.stderr
            )
            try:
                completed = subprocess.run(command, env={**os.environ, **urls}, check=False)  # noqa: S603
            except OSError as exc:
                return _fail("run", f"cannot run {command[0]!r}: {exc.strerror}")
            if settings.upstreams:  # the upstream calls still in flight, recorded before stopping
                wait = settings.upstream_timeout + 5
                httpx.get(f"{server.url}/_mock/upstream?limit=1", timeout=wait)
        traffic = traffic_from_store(store)
        disagreements = store.upstream_calls({"outcome": DISAGREE}, limit=1000).rows
    finally:
        store.close()
    print(_write_reports(args, traffic, settings), file=sys.stderr)
    if completed.returncode != 0:
        return completed.returncode
    if disagreements:
        print(f"mockserver run: {describe_disagreements(disagreements)}", file=sys.stderr)
        return 1
    if not traffic.events and not traffic.rejections and not args.allow_empty:
        print(
            "mockserver run: the command sent no request to the mock; failing (point the app "
            "at NEURALENS_BASE_URL / LUCIDWORKS_BASE_URL, or --allow-empty)",
            file=sys.stderr,
        )
        return 1
    if traffic.rejections and not args.allow_rejections:
        print(
            f"mockserver run: the mock rejected {plural(len(traffic.rejections), 'request')}; "
            "failing (--allow-rejections to only report)",
            file=sys.stderr,
        )
        return 1
    return _warnings_status("run", traffic, args.fail_on_warnings)


def report(args: argparse.Namespace) -> int:
    from mockserver.ci.reports import traffic_from_store, traffic_from_url

    settings = Settings()
    if args.url:
        try:
            traffic = traffic_from_url(args.url, args.namespace)
        except ValueError as exc:
            return _fail("report", str(exc))
    else:
        if args.db != ":memory:" and "://" not in args.db and not Path(args.db).is_file():
            return _fail("report", f"no database at {args.db}; give the --db the server used")
        store = open_store(args.db, ANALYTICS)
        try:
            traffic = traffic_from_store(store, args.namespace)
        finally:
            store.close()
    print(_write_reports(args, traffic, settings), end="")
    if args.fail_on_rejections and traffic.rejections:
        print(
            f"mockserver report: the mock rejected {plural(len(traffic.rejections), 'request')}; "
            "failing (--fail-on-rejections)",
            file=sys.stderr,
        )
        return 1
    return _warnings_status("report", traffic, args.fail_on_warnings)


def _warnings_status(command: str, traffic: Traffic, fail: bool) -> int:
    """1 when asked to fail on warnings and there are some; a line about them either way."""
    warned = traffic.warned_events()
    if not warned:
        return 0
    events = plural(len(warned), "event")
    if fail:
        print(f"mockserver {command}: the mock accepted {events} with signal-quality warnings; "
              "failing (--fail-on-warnings)", file=sys.stderr)  # fmt: skip
        return 1
    print(f"mockserver {command}: the mock accepted {events} with signal-quality warnings "
          "(reported only; --fail-on-warnings fails on them)", file=sys.stderr)  # fmt: skip
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "serve": serve, "validate": validate, "run": run, "report": report, "simulate": simulate,
        "demo": demo, "check-shared": check_shared, "probe": probe,
    }  # fmt: skip
    try:
        return commands[args.command](args)
    except BrokenPipeError:
        # `mockserver validate … | head`: the reader left. Point stdout at devnull, as Python's
        # docs advise, so the interpreter's last flush does not raise again; exit as a shell
        # reports a process that SIGPIPE ended.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
