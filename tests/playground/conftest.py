"""The database on both backends: an SQLite file, and a fresh database on a real PostgreSQL
server that this test session starts (tests/support/postgres.py). Every store test, and every
test of what keeps its own table in the store, runs on both."""

from __future__ import annotations

import pytest

from playground.store import Store
from tests.support.postgres import PostgresServer

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = PostgresServer()
    except RuntimeError as exc:  # not a skip: a missing server would hide half the suite
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    """Where a new store lives: an SQLite file path, or a postgresql:// URL of a new database."""
    if request.param == "sqlite":
        yield tmp_path / "playground.db"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def new_store(location):
    """Store(location, **options), closed after the test (before its database is dropped)."""
    opened: list[Store] = []

    def open_one(**options) -> Store:
        store = Store(location, **options)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()
