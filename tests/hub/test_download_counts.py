"""Download counts kept in memory and flushed in batches (hub/registry/catalog/downloads.py), on both backends.

Counting races flushing from many threads and still ends exact; a flush the database refuses halfway (its
second UPDATE) writes nothing and hands its counts to the next one; the last flush, at shutdown, is retried;
the app's lifespan exit writes what the periodic flusher had not yet written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from hub.config import Settings
from hub.registry.catalog.downloads import DownloadCounter, Flusher
from hub.registry.models import Adapter, Version
from tests.fixtures.hub import make_account
from tests.helpers import publish, tiny_lora_files

THREADS, PER_THREAD = 8, 250
CONFIG_URL = "/api/adapters/alice/counted/versions/main/files/adapter_config.json"


@pytest.fixture
def version(app: FastAPI, client: TestClient) -> Version:
    """A published version, detached from its session: count() reads only its two ids."""
    assert publish(client, make_account(app, "alice"), "alice/counted", tiny_lora_files()).status_code == 201
    with app.state.session_factory() as session:
        found = session.scalars(select(Version)).one()
        session.expunge(found)
    return found


def stored(factory: sessionmaker[Session], version: Version) -> tuple[int, int]:
    """(the adapter's downloads, the version's downloads) as the database holds them."""
    with factory() as session:
        return session.get(Adapter, version.adapter_id).downloads, session.get(Version, version.id).downloads


def _count_many(counter: DownloadCounter, version: Version) -> None:
    for done in range(PER_THREAD):
        counter.count(version)
        if done % 25 == 0:
            time.sleep(0.001)  # let the flusher run between counts, so flushes overlap the counting


def _flush_until(counter: DownloadCounter, done: threading.Event) -> list[int]:
    written = []
    while not done.is_set():
        written.append(counter.flush())
    return written


def test_counts_from_many_threads_flushed_meanwhile_are_exact(app: FastAPI, version: Version) -> None:
    counter, done = DownloadCounter(app.state.session_factory), threading.Event()
    with ThreadPoolExecutor(THREADS + 1) as pool:
        flushes = pool.submit(_flush_until, counter, done)
        for future in [pool.submit(_count_many, counter, version) for _ in range(THREADS)]:
            future.result()
        done.set()
        written = [*flushes.result(), counter.flush()]
    assert sum(written) == THREADS * PER_THREAD  # each count written by exactly one flush
    assert len([n for n in written if n]) >= 2  # the flushes did overlap the counting
    assert stored(app.state.session_factory, version) == (THREADS * PER_THREAD, THREADS * PER_THREAD)
    assert counter.pending == 0


class RefuseOnce:
    """An engine hook failing the next UPDATE of `versions` in the database driver's path, once: the flush's
    transaction has already updated `adapters` by then, so a half-applied batch would show."""

    def __init__(self) -> None:
        self.refused = 0

    def __call__(self, _conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE VERSIONS") and not self.refused:
            self.refused += 1
            raise ConnectionError("the database went away mid-flush")


def test_a_failed_flush_keeps_its_counts_for_the_next_and_writes_nothing(app: FastAPI, version: Version) -> None:
    counter, refuse = DownloadCounter(app.state.session_factory), RefuseOnce()
    for _ in range(5):
        counter.count(version)
    event.listen(app.state.engine, "before_cursor_execute", refuse)
    try:
        with pytest.raises(ConnectionError):
            counter.flush()
        assert refuse.refused == 1 and stored(app.state.session_factory, version) == (0, 0)
        counter.count(version)  # counted after the failure: joins the handed-back batch
        assert counter.pending == 6 and counter.flush() == 6
    finally:
        event.remove(app.state.engine, "before_cursor_execute", refuse)
    assert counter.flush() == 0
    assert stored(app.state.session_factory, version) == (6, 6)


def test_the_last_flush_is_retried_when_the_database_refuses_it(app: FastAPI, version: Version) -> None:
    counter, refuse = DownloadCounter(app.state.session_factory), RefuseOnce()
    flusher = Flusher(counter, seconds=3600).start()  # no periodic flush: only stop() writes
    for _ in range(4):
        counter.count(version)
    event.listen(app.state.engine, "before_cursor_execute", refuse)
    try:
        flusher.stop()
    finally:
        event.remove(app.state.engine, "before_cursor_execute", refuse)
    assert refuse.refused == 1 and counter.pending == 0
    assert stored(app.state.session_factory, version) == (4, 4)


@pytest.fixture
def slow_flush_app(settings: Settings) -> Iterator[FastAPI]:
    """An app whose periodic flusher would not run for an hour: only the lifespan's exit can write counts."""
    from hub.app import create_app

    application = create_app(settings.model_copy(update={"download_flush_seconds": 3600}))
    yield application
    application.state.engine.dispose()


def test_the_lifespan_exit_writes_the_pending_counts(slow_flush_app: FastAPI) -> None:
    with TestClient(slow_flush_app) as client:
        assert publish(client, make_account(slow_flush_app, "alice"), "alice/counted", tiny_lora_files()).is_success
        for _ in range(3):
            assert client.get(CONFIG_URL).status_code == 200
        assert client.get("/api/adapters/alice/counted").json()["downloads"] == 0  # still only in memory
        assert slow_flush_app.state.download_counter.pending == 3
    with slow_flush_app.state.session_factory() as session:
        assert session.scalars(select(Adapter.downloads)).one() == 3
        assert session.scalars(select(Version.downloads)).one() == 3
