"""The `hub` command as a person runs it: db upgrade, demo, token create, serve (real processes)."""

from __future__ import annotations

import os
import re
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


@pytest.fixture
def backend_env(settings) -> dict[str, str]:
    """The hub command's environment for the test's backend (SQLite + folder, or PostgreSQL + S3), migrated."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    chosen = {"database_url": settings.database_url, "data_dir": settings.data_dir, "storage_url": settings.storage_url}
    chosen["s3_endpoint_url"] = settings.s3_endpoint_url
    return {**clean, **{f"HUB_{key.upper()}": str(value) for key, value in chosen.items() if value is not None}}


def test_a_name_differing_only_in_case_is_one_line_naming_the_clash(backend_env):
    assert run(backend_env, "token", "create", "alice").returncode == 0
    assert run(backend_env, "admin", "org", "create", "acme", "--owner", "alice").returncode == 0
    for name, taken_by in (("ALICE", "the user 'alice'"), ("Acme", "the organisation 'acme'")):
        result = run(backend_env, "token", "create", name)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.splitlines() == [
            f"error [InvalidName]: The name {name!r} is taken by {taken_by}: names are unique ignoring case."
        ]
    again = run(backend_env, "token", "create", "alice")  # the same name still gets a token
    assert again.returncode == 0 and again.stdout.startswith("hub_")


def test_console_org_commands_live_under_admin(backend_env):
    run(backend_env, "token", "create", "alice")
    assert run(backend_env, "admin", "org", "create", "acme", "--owner", "alice").returncode == 0
    member = run(backend_env, "admin", "org", "member", "acme", "bob", "write")
    assert member.returncode == 0 and member.stdout == "bob is now write in acme.\n"
    listed = run(backend_env, "token", "list", "bob")  # the console created bob on the way
    assert listed.returncode == 0 and listed.stdout == ""


def test_an_unreachable_database_is_one_line(env):
    env = {**env, "HUB_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/none"}
    for argv in (("db", "upgrade"), ("token", "create", "alice")):
        result = run(env, *argv)
        assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error [DatabaseUnavailable]: the database did not answer: ")


def test_server_verbs_are_listed_only_with_the_server():
    from hub.cli import SERVER_VERBS, build_parser

    def listed(server: bool) -> set[str]:
        help_text = build_parser(server=server).format_help()
        lines = help_text.split("COMMAND\n", 1)[1].splitlines()
        return {line.split()[0] for line in lines if re.match(r" {4}\S", line)}  # not wrapped help text

    client = listed(server=False)
    assert {"publish", "pull", "search", "info", "check", "tag", "delete", "whoami", "logout", "org"} <= client
    assert client & SERVER_VERBS == set() and listed(server=True) - client == SERVER_VERBS
