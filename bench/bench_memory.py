"""Memory while publishing and pulling a 1 GB adapter: RSS growth of the hub (`hub serve`, its own process) and of
the client (the SDK in a child process), sampled every 10 ms with psutil. Growth = peak during the operation
minus the RSS just before it, after a small warm-up publish and pull have loaded every code path.

S3 is s3rver (npm, installed into bench/.node on first use), which streams objects to disk: moto keeps them in
memory. Where node or npm is missing the hub uses its local-folder storage instead, and the table says so.
The pull is streamed through the hub (HUB_S3_REDIRECT_DOWNLOADS off): the case where the hub carries the bytes.

    python -m bench.bench_memory [--size 1024]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil

from bench._adapters import write_adapter
from bench._procs import BUCKET, REPO_ROOT, HubConfig, hub_server, s3rver_command, s3rver_server, use_bench_credentials
from bench._results import Result, print_results

LIMIT_MB = 64
MB = 1 << 20


class PeakRss:
    """Samples a process's RSS in a thread; .growth() is the peak since start() minus the RSS at start()."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.start_rss = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:  # the process ended
                return
            time.sleep(self._interval)

    def growth_mb(self) -> float:
        self._stop.set()
        self._thread.join()
        return (self.peak - self.start_rss) / MB


def client_main(url: str, token: str, verb: str, target: str, cache: str) -> None:
    """The child: import and connect, say ready, wait for the go, do one publish or pull."""
    from sdk import Hub

    with Hub(url, token=token, cache_dir=cache, retries=0) as hub:
        print("ready", flush=True)
        sys.stdin.readline()
        result = (
            hub.publish(Path(target), "bench/memory")["revision"] if verb == "publish" else str(hub.download(target))
        )
        print(json.dumps({"result": result}), flush=True)


def run_client(hub_pid: int, url: str, token: str, verb: str, target: str, cache: Path) -> tuple[float, float, str]:
    """(hub growth MB, client growth MB, the client's result) for one operation."""
    args = [sys.executable, "-m", "bench.bench_memory", "--client", url, token, verb, target, str(cache)]
    child = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    assert child.stdin and child.stdout
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the {verb} client did not start")
    hub_rss, client_rss = PeakRss(hub_pid), PeakRss(child.pid)
    child.stdin.write("go\n")
    child.stdin.flush()
    line = child.stdout.readline()
    hub_growth, client_growth = hub_rss.growth_mb(), client_rss.growth_mb()
    if child.wait(timeout=600) != 0 or not line:
        raise RuntimeError(f"the {verb} client failed")
    return hub_growth, client_growth, json.loads(line)["result"]


@contextmanager
def memory_hub(workdir: Path) -> Iterator[tuple[str, int, str, str]]:
    """(hub url, hub pid, token, which storage) on s3rver, or on the local folder if s3rver is unavailable."""
    with ExitStack() as stack:
        command = s3rver_command()
        database = f"sqlite:///{workdir / 'hub.db'}"
        if command:
            server = stack.enter_context(s3rver_server(command))
            config, storage = HubConfig(database, f"s3://{BUCKET}/hub", server.url), "s3rver"
        else:
            config, storage = HubConfig(database, (workdir / "blobs").as_uri()), "local folder (no s3rver)"
        token = config.prepare()
        hub = stack.enter_context(hub_server(config))
        yield hub.url, hub.pid, token, storage


def run(size_mb: int = 1024) -> list[Result]:
    use_bench_credentials()
    with tempfile.TemporaryDirectory(prefix="hubbench-") as tmp, memory_hub(Path(tmp)) as (url, pid, token, storage):
        workdir = Path(tmp)
        warm = write_adapter(workdir / "warm", 4, seed=1)  # load every code path before measuring
        run_client(pid, url, token, "publish", str(warm), workdir / "cache-warm")
        run_client(pid, url, token, "pull", "bench/memory", workdir / "cache-warm")
        big = write_adapter(workdir / "big", size_mb, seed=2)
        hub_pub, client_pub, revision = run_client(pid, url, token, "publish", str(big), workdir / "cache-pub")
        hub_pull, client_pull, _ = run_client(pid, url, token, "pull", f"bench/memory@{revision}", workdir / "cache")
    rows = [("publish", "hub", hub_pub), ("publish", "client", client_pub)]
    rows += [("pull (streamed by the hub)", "hub", hub_pull), ("pull (streamed by the hub)", "client", client_pull)]
    note = f"{size_mb} MB adapter; S3: {storage}"
    return [
        Result(
            f"RSS growth, {side}, {verb} {size_mb} MB",
            "MB",
            growth,
            target=f"< {LIMIT_MB} MB",
            met=growth < LIMIT_MB,
            note=note,
        )
        for verb, side, growth in rows
    ]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    print_results(run(args.size), "Memory while publishing and pulling a large adapter (RSS growth, peak - start)")


if __name__ == "__main__":
    main()
