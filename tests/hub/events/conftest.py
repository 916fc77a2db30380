"""Webhook tests: a hub whose delivery worker polls often and retries quickly, and a loopback receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hub.events.receiver import Receiver

FAST = {
    "webhook_poll_seconds": 0.05,
    "webhook_retry_base_seconds": 0.3,
    "webhook_max_attempts": 4,
    "webhook_timeout_seconds": 2.0,
}


@pytest.fixture
def app(settings):
    """The shared `app` fixture, with the fast worker (it starts with the TestClient's lifespan)."""
    from hub.app import create_app

    application = create_app(settings.model_copy(update=FAST))
    yield application
    application.state.engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()
