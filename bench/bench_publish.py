"""Publish of a 64 MB and a 256 MB PEFT adapter through the SDK (`Hub.publish`: hash, declare, upload what is
missing, commit) to a hub on S3 (moto on loopback), straight to storage (presigned parts, verified by the hub)
and through the hub, against boto3 `upload_file` of the same bytes plus their sha256. Each sample changes one
weight first, so every publish uploads new bytes; samples are interleaved (baseline, direct, streamed...).

    python -m bench.bench_publish [--sizes 64 256] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from bench._adapters import WEIGHTS_NAME, vary, write_adapter
from bench._procs import BUCKET, use_bench_credentials
from bench._results import Result, print_results, timed_result
from bench._rig import Rig, remove, timed_once, transfer_rig

TARGET_RATIO = 1.2
MODES = {"redirect": "straight to S3", "stream": "through the hub"}


def boto3_publish(client: Any, path: Path, key: str) -> str:
    """The baseline: the digest a careful uploader computes, then boto3's managed (multipart) upload."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    client.upload_file(str(path), BUCKET, key)
    return digest.hexdigest()


def sdk_publish(rig: Rig, folder: Path, name: str, mode: str) -> float:
    with rig.sdk(mode) as hub:
        version: dict[str, Any] = {}
        elapsed = timed_once(lambda: version.update(hub.publish(folder, name)))
    # moto keeps every object in memory: drop what this sample stored, or later samples would swap.
    weights = next(entry for entry in version["files"] if entry["path"] == WEIGHTS_NAME)
    rig.client.delete_object(Bucket=BUCKET, Key=rig.blob_object(weights["sha256"]))
    return elapsed


def baseline_publish(rig: Rig, folder: Path, key: str) -> float:
    elapsed = timed_once(lambda: boto3_publish(rig.client, folder / WEIGHTS_NAME, key))
    rig.client.delete_object(Bucket=BUCKET, Key=key)
    return elapsed


def measure_size(rig: Rig, size_mb: int, repeat: int) -> list[Result]:
    folder = write_adapter(rig.scratch(), size_mb, seed=size_mb)
    samples: dict[str, list[float]] = {"baseline": [], **{mode: [] for mode in MODES}}
    for number in range(repeat + 1):  # round 0 warms up (first publish creates the adapter): not counted
        round_ = {}
        for mode in ["baseline", *MODES]:
            vary(folder, 2 * number + (mode == "stream"))  # new bytes for every publish
            if mode == "baseline":
                round_[mode] = baseline_publish(rig, folder, f"baseline/{size_mb}-{number}")
            else:
                round_[mode] = sdk_publish(rig, folder, f"bench/publish-{size_mb}", mode)
        if number:
            for key, value in round_.items():
                samples[key].append(value)
    remove(folder)
    base = samples["baseline"]
    speed = f"baseline {size_mb * 1000 / sorted(base)[len(base) // 2]:.0f} MB/s"
    return [
        timed_result(f"publish {size_mb} MB, {label}", samples[mode], base, TARGET_RATIO, speed)
        for mode, label in MODES.items()
    ]


def run(sizes: list[int] | None = None, repeat: int = 5) -> list[Result]:
    use_bench_credentials()
    results: list[Result] = []
    with transfer_rig("moto") as rig:
        for size_mb in sizes or [64, 256]:
            results += measure_size(rig, size_mb, repeat)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = run(args.sizes, args.repeat)
    print_results(results, f"Publish through the SDK vs boto3 upload_file + sha256 (moto, {args.repeat} runs)")


if __name__ == "__main__":
    main()
