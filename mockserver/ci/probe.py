"""``mockserver probe``: which reading of each profile rule the real service follows.

The strict and lenient profiles differ by the rules of docs/validation.md's profiles table:
strict refuses what some layer the real service may run would refuse, lenient only what it
surely refuses. Only the service itself can say which it runs. The probe builds a corpus of
boundary bodies from a valid signal (fields null, absent, of the wrong type or case, keys
repeated, numbers spelled ``1.0``, invalid UTF-8, data after the JSON), keeps those the two
profiles judge otherwise for exactly one rule (and a few both accept or both refuse, as
controls), sends each to the service, and reads, rule by rule, whether it refused them
(strict's reading) or accepted them (lenient's).

It writes test signals into the service's store: point it at one kept for testing.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from mockserver.validation import Contracts
from mockserver.validation.profiles import strict_only_rules

PER_RULE = 8  # bodies kept for each rule (a Lucidworks click: 49 in all, a Neuralens event: 27)
CONTROLS = 6  # bodies both profiles accept, and as many both refuse
BOTH_ACCEPT, BOTH_REFUSE = "(both accept)", "(both refuse)"
PATHS = {"lucidworks": "/retail/signals/click", "neuralens": "/analytics/event"}


@dataclass(frozen=True)
class Raw:
    """A token written as is: ``1.0``, invalid bytes."""

    text: bytes


class Obj(list[tuple[str, Any]]):
    """A JSON object as (key, value) pairs in order: a key may repeat."""


def write(value: Any) -> bytes:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return b"{" + b",".join(write(k) + b":" + write(v) for k, v in value) + b"}"
    if isinstance(value, dict):
        return write(Obj(value.items()))
    if isinstance(value, list):
        return b"[" + b",".join(write(v) for v in value) + b"]"
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Probe:
    rule: str  # the profiles table's rule it tells about, or BOTH_ACCEPT / BOTH_REFUSE
    what: str  # the change made to the valid signal, in a few words
    body: bytes
    strict: int  # the mock's status under each profile
    lenient: int


@dataclass(frozen=True)
class Answer:
    probe: Probe
    status: int | None  # None: no reply (the error says why)
    error: str | None = None


def _objects(value: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in ``value`` with its path (an array's first element only)."""
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from _objects(child, f"{path}.{key}")
    elif isinstance(value, list) and value:
        yield from _objects(value[0], f"{path}[0]")


def _changed(valid: Any, path: str, change: Callable[[dict[str, Any]], Any]) -> Any:
    """A copy of ``valid`` whose object at ``path`` is replaced by ``change(object)``."""
    body = copy.deepcopy(valid)

    def visit(value: Any, here: str) -> Any:
        if here == path:
            return change(value)
        if isinstance(value, dict):
            return {k: visit(v, f"{here}.{k}") for k, v in value.items()}
        if isinstance(value, list) and value:
            return [visit(value[0], f"{here}[0]"), *value[1:]]
        return value

    return visit(body, "$")


def _pairs(obj: dict[str, Any], key: str, change: str, new: Any = None) -> Obj:
    """``obj``'s pairs with ``key`` set to ``new``, left out, renamed to ``new``, or twice."""
    pairs = Obj()
    for k, v in obj.items():
        if k != key:
            pairs.append((k, v))
        elif change == "set":
            pairs.append((k, new))
        elif change == "rename":
            pairs.append((new, v))
        elif change == "repeat":
            pairs += [(k, v), (k, v)]
    return pairs


def _mutations(valid: Any) -> Iterator[tuple[str, bytes, bytes | None]]:
    """(what, body, read) for each boundary change of ``valid``; ``read``: the body as a
    decoder that repairs what it may would read it, where that is another body."""
    for path, obj in list(_objects(valid)):
        for key, value in obj.items():
            at = f"{path}.{key}"

            def body(change: str, new: Any = None, key: str = key, path: str = path) -> bytes:
                return write(_changed(valid, path, lambda o: _pairs(o, key, change, new)))

            cased = key[0].swapcase() + key[1:]
            yield f"{at} null", body("set", None), None
            yield f"{at} absent", body("drop"), None
            yield f"{at} written {cased}", body("rename", cased), None
            yield f"{at} given twice", body("repeat"), None
            if isinstance(value, str):
                yield f"{at} a number", body("set", 1), None
                if value != value.lower():
                    yield f"{at} lower case", body("set", value.lower()), None
                # Go reads invalid UTF-8 as U+FFFD, which the field's own rules then judge
                yield f"{at} invalid UTF-8", body("set", Raw(b'"\xff"')), body("set", "\ufffd")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                yield f"{at} a string", body("set", str(value)), None
                if isinstance(value, int):
                    yield f"{at} as {value}.0", body("set", Raw(f"{value}.0".encode())), None
    yield "data after the JSON", write(valid) + b" {}", None
    yield "a byte-order mark first", b"\xef\xbb\xbf" + write(valid), None


def corpus(vendor: str, valid: Any, strict: Contracts, lenient: Contracts) -> list[Probe]:
    """The bodies that tell one rule's readings apart, and the controls."""
    contract = {"lucidworks": lambda c: c.lucidworks["click"], "neuralens": lambda c: c.neuralens}
    judge_strict, judge_lenient = contract[vendor](strict), contract[vendor](lenient)
    kept: dict[str, list[Probe]] = {}
    for what, body, read in _mutations(valid):
        if read is not None and judge_strict.validate(read).errors:
            continue  # as read, it breaks another rule too: it would tell two at once
        strict_errors = judge_strict.validate(body).errors
        lenient_errors = judge_lenient.validate(body).errors
        if not strict_errors and not lenient_errors:
            rule, limit = BOTH_ACCEPT, CONTROLS
        elif strict_errors and lenient_errors:
            rule, limit = BOTH_REFUSE, CONTROLS
        elif strict_errors:
            rules = [strict_only_rules(e, vendor) for e in strict_errors]
            names = {r.name for found in rules for r in found}
            if len(names) != 1 or not all(rules):
                continue  # two rules at once, or an error no rule claims: tells nothing
            rule, limit = names.pop(), PER_RULE
        else:
            continue
        if len(kept.setdefault(rule, [])) < limit:
            status = (400 if strict_errors else 202), (400 if lenient_errors else 202)
            kept[rule].append(Probe(rule, what, body, *status))
    return [probe for probes in kept.values() for probe in probes]


def send(
    url: str,
    probes: Sequence[Probe],
    headers: Mapping[str, str],
    timeout: float = 10.0,
    verify: Any = True,
) -> list[Answer]:
    """Each probe POSTed to ``url``, one at a time."""
    answers = []
    with httpx.Client(timeout=timeout, verify=verify) as client:
        for probe in probes:
            try:
                reply = client.post(url, content=probe.body, headers=dict(headers))
            except httpx.HTTPError as exc:
                answers.append(Answer(probe, None, f"{type(exc).__name__}: {exc}"))
                continue
            answers.append(Answer(probe, reply.status_code))
            time.sleep(0.01)  # a courtesy to a real service
    return answers


def readings(answers: Sequence[Answer]) -> dict[str, str]:
    """For each rule, the reading the service follows: strict (it refused every body the
    rule refuses with a 400), lenient (it accepted them all), mixed, or unknown (no reply,
    or another status: a 401, a 429, a 5xx); for the controls, whether it agreed with both
    profiles."""
    verdicts: dict[str, set[str]] = {}
    for answer in answers:
        status = answer.status
        # Only a 400 (or 422) judged the body: a 401 says the token is wrong, a 429 to wait.
        verdict = (
            "accepts" if status is not None and 200 <= status < 300
            else "refuses" if status in (400, 422) else "unknown"
        )  # fmt: skip
        verdicts.setdefault(answer.probe.rule, set()).add(verdict)
    named = {frozenset({"refuses"}): "strict", frozenset({"accepts"}): "lenient"}
    result = {}
    for rule, seen in verdicts.items():
        known = frozenset(seen - {"unknown"})
        if rule in (BOTH_ACCEPT, BOTH_REFUSE):
            expected = "accepts" if rule == BOTH_ACCEPT else "refuses"
            result[rule] = (
                "agrees" if known == {expected} else "unknown" if not known else "differs"
            )
        else:
            result[rule] = named.get(known, "unknown" if not known else "mixed")
    return result


def report(url: str, answers: Sequence[Answer]) -> str:
    """Markdown: the reading of each rule, then every body with the three verdicts."""

    def status(code: int | None, error: str | None = None) -> str:
        return str(code) if code is not None else f"no reply ({error})"

    lines = [
        f"# mockserver probe of {url}",
        "",
        "| rule | bodies | production follows |",
        "|---|---:|---|",
    ]
    found = readings(answers)
    for rule, reading in found.items():
        count = sum(1 for a in answers if a.probe.rule == rule)
        lines.append(f"| {rule} | {count} | {reading} |")
    lines += [
        "",
        "| rule | body | mock strict | mock lenient | upstream |",
        "|---|---|---|---|---|",
    ]
    for a in answers:
        body = a.probe.body[:80].decode("utf-8", "replace").replace("|", "\\|")
        lines.append(
            f"| {a.probe.rule} | {a.probe.what}: `{body}` | {a.probe.strict} | "
            f"{a.probe.lenient} | {status(a.status, a.error)} |"
        )
    return "\n".join(lines) + "\n"
