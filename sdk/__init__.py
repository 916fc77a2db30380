"""Adapter Hub's Python client.

    from sdk import Hub
    hub = Hub()                                   # HUB_URL, HUB_TOKEN (or `hub login`), HUB_CACHE, HUB_OFFLINE
    hub.publish("out/sst2-lora", name="acme/sst2-lora", base_model="gpt2")
    model = hub.pull("acme/sst2-lora@v2", into=model)
    hub.merge(["acme/code", "acme/french"], weights=[0.7, 0.3], method="cat", name="acme/code-fr")

The same methods exist as module functions bound to a default ``Hub`` created on first use
(``import sdk as hub; hub.pull(...)``), as huggingface_hub binds its functions to a default ``HfApi``.
No torch and no server library is imported here.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from sdk.client import AdapterRef, Hub, SearchResults, parse_adapter_ref
from sdk.errors import (
    AdapterNotFound,
    AuthenticationRequired,
    FileNotFound,
    Forbidden,
    HubConnectionError,
    HubError,
    InvalidToken,
    OfflineError,
    RevisionNotFound,
)

__all__ = [
    "AdapterNotFound",
    "AdapterRef",
    "AuthenticationRequired",
    "FileNotFound",
    "Forbidden",
    "Hub",
    "HubConnectionError",
    "HubError",
    "InvalidToken",
    "OfflineError",
    "RevisionNotFound",
    "SearchResults",
    "check",
    "default_hub",
    "delete",
    "download",
    "info",
    "merge",
    "move_tag",
    "parse_adapter_ref",
    "publish",
    "pull",
    "search",
    "version",
    "whoami",
]

_default: Hub | None = None
_default_lock = threading.Lock()


def default_hub() -> Hub:
    """The Hub behind the module functions, created from the environment on first use.

    Returns:
        The shared Hub (HUB_URL, HUB_TOKEN or the saved login, HUB_CACHE, HUB_OFFLINE as they were then).
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = Hub()
        return _default


def _bound(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(default_hub(), method.__name__)(*args, **kwargs)

    # help() and IDEs show the method's signature without `self`.
    signature = inspect.signature(method)
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore[attr-defined]
    return call


publish = _bound(Hub.publish)
pull = _bound(Hub.pull)
download = _bound(Hub.download)
search = _bound(Hub.search)
check = _bound(Hub.check)
info = _bound(Hub.info)
version = _bound(Hub.version)
merge = _bound(Hub.merge)
whoami = _bound(Hub.whoami)
move_tag = _bound(Hub.move_tag)
delete = _bound(Hub.delete)
