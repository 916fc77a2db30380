"""`hub sync DIR --base BASE`, run as a shell would (in-process CLI) against a live hub, on both backends.

Adapters are PEFT LoRA folders as bytes (tests/helpers.py: a 2-layer Llama-shaped base, hidden 64); the
served base is a model folder whose safetensors header has that Llama's weights (zero-filled): no torch.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hub.demo import DemoAdapter, _llama, adapter_files
from hub.registry.publish.metadata import PublishMetadata
from sdk import Hub
from sdk.formats.safetensors import write_safetensors
from tests.helpers import TINY_LLAMA, tiny_lora_files
from tests.sdk.test_support import write_folder

if TYPE_CHECKING:
    from tests.sdk.cli_support import Cli

pytest_plugins = ["tests.sdk.test_support", "tests.sdk.cli_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")
FILES = {"README.md", "adapter_config.json", "adapter_model.safetensors"}


def write_base(folder: Path, hidden: int = 64, kv: int = 32, inter: int = 128, layers: int = 2) -> Path:
    """A Llama model folder: config.json and a model.safetensors of zeros with the real weight names and shapes."""
    shapes = {
        "model.embed_tokens.weight": [128, hidden],
        "model.norm.weight": [hidden],
        "lm_head.weight": [128, hidden],
    }
    for index in range(layers):
        layer = f"model.layers.{index}"
        for name, (fan_in, fan_out) in _llama("x", 1, hidden, kv, inter).shapes.items():
            shapes[f"{layer}.{name}.weight"] = [fan_out, fan_in]
        shapes |= {f"{layer}.input_layernorm.weight": [hidden], f"{layer}.post_attention_layernorm.weight": [hidden]}
    tensors = {name: ("F16", shape, bytes(2 * _count(shape))) for name, shape in shapes.items()}
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(write_safetensors(tensors, {"format": "pt"}))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
              "num_hidden_layers": layers, "vocab_size": 128, "tie_word_embeddings": False}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _count(shape: list[int]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def wide_lora_files() -> dict[str, bytes]:
    """A LoRA trained for a Llama of hidden 32: it does not fit the served base."""
    base = _llama("tiny/llama-wide", 2, 32, 16, 64)
    demo = DemoAdapter("t", base, "lora", ["q_proj", "v_proj"], "CAUSAL_LM", "# wide", PublishMetadata(), rank=4)
    return adapter_files(demo)


class Catalogue:
    """Alice's adapters on the live hub, published from byte folders."""

    def __init__(self, url: str, token: str, root: Path) -> None:
        self.hub = Hub(url, token=token, cache_dir=root / "publisher-cache", retries=1, backoff=0.01)
        self.root = root
        self.files: dict[str, dict[str, bytes]] = {}

    def publish(self, repo: str, files: dict[str, bytes], *, tag: str | None = "stable", **meta: Any) -> str:
        folder = write_folder(self.root / "src" / f"{repo.replace('/', '--')}-{len(self.files)}", files)
        version = self.hub.publish(folder, repo, base_model=TINY_LLAMA.model_id, **meta)
        self.files[version["revision"]] = files
        if tag:
            self.hub.move_tag(repo, tag, version["version"])
        return version["revision"]


@pytest.fixture
def catalogue(hub_url: str, alice: Any, tmp_path: Path) -> Catalogue:
    return Catalogue(hub_url, alice.token, tmp_path)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write_base(tmp_path / "models" / "tiny-llama")


def listing(folder: Path) -> dict[str, object]:
    """Every entry of the synced folder: a link's target, a file's bytes and mtime (to prove nothing changed)."""
    entries: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            entries[relative] = ("link", os.readlink(path))
        elif path.is_file() and not relative.endswith(".lock"):
            entries[relative] = (path.read_bytes(), path.stat().st_mtime_ns)
    return entries


def changes(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(("add ", "update ", "remove "))]


def test_initial_fill_serves_fitting_adapters_and_a_second_run_changes_nothing(
    cli: Cli, catalogue: Catalogue, base: Path, tmp_path: Path
) -> None:
    first = catalogue.publish("alice/chat", tiny_lora_files(seed=1))
    catalogue.publish("alice/code", tiny_lora_files(seed=2, targets=("q_proj", "k_proj", "v_proj", "o_proj")))
    catalogue.publish("alice/wide", wide_lora_files())
    catalogue.publish("alice/draft", tiny_lora_files(seed=3), tag=None)
    target = tmp_path / "served"

    ran = cli("sync", str(target), "--base", str(base))

    assert ran.code == 0, ran.err
    assert sorted(changes(ran.out)) == [
        f"add alice/chat v1 (revision {first[:12]}) as alice--chat",
        f"add alice/code v1 (revision {catalogue.hub.version('alice/code')['revision'][:12]}) as alice--code",
    ]
    alias = target / "alice--chat"
    assert os.readlink(alias) == f"alice--chat--{first[:12]}" and alias.resolve().parent == target.resolve()
    assert {path.name for path in alias.iterdir()} == FILES
    weights = "adapter_model.safetensors"
    assert (alias / weights).read_bytes() == catalogue.files[first][weights]
    config = json.loads((alias / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base)  # as the engine serves it, e.g. `vllm serve <base>`
    assert config["peft_type"] == "LORA"
    # The misfit is skipped with the modules that do not fit; the adapter without the tag is skipped too.
    assert "skip alice/wide: it does not fit the served base: model.layers.0.self_attn.q_proj:" in ran.out
    assert "in=32" in ran.out and "skip alice/draft: it has no 'stable' tag" in ran.out
    assert not (target / "alice--wide").exists() and not (target / "alice--draft").exists()

    before = listing(target)
    again = cli("sync", str(target), "--base", str(base))
    assert again.code == 0 and changes(again.out) == []
    assert listing(target) == before


def test_dry_run_prints_the_changes_and_changes_nothing(
    cli: Cli, catalogue: Catalogue, base: Path, tmp_path: Path
) -> None:
    first = catalogue.publish("alice/chat", tiny_lora_files(seed=1))
    target = tmp_path / "served"

    dry = cli("sync", str(target), "--base", str(base), "--dry-run")
    assert dry.code == 0, dry.err
    assert f"would add alice/chat v1 (revision {first[:12]}) as alice--chat" in dry.out
    assert not target.exists()

    assert cli("sync", str(target), "--base", str(base)).code == 0
    catalogue.publish("alice/chat", tiny_lora_files(seed=2))
    before = listing(target)
    dry = cli("sync", str(target), "--base", str(base), "--dry-run")
    assert "would update alice/chat v1 -> v2" in dry.out and changes(dry.out) == []
    assert listing(target) == before


def test_tag_move_swaps_the_alias_atomically_under_a_reader(
    cli: Cli, catalogue: Catalogue, base: Path, tmp_path: Path
) -> None:
    revisions = [catalogue.publish("alice/chat", tiny_lora_files(seed=seed)) for seed in (1, 2, 3)]
    catalogue.hub.move_tag("alice/chat", "stable", "v1")
    target = tmp_path / "served"
    assert cli("sync", str(target), "--base", str(base)).code == 0
    sizes = {len(files["adapter_model.safetensors"]) for files in catalogue.files.values()}
    reader = Reader(target / "alice--chat", sizes)
    reader.start()
    try:
        lines = []
        for number in (2, 3, 1, 2, 3):
            catalogue.hub.move_tag("alice/chat", "stable", f"v{number}")
            lines += changes(cli("sync", str(target), "--base", str(base)).out)
    finally:
        reader.stop()

    assert reader.partial == [] and reader.reads > 10
    assert lines[0] == f"update alice/chat v1 -> v2 (revision {revisions[1][:12]}) as alice--chat"
    assert len(lines) == 5
    # The alias names the last revision; the folders of the others are gone, and no temporary is left.
    assert os.readlink(target / "alice--chat") == f"alice--chat--{revisions[2][:12]}"
    assert sorted(path.name for path in target.iterdir() if not path.name.startswith(".hub-sync")) == [
        "alice--chat",
        f"alice--chat--{revisions[2][:12]}",
    ]


class Reader(threading.Thread):
    """Keeps listing and reading the alias folder, as an engine loading the adapter would."""

    def __init__(self, alias: Path, weight_sizes: set[int]) -> None:
        super().__init__(daemon=True)
        self.alias, self.sizes = alias, weight_sizes
        self.partial: list[str] = []
        self.reads = 0
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.read_once()
            except (OSError, ValueError) as error:  # a vanished alias or a torn file is a failure too
                self.partial.append(f"{type(error).__name__}: {error}")

    def read_once(self) -> None:
        self.scan_pinned()
        names = set(os.listdir(self.alias))
        if names != FILES:
            self.partial.append(f"listing {sorted(names)}")
        config = json.loads((self.alias / "adapter_config.json").read_bytes())
        if config.get("peft_type") != "LORA":
            self.partial.append(f"config {config}")
        size = len((self.alias / "adapter_model.safetensors").read_bytes())
        if size not in self.sizes:
            self.partial.append(f"weights of {size} bytes")
        self.reads += 1

    def scan_pinned(self) -> None:
        """Every pinned folder in DIR is whole whenever it can be listed (it may vanish whole, when retired)."""
        for entry in os.scandir(self.alias.parent):
            if entry.name.startswith("alice--chat--"):
                try:
                    names = set(os.listdir(entry.path))
                except FileNotFoundError:
                    continue
                if names != FILES:
                    self.partial.append(f"{entry.name}: listing {sorted(names)}")


def test_deleted_and_hidden_adapters_are_removed(cli: Cli, catalogue: Catalogue, base: Path, tmp_path: Path) -> None:
    for seed, name in enumerate(("chat", "code", "math"), start=1):
        catalogue.publish(f"alice/{name}", tiny_lora_files(seed=seed))
    target = tmp_path / "served"
    assert len(changes(cli("sync", str(target), "--base", str(base)).out)) == 3  # no token: what anyone sees

    catalogue.hub.delete("alice/chat")
    catalogue.hub.set_visibility("alice/code", private=True)
    ran = cli("sync", str(target), "--base", str(base))

    why = "deleted on the hub, or no longer visible to this token"
    assert sorted(changes(ran.out)) == [f"remove alice/chat v1: {why}", f"remove alice/code v1: {why}"]
    assert sorted(path.name for path in target.iterdir() if not path.name.startswith(".")) == [
        "alice--math",
        f"alice--math--{catalogue.hub.version('alice/math@stable')['revision'][:12]}",
    ]


def test_namespace_and_the_base_id_choose_the_adapters(
    cli: Cli, catalogue: Catalogue, bob: Any, hub_url: str, tmp_path: Path
) -> None:
    catalogue.publish("alice/chat", tiny_lora_files(seed=1))
    bobs = Catalogue(hub_url, bob.token, tmp_path / "bob")
    bobs.publish("bob/chat", tiny_lora_files(seed=2))
    target = tmp_path / "served"

    # A base id with no local files: adapters declared for that base, the structural check not possible.
    ran = cli("sync", str(target), "--base", TINY_LLAMA.model_id, "--namespace", "bob")

    assert ran.code == 0, ran.err
    assert [line.split(" (")[0] for line in changes(ran.out)] == ["add bob/chat v1"]
    assert "declared base tiny/llama-test" in ran.out
    config = json.loads((target / "bob--chat" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == TINY_LLAMA.model_id


def test_another_base_in_the_same_folder_is_refused(cli: Cli, catalogue: Catalogue, base: Path, tmp_path: Path) -> None:
    catalogue.publish("alice/chat", tiny_lora_files(seed=1))
    target = tmp_path / "served"
    assert cli("sync", str(target), "--base", str(base)).code == 0
    other = write_base(tmp_path / "models" / "other")

    ran = cli("sync", str(target), "--base", str(other))

    assert ran.code == 1 and ran.err.count("\n") == 1
    assert ran.err.startswith(f"error: {target} is synced for base {str(base)!r}")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--base", "./models/missing"], "error: --base ./models/missing: no such folder"),
        (["--base", "x/y", "--watch", "0"], "error: --watch takes a positive number of seconds, not 0"),
        (["--base", "x/y", "--namespace", "bad name"], "error [InvalidName]: "),
    ],
)
def test_bad_arguments_fail_with_one_line(cli: Cli, tmp_path: Path, argv: list[str], line: str) -> None:
    ran = cli("sync", str(tmp_path / "served"), *argv)
    assert ran.code == 1 and ran.err.startswith(line) and ran.err.count("\n") == 1
    assert not (tmp_path / "served").exists()
