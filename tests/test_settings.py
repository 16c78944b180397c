from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.settings import Settings


def test_a_server_loaded_from_flags_defaults_to_8080_a_file_and_loopback() -> None:
    settings = Settings.load()
    assert (settings.host, settings.port, settings.db) == ("127.0.0.1", 8080, "mockserver.db")
    assert settings.max_body_bytes == 1024 * 1024
    assert (settings.schema_dir / "neuralens" / "event.schema.json").is_file()


def test_settings_built_in_code_take_a_free_port_and_keep_no_file() -> None:
    # A conftest's Settings(neuralens_keys=...) must not take 8080 nor write ./mockserver.db.
    assert (Settings().port, Settings().db) == (0, ":memory:")
    assert Settings.from_json(Settings(port=9, db="x.db").to_json()).db == "x.db"


def test_flags_beat_environment_beat_config_file(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text(
        'port = 7000\ndb = "from-config.db"\nhost = "0.0.0.0"\nneuralens_keys = ["c"]\n'
    )
    env = {
        "MOCKSERVER_PORT": "7100",
        "MOCKSERVER_DB": "from-env.db",
        "MOCKSERVER_CONFIG": str(config),
    }
    settings = Settings.load({"port": 7200, "db": None}, env)
    assert settings.port == 7200
    assert settings.db == "from-env.db"
    assert settings.host == "0.0.0.0"
    assert settings.neuralens_keys == ("c",)


def test_credentials_lists_come_comma_separated_from_the_environment() -> None:
    settings = Settings.load({}, {"MOCKSERVER_LUCIDWORKS_TOKENS": "t1, t2"})
    assert settings.lucidworks_tokens == ("t1", "t2")


def test_bad_values_say_where_they_came_from(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MOCKSERVER_PORT"):
        Settings.load({}, {"MOCKSERVER_PORT": "eighty"})
    config = tmp_path / "bad.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ValueError, match="unknown setting 'prot'"):
        Settings.load({}, {}, config)


@pytest.mark.parametrize(
    ("host", "token", "exposed"),
    [
        ("127.0.0.1", None, False),
        ("localhost", None, False),
        ("::1", None, False),
        ("0.0.0.0", None, True),
        ("0.0.0.0", "t", False),
        ("192.0.2.10", None, True),
    ],
)
def test_exposure_beyond_loopback_without_an_admin_token(
    host: str, token: str | None, exposed: bool
) -> None:
    assert Settings(host=host, admin_token=token).exposed_without_admin_token is exposed


def test_admin_token_from_the_environment() -> None:
    assert Settings.load({}, {"MOCKSERVER_ADMIN_TOKEN": "t"}).admin_token == "t"


def test_admin_token_from_a_file_by_flag_or_environment(tmp_path: Path) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text("from-a-file\n", encoding="utf-8")
    assert Settings.load({"admin_token_file": token_file}).admin_token == "from-a-file"
    env = {"MOCKSERVER_ADMIN_TOKEN_FILE": str(token_file)}
    assert Settings.load({}, env).admin_token == "from-a-file"


@pytest.mark.parametrize(("content", "message"), [(None, "cannot read"), ("\n", "is empty")])
def test_an_unusable_admin_token_file_says_so(
    tmp_path: Path, content: str | None, message: str
) -> None:
    token_file = tmp_path / "admin-token"
    if content is not None:
        token_file.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Settings.load({"admin_token_file": token_file})


def test_fault_rules_come_from_the_config_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('faults = ["lucidworks.click:status=503,p=0.5", "reset,times=1"]\n')
    from_file = Settings.load(config_file=config)
    assert from_file.faults == ("lucidworks.click:status=503,p=0.5", "reset,times=1")
    # Rules have commas of their own: in one variable they are ;-separated.
    from_env = Settings.load(env={"MOCKSERVER_FAULTS": "status=503,times=2;rate_limit=1",
                                  "MOCKSERVER_FAULT_SEED": "7"})  # fmt: skip
    assert from_env.faults == ("status=503,times=2", "rate_limit=1")
    assert from_env.fault_seed == 7
