"""The `hub` command as a person runs it: db upgrade, demo, token create, serve (real processes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

HUB = [sys.executable, "-m", "hub.cli"]


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return {**clean, "HUB_DATA_DIR": str(tmp_path / "data")}


def run(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB, *args], env=env, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_upgrade_demo_token(env):
    assert run(env, "db", "upgrade").returncode == 0
    first, second = run(env, "demo"), run(env, "demo")
    assert first.returncode == 0 and "5 published" in first.stdout
    assert second.returncode == 0 and "0 published" in second.stdout
    token = run(env, "token", "create", "carol")
    assert token.returncode == 0 and token.stdout.strip().startswith("hub_")
    assert run(env, "db", "check").returncode == 0


def test_token_for_a_reserved_or_bad_name_is_refused(env):
    run(env, "db", "upgrade")
    for name, code in (("api", "ReservedName"), ("bad..name", "InvalidName")):
        result = run(env, "token", "create", name)
        assert result.returncode == 1 and f"error [{code}]" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_an_unmigrated_database(env):
    result = run(env, "serve", "--port", str(_free_port()))
    assert result.returncode == 2 and "hub db upgrade" in result.stderr


def test_serve_shows_the_demo_adapters(env):
    run(env, "db", "upgrade")
    run(env, "demo")
    port = _free_port()
    server = subprocess.Popen(
        [*HUB, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        adapters = httpx.get(f"{base}/api/adapters").json()["adapters"]
        assert {"demo/gpt2-sst2-lora", "demo/tinyllama-sql-lora"} <= {a["id"] for a in adapters}
        assert "demo/gpt2-sst2-lora" in httpx.get(base).text
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"hub serve did not answer at {base}")
