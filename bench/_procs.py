"""Servers the transfer benchmarks run as separate processes: S3 (moto or s3rver) and `hub serve`.

Every server gets its own process so that the client being timed (this process, or a child) never shares
an interpreter lock with the server it talks to. Credentials are s3rver's fixed pair, which moto accepts too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = REPO_ROOT / "bench" / ".node"
S3RVER_VERSION = "3.7.1"
BIN = Path(sys.executable).parent
# s3rver checks signatures against this fixed pair; moto accepts any.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_DEFAULT_REGION": "us-east-1"}
BUCKET = "bench"


def use_bench_credentials() -> None:
    """This process's boto3 clients talk to the bench's S3 servers, never to a developer's AWS account."""
    os.environ.update(AWS_ENV)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


def wait_until_up(url: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


@contextmanager
def running(command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start a server, wait until `url` answers, stop it afterwards. Its output goes to a file (a pipe nobody
    reads would block it once full); set BENCH_SERVER_LOGS=1 to see the tail when something goes wrong."""
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    try:
        wait_until_up(url, process)
        yield Server(url, process.pid)
    except BaseException:
        if os.environ.get("BENCH_SERVER_LOGS"):
            print(Path(log.name).read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        log.close()
        Path(log.name).unlink(missing_ok=True)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def moto_server() -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], url, {**os.environ, **AWS_ENV}) as s:
        make_bucket(url)
        yield s


def s3rver_command() -> list[str] | None:
    """node + s3rver's CLI, installed into bench/.node (git-ignored) on first use; None if that fails."""
    cli = NODE_DIR / "node_modules" / "s3rver" / "bin" / "s3rver.js"
    if not cli.exists() and shutil.which("npm"):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        (NODE_DIR / ".gitignore").write_text("*\n")
        install = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), f"s3rver@{S3RVER_VERSION}"]
        subprocess.run(install, check=False, capture_output=True, timeout=600)
    node = shutil.which("node")
    return [node, str(cli)] if node and cli.exists() else None


@contextmanager
def s3rver_server(command: list[str]) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="s3rver-") as folder:
        args = [*command, "-d", folder, "-a", "127.0.0.1", "-p", str(port), "--silent"]
        with running(args, url) as server:
            make_bucket(url)
            yield server


def s3_client(endpoint: str) -> Any:
    from hub.storage.s3 import make_s3_client

    return make_s3_client(endpoint, AWS_ENV["AWS_DEFAULT_REGION"])


def make_bucket(endpoint: str) -> None:
    s3_client(endpoint).create_bucket(Bucket=BUCKET)


@dataclass(frozen=True)
class HubConfig:
    """One hub's environment: a SQLite file and a storage URL, shared by every hub process of a rig."""

    database_url: str
    storage_url: str
    s3_endpoint_url: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, **AWS_ENV, "HUB_DATABASE_URL": self.database_url, "HUB_STORAGE_URL": self.storage_url}
        if self.s3_endpoint_url:
            env["HUB_S3_ENDPOINT_URL"] = self.s3_endpoint_url
        return env | extra

    def prepare(self) -> str:
        """Migrate the database and return a new read+write token for the user "bench"."""
        subprocess.run([str(BIN / "hub"), "db", "upgrade"], env=self.env(), check=True, capture_output=True)
        made = subprocess.run(
            [str(BIN / "hub"), "token", "create", "bench"], env=self.env(), check=True, capture_output=True, text=True
        )
        return made.stdout.split()[-1]


@contextmanager
def hub_server(config: HubConfig, **extra: str) -> Iterator[Server]:
    """`hub serve` as a production deployment runs it (one uvicorn worker), with extra HUB_* variables."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "hub"), "serve", "--port", str(port)]
    with running(command, url + "/healthz", config.env(**extra)) as server:
        yield Server(url, server.pid)
