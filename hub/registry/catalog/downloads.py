"""Download counts, kept in memory per process and written in batches, outside the download's transaction.

Counting in the request made every download a write transaction and queued concurrent downloads of one adapter
on that adapter's row lock. Here `count()` only adds to a dict under a lock; `flush()` swaps the dict out and
applies it as `downloads = downloads + :n` per row in one short transaction (increments, so other processes'
flushes are never overwritten). A failed flush merges its counts back for the next one; a batch swapped out is
owned by that one flush, so it is applied once or handed back, never both. The process's last flush runs in
the app's lifespan exit, which uvicorn runs on SIGTERM after in-flight requests finish: a graceful stop loses
nothing. A crash (SIGKILL, power) loses at most what arrived since the last flush.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session, sessionmaker

from hub.db import unit_of_work
from hub.registry.models import Adapter, Version

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """Pending counts: per version, and the same summed per adapter (an adapter counts all its versions)."""

    versions: Counter[int] = field(default_factory=Counter)
    adapters: Counter[int] = field(default_factory=Counter)

    def add(self, other: Batch) -> None:
        self.versions.update(other.versions)
        self.adapters.update(other.adapters)

    @property
    def total(self) -> int:
        return sum(self.versions.values())


class DownloadCounter:
    """One per process (`app.state.download_counter`); safe to call from every request thread at once."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._lock = threading.Lock()  # guards _pending: held for a dict update, never across I/O
        self._flushing = threading.Lock()  # one flush at a time, so batches are applied in order
        self._pending = Batch()

    def count(self, version: Version) -> None:
        """One download of `version`; no database work here."""
        with self._lock:
            self._pending.versions[version.id] += 1
            self._pending.adapters[version.adapter_id] += 1

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending.total

    def flush(self) -> int:
        """Write what is pending; the number of downloads written. On failure the counts stay pending."""
        with self._flushing:
            batch = self._take()
            if not batch.total:
                return 0
            try:
                apply(self._factory, batch)
            except BaseException:
                self._give_back(batch)
                raise
            return batch.total

    def _take(self) -> Batch:
        """Swap the pending counts out: a count arriving during the flush goes to the next batch."""
        with self._lock:
            batch, self._pending = self._pending, Batch()
        return batch

    def _give_back(self, batch: Batch) -> None:
        with self._lock:
            self._pending.add(batch)


def apply(factory: sessionmaker[Session], batch: Batch) -> None:
    """One transaction: an executemany UPDATE per table. Rows go in id order, adapters first, so two processes
    flushing at once take their row locks in the same order and never deadlock on PostgreSQL."""
    with unit_of_work(factory) as session:
        connection = session.connection()
        for table, counts in ((Adapter.__table__, batch.adapters), (Version.__table__, batch.versions)):
            step = update(table).where(table.c.id == bindparam("row_id"))
            step = step.values(downloads=table.c.downloads + bindparam("n"))
            connection.execute(step, [{"row_id": row, "n": n} for row, n in sorted(counts.items())])


class Flusher:
    """A daemon thread flushing `counter` every `seconds`; errors are logged and retried at the next tick."""

    def __init__(self, counter: DownloadCounter, seconds: float) -> None:
        self.counter = counter
        self.seconds = seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="download-counts", daemon=True)

    def start(self) -> Flusher:
        self._thread.start()
        return self

    def stop(self, attempts: int = 3) -> None:
        """End the thread, then flush a last time; a database away for a moment gets a few tries, since what
        is still pending when the process exits is lost."""
        self._stopping.set()
        self._thread.join()
        for attempt in range(1, attempts + 1):
            if self._flush_logged():
                return
            time.sleep(attempt)  # _stopping is set: its wait would not wait
        log.error("%d downloads were never written: the database refused the last flush", self.counter.pending)

    def _flush_logged(self) -> bool:
        try:
            self.counter.flush()
            return True
        except Exception:  # the database away for a moment: the counts wait for the next try
            log.exception("flushing download counts failed; they stay pending")
            return False

    def _run(self) -> None:
        while not self._stopping.wait(self.seconds):
            self._flush_logged()
