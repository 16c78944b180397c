"""``mockserver probe`` (ci/probe.py): the corpus, the readings, and the command's refusals.
Against Go itself: tests/test_goref_differential.py."""

from __future__ import annotations

import pytest

from mockserver.ci.probe import BOTH_ACCEPT, BOTH_REFUSE, corpus, readings, send
from mockserver.cli import PROBED, main
from mockserver.settings import Settings, data_dir
from mockserver.testing.server import MockServer
from mockserver.validation import Contracts, load_contracts
from mockserver.validation.profiles import STRICT_ONLY
from tests.conftest import LUCIDWORKS_HEADERS, load_fixture

LENIENT = load_contracts(data_dir() / "schemas", "lenient")


@pytest.mark.parametrize("vendor", ["lucidworks", "neuralens"])
def test_each_probe_tells_one_rule_as_the_two_profiles_judge_it(
    vendor: str, contracts: Contracts
) -> None:
    probes = corpus(vendor, load_fixture(vendor, "valid", PROBED[vendor]), contracts, LENIENT)
    rules = {probe.rule for probe in probes}
    own = {rule.name for rule in STRICT_ONLY if vendor in rule.vendors}
    assert {BOTH_ACCEPT, BOTH_REFUSE} <= rules
    assert rules - {BOTH_ACCEPT, BOTH_REFUSE} <= own
    for probe in probes:
        expected = {BOTH_ACCEPT: (202, 202), BOTH_REFUSE: (400, 400)}.get(probe.rule, (400, 202))
        assert (probe.strict, probe.lenient) == expected, probe.what
    if vendor == "lucidworks":  # the classes the issue names are all there
        whats = " ".join(probe.what for probe in probes)
        for change in ("ipAddress null", "given twice", "invalid UTF-8", "data after the JSON"):
            assert change in whats
        assert len(rules) >= 10


@pytest.mark.parametrize("profile", ["strict", "lenient"])
def test_a_mockserver_as_the_service_reads_as_its_own_profile_on_every_rule(
    profile: str, contracts: Contracts
) -> None:
    probes = corpus("lucidworks", load_fixture("lucidworks", "valid", "click-full.json"),
                    contracts, LENIENT)  # fmt: skip
    with MockServer(Settings(profile=profile)) as service:
        url = f"{service.url}/retail/signals/click"
        found = readings(send(url, probes, LUCIDWORKS_HEADERS))
    assert found.pop(BOTH_ACCEPT) == found.pop(BOTH_REFUSE) == "agrees"
    assert set(found.values()) == {profile}


def test_a_wrong_token_reads_unknown_not_strict_and_the_command_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with MockServer(Settings(profile="lenient", lucidworks_tokens=("right",))) as service:
        argv = ["probe", "--upstream", service.url, "--yes", "--lucidworks-token", "wrong"]
        assert main(argv) == 1
    said = capsys.readouterr()
    assert "| openapi-null | 8 | unknown |" in said.out  # every body got a 401
    assert "| (both accept) | 5 | unknown |" in said.out
    assert "check the URL and the credentials" in said.err


def test_a_rule_without_replies_reads_unknown_and_the_command_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with MockServer() as gone:
        url = gone.url
    assert main(["probe", "--upstream", url, "--yes", "--lucidworks-token", "t"]) == 1
    assert "| openapi-null | 8 | unknown |" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--upstream", "https://{store}.applications.lucidworks.com"], "give --store"),
        (["--upstream", "ftp://x"], "http:// or https://"),
        (["--upstream", "http://127.0.0.1:9"], "give --yes to send them"),  # stdin is no tty
    ],
)
def test_the_probe_refuses_what_it_cannot_do_saying_what_to_give(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", *argv]) == 2
    assert says in capsys.readouterr().err
