"""Re-publishing identical files under a new version: how many blob bytes cross the wire (target: none).

The first publish of a 16 MB PEFT adapter uploads everything; publishing the same folder again must only
declare the files (the hub already holds every blob, by sha256) and commit a new version.

    python -m bench.bench_republish [--size 16]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench._adapters import write_adapter
from bench._local_hub import local_hub
from bench._results import Result, print_results
from sdk import Hub


def run(size_mb: int = 16) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="hubbench-") as workdir, local_hub(Path(workdir) / "hub") as server:
        folder = write_adapter(Path(workdir) / "adapter", size_mb)
        with Hub(server.url, token=server.token, cache_dir=Path(workdir) / "cache") as hub:
            first = hub.publish(folder, "bench/republish")
            sent_first = server.wire.blob_bytes_received
            server.wire.reset()
            again = hub.publish(folder, "bench/republish")
        wire = server.wire
    note = (
        f"{first['version']} -> {again['version']}; the first publish sent {sent_first / 1e6:.1f} MB, "
        f"the second {wire.requests} requests, {wire.blob_puts} blob PUTs"
    )
    uploaded = float(wire.blob_bytes_received)
    return [
        Result("re-publish identical files", "bytes", uploaded, target="0 blob bytes", met=uploaded == 0, note=note)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=16)
    args = parser.parse_args()
    print_results(run(args.size), "Re-publish of identical files (hub on SQLite + local folder)")


if __name__ == "__main__":
    main()
