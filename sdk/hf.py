"""Load adapters from an Adapter Hub with Hugging Face's own tools, without environment variables.

    from sdk.hf import peft_model_from_hub
    model = peft_model_from_hub(base_model, "acme/sst2-lora", hub_url="http://hub:8000", revision="v2")

The hub speaks the Hugging Face download protocol, so `huggingface_hub.snapshot_download(endpoint=...)`
fetches into the ordinary Hugging Face cache (~/.cache/huggingface/hub, shared with every other HF tool).
`PeftModel.from_pretrained` is then given the local folder: peft never forwards an `endpoint` to
huggingface_hub, so naming the hub there would only work through `HF_ENDPOINT`, which must be set before
huggingface_hub is imported and also redirects base-model downloads (docs/huggingface.md).

huggingface_hub and peft are imported when called, so `import sdk` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sdk._http import resolve_token, resolve_url

# What PeftModel.from_pretrained reads, at the top level or in a subfolder (multi-adapter repos).
ADAPTER_PATTERNS = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "*/adapter_config.json",
    "*/adapter_model.safetensors",
)


def snapshot(
    name: str,
    *,
    hub_url: str | None = None,
    revision: str | None = None,
    token: str | None = None,
    allow_patterns: Sequence[str] | None = ADAPTER_PATTERNS,
    cache_dir: str | Path | None = None,
) -> Path:
    """Download `name` ("namespace/adapter", optionally "@revision") into the Hugging Face cache; its folder.

    revision: "main" (default), a tag, "v3" or a revision id; files already cached are not fetched again.
    allow_patterns: the adapter's files by default; None for every file (README, tokenizer...).
    """
    from huggingface_hub import snapshot_download

    repo_id, revision = _split_revision(name, revision)
    folder = snapshot_download(
        repo_id=repo_id,
        revision=revision,
        endpoint=resolve_url(hub_url),
        # False, not None: huggingface_hub would otherwise send the user's huggingface.co token to this hub.
        token=resolve_token(token) or False,
        allow_patterns=list(allow_patterns) if allow_patterns is not None else None,
        cache_dir=cache_dir,
    )
    return Path(folder)


def peft_model_from_hub(
    base_model: Any,
    name: str,
    *,
    hub_url: str | None = None,
    revision: str | None = None,
    token: str | None = None,
    **kwargs: Any,
) -> Any:
    """`PeftModel.from_pretrained(base_model, <the adapter's folder>, **kwargs)` for an adapter of the hub.

    kwargs go to PeftModel.from_pretrained (adapter_name, is_trainable, subfolder...).
    """
    from peft import PeftModel

    folder = snapshot(name, hub_url=hub_url, revision=revision, token=token)
    return PeftModel.from_pretrained(base_model, str(folder), **kwargs)


def _split_revision(name: str, revision: str | None) -> tuple[str, str | None]:
    repo_id, at, pinned = name.partition("@")
    if at and revision is not None and revision != pinned:
        raise ValueError(f"{name!r} names revision {pinned!r} but revision={revision!r} was also given.")
    return repo_id, (pinned if at else revision)
