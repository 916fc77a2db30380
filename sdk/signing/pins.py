"""The signers a client trusts per namespace: a local trust file, or the hub's list pinned in the cache at first use.

Pins live at hubs/<hub>/trust/<namespace>.json. A key once pinned stays (its id is its hash, so it cannot be
swapped for another); the hub's list is asked again only when a bundle names a signer the pins lack (a new key
after rotation) or when a pull is online, to learn revocations. A trust file (HUB_TRUST_FILE, or
``Hub(trust_file=...)``) replaces all of that: {"namespace": [signers as GET /api/namespaces/{ns}/keys lists
them]}, and the hub is never asked whom to trust.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdk.signing.signers import Signer, signer_from_json

Fetch = Callable[[str], list[dict[str, Any]]]  # namespace -> the hub's key list


class TrustStore:
    def __init__(self, pins_dir: Path, fetch: Fetch | None, trust_file: Path | None = None) -> None:
        self.pins_dir = pins_dir
        self.fetch = fetch  # None offline
        self.trust_file = trust_file

    def signers(self, namespace: str, *, refresh: bool = False) -> list[Signer]:
        """Whom `namespace`'s signatures may come from; `refresh` asks the hub again (when online)."""
        if self.trust_file is not None:
            listed = json.loads(self.trust_file.read_text(encoding="utf-8")).get(namespace, [])
            return [signer_from_json(entry) for entry in listed]
        pinned = self._read(namespace)
        if (refresh or not pinned) and self.fetch is not None:
            pinned = _merge(pinned, [signer_from_json(entry) for entry in self.fetch(namespace)])
            self._write(namespace, pinned)
        return pinned

    def _path(self, namespace: str) -> Path:
        return self.pins_dir / f"{namespace.lower()}.json"

    def _read(self, namespace: str) -> list[Signer]:
        try:
            return [signer_from_json(entry) for entry in json.loads(self._path(namespace).read_text("utf-8"))]
        except (OSError, ValueError, KeyError):
            return []

    def _write(self, namespace: str, signers: list[Signer]) -> None:
        path = self._path(namespace)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps([s.as_json() for s in signers], indent=1), encoding="utf-8")
        os.replace(tmp, path)


def _merge(pinned: list[Signer], listed: list[Signer]) -> list[Signer]:
    """Pinned keys keep their material; keys the hub lists anew are added; a revocation is never undone."""
    by_id = {signer.key_id: signer for signer in pinned}
    for signer in listed:
        old = by_id.get(signer.key_id)
        if old is None:
            by_id[signer.key_id] = signer
        elif signer.revoked and not old.revoked:
            by_id[signer.key_id] = Signer(**{**old.as_json(), "revoked": True})
    return list(by_id.values())
