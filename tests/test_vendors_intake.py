"""Intake: the bounded body, the fingerprinted credentials, the namespace and the endpoint."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence

import pytest
from starlette.types import Message, Scope

from mockserver import jsontext
from mockserver.validation import FieldError
from mockserver.vendors.intake import (
    DEFAULT_NAMESPACE,
    MAX_HEADER_BYTES,
    STORED_HEADER_CHARS,
    BodyTooLarge,
    ClientDisconnected,
    Intake,
    as_sent,
    drain,
    fingerprint,
    header_bytes,
    http_error,
    is_credential,
    is_known,
    plain_messages,
    read_body,
    safe_headers,
    take_prefix,
)

SALT = b"store-salt"


class Sender:
    """An ASGI ``receive`` that hands out ``messages`` in order and counts what was read."""

    def __init__(self, messages: Sequence[Message]) -> None:
        self.messages = list(messages)
        self.read = 0

    async def __call__(self) -> Message:
        self.read += 1
        return self.messages.pop(0)


def _chunks(*bodies: bytes) -> list[Message]:
    last = len(bodies) - 1
    return [
        {"type": "http.request", "body": body, "more_body": index < last}
        for index, body in enumerate(bodies)
    ]


def _scope(headers: Sequence[tuple[bytes, bytes]] = (), method: str = "POST") -> Scope:
    return {"type": "http", "method": method, "path": "/", "headers": list(headers)}


def _intake(
    messages: Sequence[Message] = (), headers: Sequence[tuple[bytes, bytes]] = ()
) -> tuple[Intake, Sender]:
    receive = Sender(messages)
    return Intake.of(_scope(headers), receive, "lucidworks", "/retail/signals/click"), receive


def _read(intake: Intake, limit: int) -> bytes:
    return asyncio.run(read_body(intake, limit))


# -- the body ------------------------------------------------------------------------------


def test_a_body_sent_in_chunks_is_read_whole() -> None:
    intake, _ = _intake(_chunks(b"[{", b'"a":', b"1}]"))
    assert _read(intake, 100) == b'[{"a":1}]'


def test_a_body_sent_without_more_body_ends_at_its_first_message() -> None:
    intake, receive = _intake([{"type": "http.request", "body": b"[]"}])
    assert _read(intake, 100) == b"[]"
    assert receive.read == 1


def test_a_message_without_a_body_adds_nothing() -> None:
    intake, _ = _intake([{"type": "http.request", "more_body": True}, *_chunks(b"[]")])
    assert _read(intake, 2) == b"[]"


def test_a_body_exactly_at_the_limit_is_read_and_a_byte_more_is_refused_unread() -> None:
    intake, _ = _intake(_chunks(b"12345", b"67890"))
    assert _read(intake, 10) == b"1234567890"
    over, receive = _intake(_chunks(b"12345", b"678901", b"more"))
    with pytest.raises(BodyTooLarge) as refused:
        _read(over, 10)
    assert str(refused.value) == "the body is over the limit of 10 bytes (--max-body-bytes)"
    assert refused.value.rest_unread  # more of it is still on its way
    assert receive.read == 2  # never read further than the limit


def test_a_body_over_the_limit_in_its_last_chunk_has_nothing_left_unread() -> None:
    intake, _ = _intake(_chunks(b"12345", b"678901"))
    with pytest.raises(BodyTooLarge) as refused:
        _read(intake, 10)
    assert not refused.value.rest_unread


def test_a_declared_length_over_the_limit_is_refused_before_anything_is_read() -> None:
    intake, receive = _intake(_chunks(b"x" * 11), [(b"content-length", b"11")])
    with pytest.raises(BodyTooLarge) as refused:
        _read(intake, 10)
    assert str(refused.value) == (
        "the body is 11 bytes, over the limit of 10 bytes (--max-body-bytes)"
    )
    assert refused.value.rest_unread
    assert receive.read == 0


@pytest.mark.parametrize("declared", [b"10", b"abc", b"-5"])
def test_a_declared_length_at_the_limit_or_not_a_number_is_read_as_sent(declared: bytes) -> None:
    intake, _ = _intake(_chunks(b"1234567890"), [(b"content-length", declared)])
    assert _read(intake, 10) == b"1234567890"


def test_a_client_gone_mid_body_is_a_client_disconnected() -> None:
    intake, _ = _intake([*_chunks(b"12", b"34")[:1], {"type": "http.disconnect"}])
    with pytest.raises(ClientDisconnected):
        _read(intake, 10)


def _drained(messages: Sequence[Message], limit: int, **headers: str) -> int:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    intake, receive = _intake(messages, raw)
    asyncio.run(drain(intake, limit))
    return receive.read


def test_drain_reads_a_refused_body_to_its_end() -> None:
    assert _drained(_chunks(b"a", b"b", b"c", b"d"), 100) == 4


def test_drain_stops_once_it_has_read_its_limit() -> None:
    assert _drained(_chunks(b"12345", b"67890", b"more", b"more"), 10) == 2
    assert _drained(_chunks(b"12345", b"6789", b"0", b"more"), 10) == 3


def test_drain_stops_at_a_disconnect() -> None:
    assert _drained([{"type": "http.disconnect"}, *_chunks(b"never")], 100) == 1


def test_drain_reads_a_message_without_a_body_as_empty() -> None:
    assert _drained([{"type": "http.request", "more_body": True}, *_chunks(b"end")], 100) == 2


def test_drain_takes_a_message_that_does_not_say_more_body_for_the_last() -> None:
    assert _drained([{"type": "http.request", "body": b"end"}, *_chunks(b"never")], 100) == 1


@pytest.mark.parametrize("expect", ["100-continue", " 100-Continue "])
def test_drain_reads_nothing_from_a_client_waiting_for_100_continue(expect: str) -> None:
    assert _drained(_chunks(b"body"), 100, expect=expect) == 0


def test_drain_reads_nothing_of_a_body_declared_over_its_limit() -> None:
    assert _drained(_chunks(b"x" * 11), 10, content_length="11") == 0
    assert _drained(_chunks(b"x" * 10), 10, content_length="10") == 1


# -- the headers ---------------------------------------------------------------------------


def test_a_fingerprint_names_a_secret_by_a_salted_hmac_prefix() -> None:
    print_ = fingerprint("embed-token-123", SALT)
    assert re.fullmatch(r"hmac-sha256:[0-9a-f]{16}", print_)
    assert print_ == fingerprint("embed-token-123", SALT)
    assert print_ != fingerprint("embed-token-124", SALT)
    assert print_ != fingerprint("embed-token-123", b"another-store")
    # A lone surrogate (a header is latin-1, but a secret may come from anywhere) is no crash.
    assert fingerprint("\ud800", SALT) == fingerprint("?", SALT)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization", "X-Neuralens-API-Key", "Cookie", "Set-Cookie", "X-Api-Token",
        "X-Credentials", "X-Jwt", "X-Signature", "X-Session-Id", "X-Access-Code",
        "X-Client-Secret", "X-Password", "X-Passwd", "X-Bearer",
    ],
)  # fmt: skip
def test_a_header_named_like_a_credential_is_one(name: str) -> None:
    assert is_credential(name)
    assert is_credential(name.lower())


@pytest.mark.parametrize("name", ["Content-Type", "Accept", "Host", "User-Agent", "X-Request-Id"])
def test_a_header_named_like_no_credential_is_kept(name: str) -> None:
    assert not is_credential(name)


def test_stored_headers_fingerprint_credentials_and_cut_long_values() -> None:
    long = "v" * (STORED_HEADER_CHARS + 1)
    edge = "e" * STORED_HEADER_CHARS
    stored = safe_headers(
        {"authorization": "tok", "accept": "application/json", "x-long": long, "x-edge": edge},
        SALT,
    )
    assert stored == {
        "authorization": fingerprint("tok", SALT),
        "accept": "application/json",
        "x-long": "v" * STORED_HEADER_CHARS + f"… ({STORED_HEADER_CHARS + 1} characters in all)",
        "x-edge": edge,
    }


def test_header_bytes_count_each_name_value_and_separators() -> None:
    # "Name: value\r\n": the colon, space, CR and LF are 4 bytes beside the name and value.
    assert header_bytes([(b"host", b"a"), (b"accept", b"json")]) == (4 + 1 + 4) + (6 + 4 + 4)
    assert header_bytes([]) == 0


def test_any_non_empty_secret_is_known_when_none_is_configured() -> None:
    assert is_known("anything", ())
    assert not is_known("", ())


def test_only_a_configured_secret_is_known_when_some_are() -> None:
    assert is_known("k2", ("k1", "k2"))
    assert not is_known("k3", ("k1", "k2"))
    assert not is_known("", ("k1",))


def test_an_intake_reads_the_request_line_and_headers_of_its_scope() -> None:
    receive = Sender([])
    scope = _scope([(b"Accept", b"first"), (b"Accept", b"second"), (b"x-\xe9", b"caf\xe9")], "PUT")
    intake = Intake.of(scope, receive, "neuralens", "/analytics/event", "team-a", "store-1")
    assert intake.method == "PUT"
    assert intake.headers == {"Accept": "first", "x-é": "café"}  # the first of repeated ones
    assert (intake.vendor, intake.endpoint) == ("neuralens", "/analytics/event")
    assert (intake.namespace, intake.signal_store) == ("team-a", "store-1")
    assert intake.receive is receive
    assert intake.header_bytes == header_bytes(scope["headers"])
    assert intake.connection is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", intake.received_at)
    assert intake.request_id


def test_an_intake_without_a_namespace_is_in_the_default_one() -> None:
    intake = Intake.of(_scope(), Sender([]), None, "/x")
    assert intake.namespace == DEFAULT_NAMESPACE == "default"
    assert intake.signal_store is None
    assert intake.request_id != Intake.of(_scope(), Sender([]), None, "/x").request_id


def test_the_header_limit_is_go_s_default() -> None:
    assert MAX_HEADER_BYTES == 1 << 20


# -- the body's text, paths and messages ---------------------------------------------------


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDBFF", "\\udc00", "\\uDfFf"])
def test_a_body_with_a_surrogate_escape_is_stored_as_its_decoded_value(escape: str) -> None:
    text = f'{{"q": "a{escape}b"}}'
    stored = as_sent(text, {"q": "a\ufffdb"})
    assert stored == jsontext.dumps({"q": "a\ufffdb"})
    assert json.loads(stored) == {"q": "a\ufffdb"}


@pytest.mark.parametrize("text", ['{"q": "caf\\u00e9"}', '{"q": "\\ud7ff"}', '{"q" : "\\ue000"}'])
def test_a_body_without_a_surrogate_escape_is_stored_as_sent(text: str) -> None:
    assert as_sent(text, {"ignored": True}) == text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/ns/team-a/analytics/event", ("team-a", "/analytics/event")),
        ("/ns/team-a/", ("team-a", "/")),
        ("/ns/team-a", (None, "/ns/team-a")),  # no path after the name
        ("/ns//analytics/event", (None, "/ns//analytics/event")),  # no name
        ("/analytics/event", (None, "/analytics/event")),
        ("/nsx/a/b", (None, "/nsx/a/b")),
    ],
)
def test_a_prefix_gives_the_name_after_it_and_the_rest_of_the_path(
    path: str, expected: tuple[str | None, str]
) -> None:
    assert take_prefix(path, "/ns/") == expected


def test_an_http_error_is_about_the_whole_request() -> None:
    assert http_error("not-found", "nothing here") == FieldError(
        path="$", rule="not-found", layer="http", message="nothing here"
    )


def test_plain_messages_name_each_body_path_and_join_them() -> None:
    errors = [
        FieldError("$[0].sessionId", "required", "schema", "is required"),
        FieldError("$.items", "type", "schema", "must be an array"),
        FieldError("$", "syntax", "decode", "the body is not JSON"),
        FieldError("header:Accept", "required", "header", "the Accept header is required"),
    ]
    assert plain_messages(errors) == (
        "[0].sessionId: is required; items: must be an array; the body is not JSON; "
        "the Accept header is required"
    )
    assert plain_messages([]) == ""


def test_plain_messages_keep_a_field_name_whole_whatever_letter_it_starts_with() -> None:
    errors = [FieldError("$.XtraField", "unknown", "schema", "is not allowed")]
    assert plain_messages(errors) == "XtraField: is not allowed"


def test_a_body_over_the_limit_in_a_message_that_does_not_say_more_body_is_its_end() -> None:
    # Nothing more is on its way: the 413 goes out at once, without waiting to drain.
    intake, _ = _intake([{"type": "http.request", "body": b"x" * 11}])
    with pytest.raises(BodyTooLarge) as refused:
        _read(intake, 10)
    assert refused.value.rest_unread is False
