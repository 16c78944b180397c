from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401 (see below)
import pytest
from starlette.testclient import TestClient

from mockserver import Settings, SqliteStore, create_app
from mockserver.storage import open_store
from mockserver.validation import Contracts, load_contracts
from mockserver.vendors.registry import ANALYTICS

# pytester's in-process runs drop the modules first imported during them. httpx imports
# httpcore lazily, on its first request: imported here, it is never one of those, and a later
# test does not meet a second copy whose exceptions httpx cannot map (a RemoteProtocolError
# from httpcore instead of httpx's).
pytest_plugins = ["pytester", "tests.postgres_server"]

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "fixtures"

NEURALENS_HEADERS = {
    "X-Neuralens-API-Key": "Bearer test-key",
    "X-Neuralens-Application-ID": "shop-app",
    "Content-Type": "application/json",
}
LUCIDWORKS_HEADERS = {
    "Authorization": "embed-token-123",
    "Accept": "application/json",
    "Content-Type": "application/json",
}


def load_fixture(vendor: str, kind: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / kind / name).read_bytes())


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    """Loaded once: the schemas do not change during a run, and loading costs ~70 ms."""
    return load_contracts(Settings().schema_dir)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=str(tmp_path / "mock.db"))


@pytest.fixture
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Any]:
    """SQLite by default; PostgreSQL too in modules marked ``both_stores`` (a real server)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        store: Any = open_store(request.getfixturevalue("postgres_url"), ANALYTICS)
    else:
        store = SqliteStore(settings.db, ANALYTICS)
    yield store
    store.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A module marked both_stores runs each test that reaches the store on each store.
    if metafunc.definition.get_closest_marker("both_stores") and "store" in metafunc.fixturenames:
        # PostgreSQL's runs need a real server: make test runs them, the inner loop does not.
        postgresql = pytest.param("postgresql", marks=pytest.mark.slow)
        metafunc.parametrize("store", ["sqlite", postgresql], indirect=True)


@pytest.fixture
def client(settings: Settings, store: SqliteStore, contracts: Contracts) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store, contracts)) as test_client:
        yield test_client


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_with(tmp_path: Path, contracts: Contracts) -> Iterator[ClientFactory]:
    """``client_with(neuralens_keys=("k",))``: a client of an app built with those settings."""
    numbers = itertools.count()
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            settings = Settings(db=str(tmp_path / f"app-{next(numbers)}.db"), **overrides)
            store = SqliteStore(settings.db, ANALYTICS)
            stack.callback(store.close)
            # The session's contracts are strict ones: another profile loads its own.
            shared = contracts if settings.profile == "strict" else None
            return stack.enter_context(TestClient(create_app(settings, store, shared)))

        yield make


def post_neuralens(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post("/analytics/event", json=body, headers={**NEURALENS_HEADERS, **headers})


def post_lucidworks(client: TestClient, signal: str, body: Any, **headers: str) -> Any:
    return client.post(
        f"/retail/signals/{signal}",
        content=json.dumps(body).encode(),
        headers={**LUCIDWORKS_HEADERS, **headers},
    )
