"""Run in the vLLM venv (.venv-vllm: vllm 0.33.0 without its GPU dependencies) by test_vllm_plugin.py.

Reads a job on stdin ({"work", "base", "names": [...]}), loads vLLM's general plugins the way vLLM does
(``vllm.plugins.load_general_plugins``, filtered by VLLM_PLUGINS), takes the hub's resolver from vLLM's
registry and asks it for each name, as vLLM's OpenAI server does for a model it does not know. Prints one
JSON document on its last stdout line: the registered resolvers, each answer (a LoRARequest's fields, or
None), the log lines each call wrote, and every network address this process connected to.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from typing import Any

CONNECTED: list[list[Any]] = []
_connect = socket.socket.connect


def _recording_connect(self: socket.socket, address: Any) -> Any:
    # The process boundary: every TCP connection this process opens, whoever opens it.
    if self.family in (socket.AF_INET, socket.AF_INET6):
        CONNECTED.append(list(address[:2]))
    return _connect(self, address)


socket.socket.connect = _recording_connect  # type: ignore[method-assign]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def answer(request: Any) -> dict[str, Any] | None:
    if request is None:
        return None
    kind = f"{type(request).__module__}.{type(request).__qualname__}"
    return {"type": kind, "lora_name": request.lora_name, "lora_int_id": request.lora_int_id,
            "lora_path": request.lora_path}  # fmt: skip


def main(job: dict[str, Any]) -> dict[str, Any]:
    from vllm.lora.resolver import LoRAResolverRegistry
    from vllm.plugins import load_general_plugins

    load_general_plugins()
    registered = sorted(LoRAResolverRegistry.get_supported_resolvers())
    resolver = LoRAResolverRegistry.get_resolver(job["resolver"])
    lines = Lines()
    plugin_log = logging.getLogger("vllm.adapter_hub")
    plugin_log.addHandler(lines)
    plugin_log.setLevel(logging.INFO)  # as `vllm serve` configures its loggers (here nobody does)
    calls = []
    for name in job["names"]:
        lines.lines.clear()
        request = asyncio.run(resolver.resolve_lora(job["base"], name))
        calls.append({"name": name, "request": answer(request), "log": list(lines.lines)})
    return {"registered": registered, "resolver_type": type(resolver).__name__, "calls": calls,
            "connected": CONNECTED}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main(json.load(sys.stdin))))
