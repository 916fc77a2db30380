"""create_app(settings): wires database, storage, routers and the web UI; nothing is built at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.api import accounts, adapters, bases, files, hf, keys, leaderboards, uploads, webhooks
from hub.api.errors import install_error_handlers
from hub.config import Settings
from hub.db import make_engine, make_session_factory
from hub.events.worker import DeliveryWorker, RetryPolicy
from hub.ratelimit import FailureLimiter
from hub.registry.catalog.downloads import DownloadCounter, Flusher
from hub.registry.publish.limits import Limits
from hub.registry.search.facet_cache import FacetCache
from hub.storage import BlobStorage, create_storage
from hub.upstream import upstream_for

API_VERSION = "0.1.0"


def app_from_env() -> FastAPI:
    """The factory `hub serve` hands uvicorn (`hub.app:app_from_env`, factory=True): each worker process
    builds its own app, engine and storage from the HUB_* environment, sharing nothing in memory."""
    return create_app(Settings())


def create_app(settings: Settings, *, storage: BlobStorage | None = None) -> FastAPI:
    app = FastAPI(
        title="Adapter Hub",
        version=API_VERSION,
        description="Publish, find and pull parameter-efficient fine-tuning adapters.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.storage = storage or storage_for(settings)
    app.state.limits = limits_for(settings)
    app.state.auth_limiter = FailureLimiter()
    app.state.facet_cache = FacetCache()
    app.state.download_counter = DownloadCounter(app.state.session_factory)
    app.state.upload_slots = uploads.UploadSlots(settings.max_concurrent_uploads_per_user)
    app.state.upstream = upstream_for(settings, app.state.storage)  # None without HUB_UPSTREAM_URL
    install_error_handlers(app)
    for module in (adapters, bases, files, uploads, accounts, webhooks, keys, leaderboards, hf):
        app.include_router(module.router)
    _mount_web(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the server runs: the download-count flusher and the webhook delivery worker (unless
    HUB_WEBHOOK_DELIVERY=false). At the end (uvicorn's graceful stop, SIGTERM included, once in-flight requests
    are done) the counts are flushed a last time and the upstream's connection pool is closed."""
    flusher = Flusher(app.state.download_counter, app.state.settings.download_flush_seconds).start()
    worker = delivery_worker(app) if app.state.settings.webhook_delivery else None
    try:
        yield
    finally:
        await asyncio.to_thread(flusher.stop)  # a database write: off the event loop
        if worker is not None:
            await asyncio.to_thread(worker.stop)  # it may be mid-send: wait off the event loop
        if app.state.upstream is not None:
            app.state.upstream.close()


def delivery_worker(app: FastAPI) -> DeliveryWorker:
    settings = app.state.settings
    policy = RetryPolicy(
        base_delay=settings.webhook_retry_base_seconds,
        max_attempts=settings.webhook_max_attempts,
        timeout=settings.webhook_timeout_seconds,
    )
    return DeliveryWorker(app.state.session_factory, policy, settings.webhook_poll_seconds).start()


def storage_for(settings: Settings) -> BlobStorage:
    return create_storage(
        settings.storage_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        s3_public_endpoint_url=settings.s3_public_endpoint_url,
    )


def limits_for(settings: Settings) -> Limits:
    return Limits(
        max_file_bytes=settings.max_file_bytes,
        max_text_file_bytes=settings.max_text_file_bytes,
        max_files_per_version=settings.max_files_per_version,
        max_header_bytes=settings.max_header_bytes,
        max_tensors_per_file=settings.max_tensors_per_file,
        upload_chunk_bytes=settings.upload_chunk_bytes,
    )


def _mount_web(app: FastAPI) -> None:
    from web.pages import install_web

    install_web(app)
