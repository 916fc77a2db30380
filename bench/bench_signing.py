"""What signing costs: publish of a ~64 MB PEFT adapter with `sign_key` against the same publish unsigned, and a
cold pull with verify="require" against the same pull with verify="off", through `hub serve` on S3 (moto on
loopback). Samples are interleaved (unsigned, signed, unsigned...) so load from other processes hits both alike;
each publish sample changes one weight first, so every publish uploads new bytes.

    python -m bench.bench_signing [--size 64] [--repeat 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from bench._adapters import WEIGHTS_NAME, vary, write_adapter
from bench._procs import BUCKET, use_bench_credentials
from bench._results import Result, print_results, timed_result
from bench._rig import Rig, remove, timed_once, transfer_rig

TARGET_RATIO = 1.15  # issue 15: signing and verifying add less than 15% to publish and pull
NAMESPACE = "bench"


def make_key(folder: Path) -> tuple[Path, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = folder / "signer.pem"
    pkcs8, none = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, none))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return private, key.public_key().public_bytes(serialization.Encoding.PEM, spki).decode()


def publish(rig: Rig, folder: Path, name: str, key: Path | None) -> tuple[float, dict[str, Any]]:
    with rig.sdk() as hub:
        version: dict[str, Any] = {}
        elapsed = timed_once(lambda: version.update(hub.publish(folder, name, sign_key=key)))
    return elapsed, version


def drop(rig: Rig, version: dict[str, Any]) -> None:
    """moto keeps every object in memory: drop the weights this sample stored, or later samples would swap."""
    weights = next(entry for entry in version["files"] if entry["path"] == WEIGHTS_NAME)
    rig.client.delete_object(Bucket=BUCKET, Key=rig.blob_object(weights["sha256"]))


def pull(rig: Rig, name: str, verify: str) -> float:
    hub = rig.sdk()
    try:
        return timed_once(lambda: hub.download(name, verify=verify))
    finally:
        hub.close()
        remove(hub.cache.root)


def measure_publish(rig: Rig, folder: Path, key: Path, size_mb: int, repeat: int) -> Result:
    plain, signed = [], []
    for number in range(repeat + 1):  # round 0 warms up (the first publishes create the adapters)
        vary(folder, number)
        plain_ms, version = publish(rig, folder, f"{NAMESPACE}/plain-{size_mb}", None)
        drop(rig, version)
        signed_ms, version = publish(rig, folder, f"{NAMESPACE}/signed-{size_mb}", key)
        assert version["signature"]["trusted"], version["signature"]
        drop(rig, version)
        if number:
            plain.append(plain_ms)
            signed.append(signed_ms)
    return timed_result(f"publish {size_mb} MB, signed (baseline: unsigned)", signed, plain, TARGET_RATIO)


def measure_pull(rig: Rig, folder: Path, key: Path, size_mb: int, repeat: int) -> Result:
    vary(folder, 1000)
    _, version = publish(rig, folder, f"{NAMESPACE}/pulled-{size_mb}", key)
    name = f"{version['adapter']}@{version['revision']}"
    off, required = [], []
    for number in range(repeat + 1):
        off_ms = pull(rig, name, "off")
        require_ms = pull(rig, name, "require")
        if number:
            off.append(off_ms)
            required.append(require_ms)
    return timed_result(f"cold pull {size_mb} MB, verify=require (baseline: off)", required, off, TARGET_RATIO)


def run(size_mb: int = 64, repeat: int = 5) -> list[Result]:
    use_bench_credentials()
    with transfer_rig("moto", modes=("stream",)) as rig, tempfile.TemporaryDirectory(dir=rig.workdir) as keys:
        key, public = make_key(Path(keys))
        with rig.sdk() as hub:
            hub.add_signer(NAMESPACE, public, name="bench")
        folder = write_adapter(rig.scratch(), size_mb, seed=size_mb)
        results = [measure_publish(rig, folder, key, size_mb, repeat), measure_pull(rig, folder, key, size_mb, repeat)]
        remove(folder)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = run(args.size, args.repeat)
    print_results(results, f"Signing and verifying vs the same transfer unsigned (moto, {args.repeat} runs)")


if __name__ == "__main__":
    main()
