"""create_app(settings): wires database, storage, routers and the web UI; nothing is built at import time."""

from __future__ import annotations

from fastapi import FastAPI

from hub.api import accounts, adapters, files, hf, uploads
from hub.api.errors import install_error_handlers
from hub.config import Settings
from hub.db import make_engine, make_session_factory
from hub.ratelimit import FailureLimiter
from hub.registry.publish.limits import Limits
from hub.registry.search.facet_cache import FacetCache
from hub.storage import BlobStorage, create_storage

API_VERSION = "0.1.0"


def create_app(settings: Settings, *, storage: BlobStorage | None = None) -> FastAPI:
    app = FastAPI(
        title="Adapter Hub",
        version=API_VERSION,
        description="Publish, find and pull parameter-efficient fine-tuning adapters.",
        docs_url="/docs",
        redoc_url=None,
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.storage = storage or storage_for(settings)
    app.state.limits = limits_for(settings)
    app.state.auth_limiter = FailureLimiter()
    app.state.facet_cache = FacetCache()
    app.state.upload_slots = uploads.UploadSlots(settings.max_concurrent_uploads_per_user)
    install_error_handlers(app)
    for module in (adapters, files, uploads, accounts, hf):
        app.include_router(module.router)
    _mount_web(app)
    return app


def storage_for(settings: Settings) -> BlobStorage:
    return create_storage(settings.storage_url, s3_endpoint_url=settings.s3_endpoint_url, s3_region=settings.s3_region)


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
