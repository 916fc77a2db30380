"""``HubLoRAResolver``: vLLM's ``LoRAResolver`` over the hub. Imports vllm: loaded by vllm_plugin.register only."""

from __future__ import annotations

import asyncio
import threading

from vllm.lora.request import LoRARequest
from vllm.lora.resolver import LoRAResolver

from sdk.client import Hub
from sdk.serving.resolve import Refused, Resolved, resolve, served_structure
from sdk.serving.structure import BaseStructureError
from sdk.serving.vllm_plugin import log


class HubLoRAResolver(LoRAResolver):
    """Resolves a name to a verified snapshot of one immutable revision that fits the served base.

    Unknown, not visible to the token, not LoRA, or not fitting: None, after one log line naming the
    adapter and why (for a misfit, the first modules that do not fit). vLLM caches the answer by
    ``lora_name`` for the server's life, so ``ns/name@stable`` keeps the revision it first named.
    """

    def __init__(self, hub: Hub | None = None) -> None:
        self._hub = hub
        self._lock = threading.Lock()

    def hub(self) -> Hub:
        """The client, made from the environment on first use (vLLM registers plugins in every process)."""
        with self._lock:
            if self._hub is None:
                self._hub = Hub()
            return self._hub

    async def resolve_lora(self, base_model_name: str, lora_name: str) -> LoRARequest | None:
        # The SDK is synchronous: keep vLLM's event loop free while the hub answers and files download.
        return await asyncio.to_thread(self.resolve_now, base_model_name, lora_name)

    def resolve_now(self, base_model_name: str, lora_name: str) -> LoRARequest | None:
        try:
            structure = served_structure(base_model_name)
        except BaseStructureError as error:
            log.warning("Adapter Hub: %s not served: cannot read the served base's structure: %s", lora_name, error)
            return None
        try:
            resolved = resolve(self.hub(), lora_name, structure)
        except Refused as refused:
            log.warning("Adapter Hub: %s not served: %s", lora_name, refused.reason)
            return None
        log.info("Adapter Hub: %s -> %s%s", lora_name, _described(resolved), _warned(resolved))
        return LoRARequest(lora_name=lora_name, lora_int_id=resolved.int_id, lora_path=str(resolved.folder))


def _described(resolved: Resolved) -> str:
    return f"{resolved.repo} {resolved.version} (revision {resolved.revision[:12]}) at {resolved.folder}"


def _warned(resolved: Resolved) -> str:
    return f"; warnings: {'; '.join(resolved.warnings)}" if resolved.warnings else ""
