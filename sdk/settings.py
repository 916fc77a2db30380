"""The client's environment: the only SDK module that reads HUB_* variables (the server's twin is hub/config.py).

| variable      | meaning                                                        | default                      |
|---------------|----------------------------------------------------------------|------------------------------|
| HUB_URL       | the hub to talk to                                             | http://127.0.0.1:8000        |
| HUB_TOKEN     | API token (beats the one saved by `hub login`)                 | the saved token, else none   |
| HUB_CACHE     | local cache folder (blobs/, and hubs/<hub>/ per hub URL)       | $XDG_CACHE_HOME/adapter-hub  |
| HUB_OFFLINE   | 1/true: serve from the cache only, fail clearly otherwise      | off                          |
| HUB_VERIFY    | signatures on pull: auto (when signed), require, off           | auto                         |
| HUB_TRUST_FILE| a JSON file of trusted signers per namespace (sdk/signing/pins)| none: the hub's list, pinned |
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
_TRUE = {"1", "true", "yes", "on"}


def env_url() -> str | None:
    return os.environ.get("HUB_URL") or None


def env_token() -> str | None:
    return os.environ.get("HUB_TOKEN") or None


def cache_dir() -> Path:
    """HUB_CACHE, else $XDG_CACHE_HOME/adapter-hub, else ~/.cache/adapter-hub."""
    if explicit := os.environ.get("HUB_CACHE"):
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "adapter-hub"


def offline() -> bool:
    return os.environ.get("HUB_OFFLINE", "").strip().lower() in _TRUE


def verify_mode() -> str:
    """HUB_VERIFY: "require" for locked-down clusters (only signed, trusted, intact adapters load)."""
    return os.environ.get("HUB_VERIFY", "").strip().lower() or "auto"


def trust_file() -> Path | None:
    explicit = os.environ.get("HUB_TRUST_FILE")
    return Path(explicit).expanduser() if explicit else None


def config_dir() -> Path:
    """Where `hub login` keeps the token: $XDG_CONFIG_HOME/adapter-hub (default ~/.config/adapter-hub)."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "adapter-hub"
