"""Settings: read once at the edge (CLI, fixture), frozen, passed down.

Precedence, highest first: command-line flags, ``MOCKSERVER_*`` environment variables, a
TOML config file (``--config`` or ``MOCKSERVER_CONFIG``), then the defaults below.

Two sets of defaults for where the server listens and keeps its events: ``Settings(...)``
built in code (a test's conftest, ``MockServer``, ``create_app``) is a throwaway server, on
any free port and in memory, so that a test never takes port 8080 from ``make run`` nor
writes a file into the project it tests; ``Settings.load`` (the ``serve`` command) starts
from a server's own defaults, port 8080 and ``./mockserver.db``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

DEFAULT_PORT = 8080  # the `serve` command's; a Settings built in code takes a free port
DEFAULT_DB = "mockserver.db"  # the `serve` command's; a Settings built in code keeps no file
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def data_dir() -> Path:
    """Where ``schemas/`` and ``fixtures/`` are: inside an installed wheel, or the checkout."""
    packaged = Path(__file__).parent / "_data"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 0  # any free one
    db: str = ":memory:"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    workers: int = 1  # server processes sharing the port and the SQLite file
    neuralens_keys: tuple[str, ...] = ()
    lucidworks_tokens: tuple[str, ...] = ()
    profile: str = "strict"  # or "lenient": see mockserver/validation/contracts.py
    admin_token: str | None = None  # when set, /_mock/* (but health) needs Bearer <it>
    # Browser origins allowed to send vendor requests, beside this machine's (see vendors/cors.py)
    cors_origins: tuple[str, ...] = ()
    # The admin token read from a file: it then shows neither in `ps` nor in shell history.
    admin_token_file: Path | None = None
    schema_dir: Path = data_dir() / "schemas"
    # Fault rules in force from the start, in --fault's compact form (faults/rules.py), and
    # the seed of those without their own.
    faults: tuple[str, ...] = ()
    fault_seed: int | None = None
    # Shadow mode (vendors/upstream.py): VENDOR=URL of the real services each vendor request
    # is forwarded to, whose reply the client gets (passthrough) or not (shadow), the CA file
    # that signs their certificates when it is not a public one, and how long to wait.
    upstreams: tuple[str, ...] = ()
    upstream_mode: str = "shadow"
    upstream_ca: Path | None = None
    upstream_timeout: int = 10

    @property
    def listens_locally(self) -> bool:
        return self.host in ("localhost", "::1") or self.host.startswith("127.")

    @property
    def exposed_without_admin_token(self) -> bool:
        """Listening beyond this machine while anyone who reaches it may read and reset."""
        return not self.listens_locally and not self.admin_token

    def to_json(self) -> str:
        """For worker processes, which receive their settings through the environment."""
        return json.dumps({f.name: _jsonable(getattr(self, f.name)) for f in fields(self)})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        return cls().with_overrides(
            **{k: _coerce(k, v, "worker settings") for k, v in data.items()}
        )

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def load(
        cls,
        flags: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        config_file: Path | None = None,
    ) -> Settings:
        """Settings from ``flags`` over ``env`` over ``config_file`` over the defaults, those
        of a server: port ``DEFAULT_PORT`` and the file ``DEFAULT_DB``."""
        env = env or {}
        config_path = config_file or (
            Path(env["MOCKSERVER_CONFIG"]) if "MOCKSERVER_CONFIG" in env else None
        )
        settings = cls(port=DEFAULT_PORT, db=DEFAULT_DB)
        if config_path is not None:
            settings = settings.with_overrides(**_from_config(config_path))
        settings = settings.with_overrides(**_from_env(env))
        return settings.with_overrides(**(flags or {}))._with_admin_token_from_file()

    def _with_admin_token_from_file(self) -> Settings:
        if self.admin_token_file is None or self.admin_token:
            return self
        try:
            token = self.admin_token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(
                f"cannot read the admin token file {self.admin_token_file}: {exc.strerror}"
            ) from exc
        if not token:
            raise ValueError(f"the admin token file {self.admin_token_file} is empty")
        return replace(self, admin_token=token)


def _jsonable(value: Any) -> Any:
    return (
        str(value)
        if isinstance(value, Path)
        else list(value)
        if isinstance(value, tuple)
        else value
    )


def _coerce(name: str, raw: Any, source: str) -> Any:
    kinds = get_type_hints(Settings)  # the annotations as types, not as strings
    kind = kinds.get(name)
    if kind is None:
        known = ", ".join(sorted(kinds))
        raise ValueError(f"{source}: unknown setting {name!r} (known: {known})")
    arguments = get_args(kind)
    optional = type(None) in arguments
    base = next(arg for arg in arguments if arg is not type(None)) if optional else kind
    if raw is None and optional:
        return None
    try:
        if get_origin(base) is tuple:
            # A fault rule has commas of its own: several in one string are ;-separated.
            separator = ";" if name == "faults" else ","
            items = raw.split(separator) if isinstance(raw, str) else list(raw)
            return tuple(str(item).strip() for item in items if str(item).strip())
        if base is int:
            return int(raw)
        if base is Path:
            return Path(raw)
        return str(raw) or None if optional else str(raw)
    except (TypeError, ValueError) as exc:
        shown = getattr(kind, "__name__", None) if isinstance(kind, type) else str(kind)
        raise ValueError(f"{source}: {name} = {raw!r} is not a valid {shown}") from exc


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    names = {f"MOCKSERVER_{f.name.upper()}": f.name for f in fields(Settings)}
    return {
        names[key]: _coerce(names[key], value, f"environment variable {key}")
        for key, value in env.items()
        if key in names
    }


def _from_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ValueError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config file {path} is not valid TOML: {exc}") from exc
    return {
        key.replace("-", "_"): _coerce(key.replace("-", "_"), value, f"config file {path}")
        for key, value in data.items()
    }
