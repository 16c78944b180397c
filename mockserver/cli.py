"""The ``mockserver`` command: a thin shell over the library."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from mockserver.app import create_app
from mockserver.checking import VENDORS, UsageError, check, format_human, format_json, read_payloads
from mockserver.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, Settings
from mockserver.validation import PROFILES, load_contracts

SERVE_EPILOG = """\
examples:
  mockserver serve                                  # http://127.0.0.1:8080, ./mockserver.db
  mockserver serve --port 9000 --db :memory:        # throwaway store
  mockserver serve --neuralens-key k1 --lucidworks-token t1   # only these credentials pass

point your app at:
  Neuralens   http://127.0.0.1:8080/analytics/event
  Lucidworks  http://127.0.0.1:8080/retail/signals/{click,query,cartadd,purchase}
              (signal store id from the Host: http://mystore.localhost:8080/...)
  isolated    http://127.0.0.1:8080/ns/<name>/...  (any of the above, in namespace <name>)
  inspect     http://127.0.0.1:8080/_mock/events, /_mock/rejections, /_mock/summary

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockserver",
        description="A local Neuralens and Lucidworks event API that validates like the real "
        "services and records every event and rejection in SQLite.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="start the mock server",
        description="Start the mock server and print the URLs it serves.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument(
        "--port", type=int, help=f"port to bind, 0 for any free one (default {DEFAULT_PORT})"
    )
    serve.add_argument("--db", help="SQLite file, or :memory: (default ./mockserver.db)")
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        help=f"larger request bodies get 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    serve.add_argument(
        "--neuralens-key",
        action="append",
        dest="neuralens_keys",
        metavar="KEY",
        help="accept only this Neuralens API key (repeatable; default: any non-empty key)",
    )
    serve.add_argument(
        "--lucidworks-token",
        action="append",
        dest="lucidworks_tokens",
        metavar="TOKEN",
        help="accept only this Lucidworks embed token (repeatable; default: any non-empty token)",
    )
    serve.add_argument(
        "--profile",
        choices=PROFILES,
        help="strict (default): every rule the real service may run; lenient: only what it "
        "surely refuses (see README, Profiles)",
    )
    serve.add_argument("--config", type=Path, help="TOML file with any of the settings above")
    serve.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")

    validate = commands.add_parser(
        "validate",
        help="check payload files offline, without a server",
        description="Check request bodies against the same contracts the server runs. Exit 0 "
        "when all are valid, 1 when any is invalid, 2 when the command cannot run as asked.",
        epilog=VALIDATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="JSON or NDJSON file, or - for stdin"
    )
    validate.add_argument("--vendor", choices=VENDORS, help="default: inferred from each body")
    validate.add_argument(
        "--endpoint",
        choices=("event", "click", "query", "cartadd", "purchase"),
        help="default: from the file name (query-x.json), else the body's fields",
    )
    validate.add_argument("--profile", choices=PROFILES, default="strict", help="default strict")
    validate.add_argument("--format", choices=("human", "json"), default="human")
    return parser


def validate(args: argparse.Namespace) -> int:
    payloads = []
    for name in args.files:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            print(f"mockserver validate: cannot read {name}: {exc.strerror}", file=sys.stderr)
            return 2
        payloads += read_payloads(name, data)
    contracts = load_contracts(Settings().schema_dir, args.profile)
    try:
        results = list(check(payloads, contracts, args.vendor, args.endpoint))
    except UsageError as exc:
        print(f"mockserver validate: {exc}", file=sys.stderr)
        return 2
    print(format_json(results) if args.format == "json" else format_human(results))
    return 0 if all(result.ok for result in results) else 1


def serve(args: argparse.Namespace) -> int:
    flags = {
        "host": args.host,
        "port": args.port,
        "db": args.db,
        "max_body_bytes": args.max_body_bytes,
        "profile": args.profile,
        "neuralens_keys": tuple(args.neuralens_keys) if args.neuralens_keys else None,
        "lucidworks_tokens": tuple(args.lucidworks_tokens) if args.lucidworks_tokens else None,
    }
    try:
        settings = Settings.load(flags, os.environ, args.config)
        app = create_app(settings)
    except ValueError as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    try:
        sock = socket.create_server((settings.host, settings.port))
    except OSError as exc:
        print(
            f"mockserver: cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
            "choose another --port (0 picks a free one)",
            file=sys.stderr,
        )
        return 2
    port = sock.getsockname()[1]
    base = f"http://{_url_host(settings.host)}:{port}"
    print(f"mockserver listening on {base}  (store: {settings.db})")
    print(f"  Neuralens   POST {base}/analytics/event")
    print(f"  Lucidworks  POST {base}/retail/signals/{{click,query,cartadd,purchase}}")
    print(
        f"  inspect     GET  {base}/_mock/events   {base}/_mock/rejections   {base}/_mock/summary"
    )
    sys.stdout.flush()
    config = uvicorn.Config(app, log_level=args.log_level, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"serve": serve, "validate": validate}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
