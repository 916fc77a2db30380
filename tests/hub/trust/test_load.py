"""A short run of bench/load_replicas.py: 8 clients for 10 s against two replicas on PostgreSQL + S3.

Zero errors other than the expected (and retried) 409 conflicts, and every published version present
on both replicas, numbered 1..N per adapter and byte-identical. The 60 s run is `python bench/load_replicas.py`.
"""

from __future__ import annotations

import pytest

from bench.load_replicas import run_load

pytest_plugins = ["tests.fixtures.replicas"]  # the replicas fixture
pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def test_two_replicas_under_mixed_load(replicas):
    from tests.fixtures.replicas import make_token

    token = make_token(replicas.database_url, "loader")
    report = run_load(replicas.urls, token, seconds=10, clients=8)
    report.table()
    assert report.unexpected_errors == {}
    assert report.verify_problems == []
    assert report.published and report.verified_files == 2 * 3 * len(report.published)
    assert all(report.latencies[kind] for kind in ("publish", "search", "download")), dict(report.requests)
