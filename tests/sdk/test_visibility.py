"""Private adapters from the SDK and the CLI: publish(private=True), set_visibility, `hub visibility`."""

from __future__ import annotations

import pytest

from sdk import Hub
from sdk.errors import AdapterNotFound
from tests.helpers import tiny_lora_files
from tests.sdk.test_cli import run_hub
from tests.sdk.test_support import write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def test_private_publish_then_public(hub: Hub, hub_url: str, tmp_path) -> None:
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    hub.publish(folder, "alice/hidden", base_model="tiny/llama-test", private=True)
    assert hub.info("alice/hidden")["private"] is True
    with Hub(hub_url, token=None, cache_dir=tmp_path / "anon") as anonymous:
        with pytest.raises(AdapterNotFound):
            anonymous.info("alice/hidden")
        assert [a["id"] for a in anonymous.search("hidden")] == []
        hub.set_visibility("alice/hidden", private=False)
        assert anonymous.info("alice/hidden")["private"] is False


def test_cli_visibility(hub: Hub, hub_url: str, alice, tmp_path) -> None:
    import os

    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {"HUB_URL": hub_url, "HUB_TOKEN": alice.token, "HUB_CACHE": str(tmp_path / "c")}
    published = run_hub(
        env, "publish", str(folder), "--name", "alice/cli-hidden", "--base-model", "tiny/llama-test", "--private"
    )
    assert published.returncode == 0, published.stderr
    assert hub.info("alice/cli-hidden")["private"] is True
    made_public = run_hub(env, "visibility", "alice/cli-hidden", "public")
    assert made_public.returncode == 0 and "is now public" in made_public.stdout
    assert hub.info("alice/cli-hidden")["private"] is False
    denied = run_hub({**env, "HUB_TOKEN": ""}, "visibility", "alice/cli-hidden", "private")
    assert denied.returncode == 1 and "error [AuthenticationRequired]" in denied.stderr
