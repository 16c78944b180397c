"""Reply: a vendor's answer as the two ASGI messages that carry it."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.types import Message

from mockserver.vendors.reply import NO_REPLY, Reply


def _sent(reply: Reply) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(reply.send(send))
    return sent


def test_a_reply_is_sent_as_its_start_then_its_whole_body() -> None:
    reply = Reply.json(400, {"status": "failure"})
    assert _sent(reply) == [
        {"type": "http.response.start", "status": 400, "headers": reply.headers},
        {"type": "http.response.body", "body": b'{"status":"failure"}'},
    ]


def test_a_reply_without_a_body_says_its_length_is_zero() -> None:
    assert Reply(202).headers == ((b"content-length", b"0"),)
    assert _sent(Reply(202))[1]["body"] == b""


def test_a_json_reply_is_compact_utf_8_with_its_length_and_type() -> None:
    reply = Reply.json(200, {"message": "café", "n": [1, 2]})
    assert reply.status == 200
    assert reply.body == '{"message":"café","n":[1,2]}'.encode()
    assert reply.headers == (
        (b"content-length", str(len(reply.body)).encode()),
        (b"content-type", b"application/json"),
    )


def test_a_json_reply_takes_a_media_type_and_headers_named_in_lower_case() -> None:
    reply = Reply.json(
        413, {"title": "x"}, "application/problem+json", {"Connection": "close", "Allow": "POST"}
    )
    assert dict(reply.headers) == {
        b"content-length": b"13",
        b"content-type": b"application/problem+json",
        b"connection": b"close",
        b"allow": b"POST",
    }
    assert json.loads(reply.body) == {"title": "x"}


def test_a_json_reply_refuses_a_number_json_cannot_carry() -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        Reply.json(200, {"n": float("nan")})


def test_no_reply_is_a_reply_of_no_status() -> None:
    assert NO_REPLY.status == 0
    assert NO_REPLY.body == b""
