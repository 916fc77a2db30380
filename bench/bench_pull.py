"""Cold pull (empty cache) of a 64 MB and a 256 MB PEFT adapter through the SDK (`Hub.download`), from S3 on a
moto server on loopback, streamed through the hub and redirected to storage, against boto3 `get_object` of the
same object streamed to disk with sha256 over the bytes, same endpoint. Samples are interleaved (baseline,
streamed, redirected, baseline...) so that load from other processes on the machine hits all three alike.

    python -m bench.bench_pull [--sizes 64 256] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from bench._adapters import WEIGHTS_NAME, write_adapter
from bench._procs import BUCKET, use_bench_credentials
from bench._results import Result, print_results, timed_result
from bench._rig import Rig, remove, timed_once, transfer_rig

TARGET_RATIO = 1.2
MODES = {"stream": "streamed by the hub", "redirect": "302 to storage"}


def boto3_pull(client: Any, key: str, out: Path) -> str:
    """The baseline: what a hand-written boto3 download with an integrity check costs."""
    digest = hashlib.sha256()
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
    with out.open("wb") as stream:
        for chunk in body.iter_chunks(1 << 20):
            digest.update(chunk)
            stream.write(chunk)
    return digest.hexdigest()


def publish_adapter(rig: Rig, size_mb: int) -> tuple[str, str]:
    """Publish a size_mb adapter; returns its pinned name and the sha256 of its weights."""
    folder = write_adapter(rig.scratch(), size_mb, seed=size_mb)
    with rig.sdk() as hub:
        version = hub.publish(folder, f"bench/pull-{size_mb}")
    remove(folder)
    weights = next(entry for entry in version["files"] if entry["path"] == WEIGHTS_NAME)
    return f"bench/pull-{size_mb}@{version['revision']}", weights["sha256"]


def sdk_pull(rig: Rig, mode: str, name: str) -> float:
    hub = rig.sdk(mode)
    try:
        return timed_once(lambda: hub.download(name))
    finally:
        hub.close()
        remove(hub.cache.root)


def baseline_pull(rig: Rig, sha256: str) -> float:
    out = rig.scratch() / "weights"
    try:
        return timed_once(lambda: boto3_pull(rig.client, rig.blob_object(sha256), out))
    finally:
        remove(out.parent)


def measure_size(rig: Rig, size_mb: int, repeat: int) -> list[Result]:
    name, sha256 = publish_adapter(rig, size_mb)
    samples: dict[str, list[float]] = {"baseline": [], **{mode: [] for mode in MODES}}
    for number in range(repeat + 1):  # the first round warms connections and page cache: not counted
        round_ = {"baseline": baseline_pull(rig, sha256), **{mode: sdk_pull(rig, mode, name) for mode in MODES}}
        if number:
            for key, value in round_.items():
                samples[key].append(value)
    base = samples["baseline"]
    speed = f"baseline {size_mb * 1000 / sorted(base)[len(base) // 2]:.0f} MB/s"
    return [
        timed_result(f"cold pull {size_mb} MB, {label}", samples[mode], base, TARGET_RATIO, speed)
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
    print_results(results, f"Cold pull through the SDK vs boto3 get_object + sha256 (moto, {args.repeat} runs)")


if __name__ == "__main__":
    main()
