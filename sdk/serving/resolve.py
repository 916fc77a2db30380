"""From a name a serving engine was asked for to a verified, immutable adapter folder that fits the served base.

Shared by the vLLM resolver (vllm_plugin.py) and `hub sync` (sync.py), through the public ``sdk.Hub`` API
only: ``version`` resolves a tag or number to a revision, ``check`` compares the version's facts with the
base's structure (no weight fetched), ``download`` fetches the files into the cache, each one checked
against the sha256 the hub lists. What cannot be served raises ``Refused`` with one readable reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdk.client import Hub, parse_adapter_ref
from sdk.errors import SIGNATURE_REFUSALS, DigestMismatch, HubConnectionError, HubError, InvalidName, SizeMismatch
from sdk.formats.compat import CompatReport, ModelStructure
from sdk.serving.structure import BaseStructureError, folder_structure

SERVABLE_METHOD = "lora"  # the one adapter type vLLM, SGLang, LoRAX, TGI and NIM all load
SERVABLE_LIBRARY = "peft"  # the layout they read (adapter_config.json + adapter_model.safetensors)
SHOWN_PROBLEMS = 3  # modules named in a refusal: enough to see the pattern, short enough for one log line
_INT_ID_SPAN = 2**31 - 1  # engines keep adapter ids in 32-bit signed slots
_UNSEEN = frozenset({401, 403, 404})  # no token, refused, or (private = missing) not found


class Refused(Exception):
    """The adapter asked for cannot be served; ``reason`` says why in one line."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Resolved:
    """One immutable revision of an adapter, checked against the base and downloaded (verified)."""

    repo: str
    version: str
    revision: str
    folder: Path
    warnings: tuple[str, ...] = ()

    @property
    def int_id(self) -> int:
        return revision_int_id(self.revision)


def revision_int_id(revision: str) -> int:
    """A positive 31-bit id derived from the revision's hex: the same revision always gets the same id."""
    return int(revision[:15], 16) % _INT_ID_SPAN + 1


def not_servable_reason(version: dict[str, Any]) -> str | None:
    """Why a version cannot be served by a LoRA engine (None when it can): method, library, DoRA."""
    method, library = version.get("method"), version.get("library")
    if method != SERVABLE_METHOD:
        return f"its method is {method!r}, and serving engines load LoRA adapters only"
    if library != SERVABLE_LIBRARY:
        return f"it was saved by {library!r}; serving engines read PEFT's LoRA layout only"
    if (version.get("facts") or {}).get("use_dora"):
        return "it is a DoRA adapter, which serving engines do not load"
    return None


def misfit_reason(report: CompatReport) -> str:
    """One line naming the first modules that do not fit, for a refusal."""
    errors = report.errors
    shown = "; ".join(problem.message for problem in errors[:SHOWN_PROBLEMS])
    more = f" (and {len(errors) - SHOWN_PROBLEMS} more)" if len(errors) > SHOWN_PROBLEMS else ""
    return f"it does not fit the served base: {shown}{more}"


def resolve(hub: Hub, name: str, structure: ModelStructure | None) -> Resolved:
    """Resolve `name` (ns/name, ns/name@v3, ns/name@stable, ns/name@<revision id>), check it, download it.

    `structure` None skips the structural check (the caller has no base folder and says so).

    Raises:
        Refused: unknown, not visible to the token, not LoRA, does not fit, or the download failed.
    """
    version, report = checked_version(hub, name, structure)
    folder = _guarded(name, lambda: hub.download(pinned_name(version)))
    found = tuple(problem.message for problem in report.warnings) if report else ()
    return Resolved(version["adapter"], version["version"], version["revision"], folder, found)


def checked_version(
    hub: Hub, name: str, structure: ModelStructure | None
) -> tuple[dict[str, Any], CompatReport | None]:
    """The version `name` names now, if a LoRA engine can serve it on `structure` (nothing downloaded).

    Raises:
        Refused: as for resolve().
    """
    version = _version(hub, name)
    reason = not_servable_reason(version)
    if reason:
        raise Refused(name, reason)
    return version, _checked(hub, name, pinned_name(version), structure)


def pinned_name(version: dict[str, Any]) -> str:
    """ns/name@<revision id>: names the same bytes forever."""
    return f"{version['adapter']}@{version['revision']}"


def _version(hub: Hub, name: str) -> dict[str, Any]:
    try:
        parse_adapter_ref(name)
    except InvalidName as error:
        raise Refused(name, str(error)) from None
    return _guarded(name, lambda: hub.version(name))


def _checked(hub: Hub, name: str, pinned: str, structure: ModelStructure | None) -> CompatReport | None:
    if structure is None:
        return None
    report = _guarded(name, lambda: hub.check(pinned, structure))
    if not report.ok:
        raise Refused(name, misfit_reason(report))
    return report


def _guarded(name: str, call: Any) -> Any:
    """Run a hub call; its failures become a Refused with a reason a server log reader understands."""
    try:
        return call()
    except (DigestMismatch, SizeMismatch) as error:
        raise Refused(name, f"the download did not verify, nothing was kept: {error}") from None
    except HubConnectionError as error:
        raise Refused(name, f"the hub could not be reached: {error}") from None
    except SIGNATURE_REFUSALS as error:  # checked on this side (HUB_VERIFY), whatever the hub said
        raise Refused(name, f"its signature did not verify, nothing is served: [{error.code}] {error}") from None
    except HubError as error:
        if error.status in _UNSEEN:
            # The hub answers 404 for a private adapter the token may not see: the two are one case here.
            raise Refused(name, "no such adapter or version on the hub, or not visible to this token") from None
        raise Refused(name, f"the hub refused: [{error.code}] {error}") from None


@functools.cache
def served_structure(base: str) -> ModelStructure:
    """The structure of the base an engine serves: `base` is its folder, or an id in the Hugging Face cache.

    Cached per process: an engine's base does not change while it runs.

    Raises:
        BaseStructureError: no readable model folder for `base`.
    """
    return folder_structure(served_folder(base))


def served_folder(base: str) -> Path:
    """`base` as a local folder: itself when it is one, else its snapshot in the Hugging Face cache (no download)."""
    if Path(base).expanduser().is_dir():
        return Path(base).expanduser()
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise BaseStructureError(f"{base}: not a local model folder (and huggingface_hub is not installed)") from None
    try:
        return Path(snapshot_download(base, local_files_only=True))
    except Exception as error:  # huggingface_hub raises a dozen kinds for "not in the cache"
        raise BaseStructureError(f"{base}: not a local model folder, nor in the Hugging Face cache ({error})") from None
