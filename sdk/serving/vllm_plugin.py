"""The vLLM plugin: vLLM resolves adapter names from this hub, with the compatibility check on the way in.

Installed with the SDK (``pip install 'adapter-hub[vllm]'`` into vLLM's environment), found by vLLM through
the ``vllm.general_plugins`` entry point ``adapter_hub`` (pyproject.toml), which calls ``register``. With
``VLLM_ALLOW_RUNTIME_LORA_UPDATING=true``, a request whose ``model`` vLLM does not know reaches the
resolver as ``lora_name``: ``ns/name``, ``ns/name@v3``, ``ns/name@stable`` or ``ns/name@<revision id>``.

The hub, token and cache are the SDK's (HUB_URL, HUB_TOKEN or `hub login`, HUB_CACHE, read by
sdk/settings.py). vLLM is imported only inside ``register``: this module imports without it.
"""

from __future__ import annotations

import logging

RESOLVER_NAME = "Adapter Hub"  # the name in vllm.lora.resolver.LoRAResolverRegistry
# A child of vLLM's own logger, so its lines come out with vLLM's handlers and format.
log = logging.getLogger("vllm.adapter_hub")


def register() -> None:
    """The entry point: register the hub's resolver with vLLM (vLLM may call it once per process)."""
    from vllm.lora.resolver import LoRAResolverRegistry

    from sdk.serving.vllm_resolver import HubLoRAResolver

    LoRAResolverRegistry.register_resolver(RESOLVER_NAME, HubLoRAResolver())
