"""`hub sync DIR --base BASE`: keep a folder of adapters for the engines that read folders.

vLLM's filesystem resolver, SGLang ``--lora-paths``, NVIDIA NIM's ``NIM_PEFT_SOURCE``, LoRAX
``adapter_source=local`` and TGI ``LORA_ADAPTERS`` all read ``<DIR>/<name>/adapter_config.json`` plus
``adapter_model.safetensors``. For each LoRA adapter on the hub that the token can see, that carries the tag
(default ``stable``) and that fits the base, DIR holds:

    ns--name--<rev12>/      the tagged revision's files (copies), adapter_config.json's
                            base_model_name_or_path set to what the engine serves
    ns--name -> ns--name--<rev12>    the alias, a symlink swapped when the tag moves

A tag move installs a new folder (a new name, so an engine that caches by name never mixes revisions),
then swaps the alias with ``os.replace``; the old folder stays a moment (RETIRE_GRACE_SECONDS), then is
renamed away before it is deleted. A reader therefore never sees a half-written folder: folders appear whole
(rename of a complete temporary folder) and disappear whole. Adapters deleted on the hub or made private
(no longer visible to the token) are removed. Only what sync made is touched: ``.hub-sync.json`` lists it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from sdk.client import Hub, parse_adapter_ref
from sdk.errors import SIGNATURE_REFUSALS, HubError
from sdk.formats.compat import ModelStructure
from sdk.serving.resolve import SERVABLE_METHOD, Refused, checked_version, served_folder
from sdk.serving.structure import BaseStructureError, folder_structure

STATE_NAME = ".hub-sync.json"
LOCK_NAME = ".hub-sync.lock"
CONFIG_NAME = "adapter_config.json"
REVISION_CHARS = 12  # in folder names: unique among one adapter's revisions, short enough to read
_TEMP_PREFIX = ".tmp-"
_UNSEEN = frozenset({401, 403, 404})
# An old revision's folder outlives the alias swap by this much: a reader that resolved the alias just before
# the swap finishes its lookups in the old folder instead of meeting a name that has just gone.
RETIRE_GRACE_SECONDS = 1.0
_PATH_STARTS = ("/", "./", "../", "~")

Say = Callable[[str], None]


class SyncError(ValueError):
    """The sync cannot start or go on (the CLI prints it as one line)."""


@dataclass(frozen=True)
class Base:
    """What the adapters must fit: a structure when the base's files are at hand, and the engine's name for it."""

    given: str
    served_as: str
    structure: ModelStructure | None
    base_model: str | None  # the search filter: a base id; None for a folder (its structure decides)

    def describe(self) -> str:
        if self.structure is None:
            return f"declared base {self.base_model} (no local files: adapters are matched by their declared base)"
        return f"the structure of {self.given} ({len(self.structure.modules)} modules)"


@dataclass(frozen=True)
class Wanted:
    repo: str
    version: str
    revision: str

    @property
    def alias(self) -> str:
        return self.repo.replace("/", "--")

    @property
    def folder(self) -> str:
        return f"{self.alias}--{self.revision[:REVISION_CHARS]}"


@dataclass
class Survey:
    """What the hub offers now: adapters to serve, adapters to keep as they are (the hub could not say)."""

    wanted: dict[str, Wanted] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # repo -> reason
    unsure: set[str] = field(default_factory=set)


def base_for(given: str, served_as: str | None = None) -> Base:
    """BASE as a local model folder (checked by structure) or a base id (its files from the HF cache, if any)."""
    served = served_as or given
    if Path(given).expanduser().is_dir():
        return Base(given, served, _structure(Path(given).expanduser()), None)
    if given.startswith(_PATH_STARTS):  # a path, not an id ("meta-llama/Llama-3.2-1B" has a slash too)
        raise SyncError(f"--base {given}: no such folder")
    try:
        return Base(given, served, folder_structure(served_folder(given)), given)
    except BaseStructureError:
        return Base(given, served, None, given)


def _structure(folder: Path) -> ModelStructure:
    try:
        return folder_structure(folder)
    except BaseStructureError as error:
        raise SyncError(f"--base {folder}: {error}") from None


def survey(hub: Hub, base: Base, *, tag: str, namespace: str | None, known: dict[str, dict[str, Any]]) -> Survey:
    """The tagged revision of every LoRA adapter the token sees (in `namespace`) that fits `base`.

    `known`: the state's entries; a revision already installed is not checked or fetched again.
    """
    result = Survey()
    for row in _candidates(hub, base, namespace):
        repo = row["id"]
        try:
            wanted = _tagged(hub, repo, tag, base, known.get(repo))
        except Refused as refused:
            result.skipped[repo] = refused.reason
            continue
        except HubError as error:
            if error.status in _UNSEEN:
                continue  # deleted (or hidden) between the search and now: as if not listed
            result.unsure.add(repo)
            result.skipped[repo] = f"the hub could not say ({error}); kept as it is"
            continue
        result.wanted[repo] = wanted
    return result


def _candidates(hub: Hub, base: Base, namespace: str | None) -> list[dict[str, Any]]:
    """LoRA adapters visible to the token (search has no namespace filter: narrowed by q, then exactly)."""
    filters = {"method": SERVABLE_METHOD} | ({"base_model": base.base_model} if base.base_model else {})
    rows = hub.search(namespace, sort="name", limit=None, **filters)
    return [row for row in rows if namespace is None or row["namespace"] == namespace]


def _tagged(hub: Hub, repo: str, tag: str, base: Base, installed: dict[str, Any] | None) -> Wanted:
    info = hub.info(repo)
    number = info["latest_version"] if tag == "main" else info["refs"].get(tag)
    if number is None:
        raise Refused(repo, f"it has no {tag!r} tag")
    revision = next(v["revision"] for v in info["versions"] if v["version"] == number)
    if installed is not None and installed["revision"] == revision:
        return Wanted(repo, number, revision)  # checked when it was installed, against the same base
    version, _report = checked_version(hub, f"{repo}@{revision}", base.structure)
    return Wanted(repo, version["version"], version["revision"])


@dataclass(frozen=True)
class Change:
    line: str
    apply: Callable[[], None]


def plan(hub: Hub, target: Path, base: Base, state: dict[str, Any], found: Survey) -> list[Change]:
    """The changes that bring `target` to `found`, each with its line; nothing is changed here."""
    entries: dict[str, dict[str, Any]] = state["adapters"]
    changes = []
    for repo, wanted in sorted(found.wanted.items()):
        entry = entries.get(repo)
        if entry is None or entry["revision"] != wanted.revision:
            changes.append(_install(hub, target, base, state, wanted))
    for repo in sorted(set(entries) - set(found.wanted) - found.unsure):
        why = found.skipped.get(repo, "deleted on the hub, or no longer visible to this token")
        changes.append(_removal(target, state, repo, why))
    return changes


def _install(hub: Hub, target: Path, base: Base, state: dict[str, Any], wanted: Wanted) -> Change:
    old = state["adapters"].get(wanted.repo)
    what = (
        f"add {wanted.repo} {wanted.version}"
        if old is None
        else f"update {wanted.repo} {old['version']} -> {wanted.version}"
    )
    line = f"{what} (revision {wanted.revision[:REVISION_CHARS]}) as {wanted.alias}"

    def apply() -> None:
        snapshot = hub.download(f"{wanted.repo}@{wanted.revision}")  # verified against the hub's digests
        install_folder(target, wanted.folder, snapshot, base.served_as)
        swap_link(target, wanted.alias, wanted.folder)
        if old is not None and old["folder"] != wanted.folder:
            state["retired"].append(old["folder"])  # removed at the end of the pass, after RETIRE_GRACE_SECONDS
        state["adapters"][wanted.repo] = {"version": wanted.version, "revision": wanted.revision,
                                          "folder": wanted.folder, "alias": wanted.alias}  # fmt: skip
        write_state(target, state)

    return Change(line, apply)


def _removal(target: Path, state: dict[str, Any], repo: str, why: str) -> Change:
    entry = state["adapters"][repo]

    def apply() -> None:
        remove_link(target, entry["alias"])
        remove_folder(target, entry["folder"])
        del state["adapters"][repo]
        write_state(target, state)

    return Change(f"remove {repo} {entry['version']}: {why}", apply)


def install_folder(target: Path, name: str, snapshot: Path, served_as: str) -> None:
    """Copy a snapshot into target/name whole: written in a temporary folder in `target`, then renamed."""
    temporary = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=target))
    try:
        for source in sorted(snapshot.rglob("*")):
            destination = temporary / source.relative_to(snapshot)
            if source.is_dir():
                destination.mkdir(exist_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)  # copies: engines may not follow the cache's links
        _rewrite_base(temporary / CONFIG_NAME, served_as)
        temporary.chmod(0o755)
        os.replace(temporary, target / name)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _rewrite_base(config_path: Path, served_as: str) -> None:
    """base_model_name_or_path as the engine names its base (vLLM's filesystem resolver compares the two)."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = served_as
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def swap_link(target: Path, alias: str, folder: str) -> None:
    """Point target/alias at `folder` in one step: a new link under a temporary name, renamed over the old."""
    temporary = target / f"{_TEMP_PREFIX}{alias}-{os.getpid()}-link"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(folder, target_is_directory=True)  # relative: DIR can be mounted elsewhere
    os.replace(temporary, target / alias)


def remove_link(target: Path, alias: str) -> None:
    (target / alias).unlink(missing_ok=True)


def remove_folder(target: Path, name: str) -> None:
    """Rename the folder away first (it disappears whole), then delete it."""
    path = target / name
    if not path.exists():
        return
    doomed = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=target)) / name
    os.replace(path, doomed)
    shutil.rmtree(doomed.parent, ignore_errors=True)


def read_state(target: Path, base: Base) -> dict[str, Any]:
    """The state file (or a new state); SyncError when DIR was synced for another base."""
    path = target / STATE_NAME
    if not path.exists():
        return {"base": base.given, "served_as": base.served_as, "adapters": {}, "retired": []}
    state = json.loads(path.read_text(encoding="utf-8"))
    state.setdefault("retired", [])
    if (state.get("base"), state.get("served_as")) != (base.given, base.served_as):
        raise SyncError(
            f"{target} is synced for base {state.get('base')!r} (served as {state.get('served_as')!r}); "
            "sync each base into its own folder"
        )
    return state


def write_state(target: Path, state: dict[str, Any]) -> None:
    temporary = target / f"{_TEMP_PREFIX}{STATE_NAME}-{os.getpid()}"
    temporary.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target / STATE_NAME)


@dataclass
class Options:
    tag: str = "stable"
    namespace: str | None = None
    dry_run: bool = False


def sync_once(hub: Hub, target: Path, base: Base, options: Options, say: Say, told: dict[str, str]) -> int:
    """One pass: survey, plan, apply (unless dry run); say each change and each new skip. The change count."""
    if options.dry_run:
        return _pass(hub, target, base, options, say, told)
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / LOCK_NAME)):  # one sync per folder at a time: leftovers are then safe to clear
        _clear_leftovers(target)
        retire(target, read_state(target, base))
        return _pass(hub, target, base, options, say, told)


def _clear_leftovers(target: Path) -> None:
    """Temporary folders and links of a pass that was killed midway (engines never read them: hidden names)."""
    for path in target.glob(f"{_TEMP_PREFIX}*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _pass(hub: Hub, target: Path, base: Base, options: Options, say: Say, told: dict[str, str]) -> int:
    state = read_state(target, base)
    found = survey(hub, base, tag=options.tag, namespace=options.namespace, known=state["adapters"])
    for repo, reason in sorted(found.skipped.items()):
        if told.get(repo) != reason:  # --watch repeats a skip only when its reason changes
            say(f"skip {repo}: {reason}")
    told.clear()
    told.update(found.skipped)
    changes = plan(hub, target, base, state, found)
    for change in changes:
        if options.dry_run:
            say(f"would {change.line}")
        else:
            try:
                change.apply()
            except SIGNATURE_REFUSALS as error:  # HUB_VERIFY refused it: the engine keeps what it had
                say(f"refuse to {change.line}: [{error.code}] {error}")
                continue
            say(change.line)
    if state["retired"] and not options.dry_run:
        time.sleep(RETIRE_GRACE_SECONDS)
        retire(target, state)
    return len(changes)


def retire(target: Path, state: dict[str, Any]) -> None:
    """Remove the folders that aliases no longer name (also those a killed pass left listed in the state)."""
    if not state["retired"]:
        return
    for name in state["retired"]:
        remove_folder(target, name)
    state["retired"] = []
    write_state(target, state)


def sync(hub: Hub, target: Path, base: Base, options: Options, say: Say, *, watch: float | None = None) -> int:
    """sync_once, then again every `watch` seconds (a hub that cannot be reached is reported and retried)."""
    if options.namespace is not None:
        parse_adapter_ref(f"{options.namespace}/x")  # InvalidName for a malformed namespace, before any request
    say(f"Syncing {hub.url} into {target}: tag {options.tag!r}, fitting {base.describe()}")
    told: dict[str, str] = {}
    count = sync_once(hub, target, base, options, say, told)
    while watch is not None:
        time.sleep(watch)
        try:
            count += sync_once(hub, target, base, options, say, told)
        except HubError as error:
            say(f"error [{error.code}]: {error} (retrying in {watch:g}s)")
    return count


__all__ = ["Base", "Options", "SyncError", "base_for", "sync", "sync_once"]
