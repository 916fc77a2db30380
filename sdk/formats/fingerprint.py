"""The structural fingerprint of a base model over (parameter name, shape) pairs, without torch.

One home for the digest: sdk/torch/fingerprint.py feeds it a live model's parameters, sdk/bases.py a
checkpoint's safetensors headers, so a registered base and an adapter's base_fingerprint compare equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def shapes_fingerprint(pairs: Iterable[tuple[str, tuple[int, ...]]]) -> str:
    """sha256 hex over the sorted (name, shape) pairs."""
    digest = hashlib.sha256()
    for name, shape in sorted(pairs):
        # One line per parameter: names hold no newline, so the encoding is unambiguous.
        digest.update(f"{name}\t{','.join(map(str, shape))}\n".encode())
    return digest.hexdigest()
