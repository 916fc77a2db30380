"""``Hub.merge``: build one LoRA adapter from several published ones and publish it with its lineage.

Built on the Hub's public methods alone (``version``, ``snapshot``, ``publish``); ``Hub.merge`` in
sdk/client.py parses the names and calls it. Order of work: resolve every source to a version (one request
each, or the cache), check the sources can be merged from their configs and tensor facts (no weight
downloaded yet), download them into the cache, merge with PEFT's arithmetic (sdk/torch/merge.py), write a
PEFT folder with a model card naming the sources, and publish it with ``lineage``: the source adapters, their
revisions and weights, which the hub checks and records. Torch is imported only once a merge runs (the client
installs without it).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdk.formats import PEFT_WEIGHTS_NAME

if TYPE_CHECKING:
    from sdk.client import AdapterRef, Hub
    from sdk.torch.merge import MergedLora
    from sdk.torch.merge_check import MergeSource

__all__ = ["merge", "model_card"]

METHOD_NOTES = {
    "cat": "exact: the merged adapter computes what the sources compute when run together with these weights",
    "linear": "the A and B matrices are averaged separately (an approximation; PEFT's `linear`)",
    "svd": "the weighted sum of the sources' weight deltas, truncated by SVD (PEFT's `svd`)",
    "ties": "TIES on the A and B matrices separately: magnitude pruning, sign election, disjoint mean",
    "dare_linear": "DARE on the A and B matrices separately: random pruning rescaled by 1/density, weighted sum",
    "dare_ties": "DARE pruning and TIES sign election on the A and B matrices separately",
    "magnitude_prune": "magnitude pruning of the A and B matrices separately, weighted sum",
    "ties_svd": "TIES on the sources' weight deltas, truncated by SVD",
    "dare_linear_svd": "DARE on the sources' weight deltas, truncated by SVD",
    "dare_ties_svd": "DARE pruning and TIES sign election on the sources' weight deltas, truncated by SVD",
    "magnitude_prune_svd": "magnitude pruning of the sources' weight deltas, weighted sum, truncated by SVD",
}


def merge(
    hub: Hub,
    sources: Sequence[AdapterRef],
    target: str,
    *,
    method: str,
    weights: Sequence[float] | None = None,
    svd_rank: int | None = None,
    svd_clamp: float | None = None,
    density: float | None = None,
    majority_sign_method: str | None = None,
    seed: int | None = None,
    license: str | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
    private: bool | None = None,
) -> dict[str, Any]:
    """Merge LoRA adapters into a new adapter and publish it, recording its lineage.

    The result is what PEFT's ``add_weighted_adapter(sources, weights, combination_type=method)`` builds,
    saved as a plain LoRA (lora_alpha = r, so scaling 1) that PEFT and ``hub.pull`` load. Called as
    ``hub.merge(["acme/code", "acme/french@v2"], name="acme/code-fr", method="cat", ...)``.

    Args:
        hub: the hub the sources are read from and the result is published to.
        sources: the adapters, as parse_adapter_ref reads "namespace/name[@revision]" (default revision main).
        target: the new adapter's "namespace/name" (created on first publish; a new version otherwise).
        method: PEFT's combination types: "cat" (exact; rank = sum of the ranks); "linear", "ties",
            "dare_linear", "dare_ties", "magnitude_prune" (A and B merged separately: same modules and
            ranks; rank kept); "svd", "ties_svd", "dare_linear_svd", "dare_ties_svd", "magnitude_prune_svd"
            (the weight deltas merged, then truncated by SVD: any LoRAs of one base; rank `svd_rank`,
            default the largest source rank).
        weights: one number per source (default 1.0 each); negative weights subtract.
        svd_rank, svd_clamp: for svd methods, the merged rank and an optional quantile to clamp U and Vh at.
        density: for ties, dare and magnitude_prune methods (required): the fraction of entries kept.
        majority_sign_method: for the ties methods (ties, dare_ties and their _svd): "total" (default) or
            "frequency".
        seed: for dare methods: seeds torch's generator for the random masks (default: a fresh seed);
            the seed used is written in the model card, so the merge can be repeated.
        license, tags, private: catalogue metadata of the new adapter.
        description: markdown added to the generated model card (README.md).

    Returns:
        The new version's document; its "lineage" lists the sources with revision, version and weight.
        The hub keeps only those per source, so the method and its parameters are recorded in the model
        card (README.md: YAML header and a table), which the adapter's page shows.

    Raises:
        MergeIncompatible: the sources cannot be merged with `method` (different bases, methods, target
            modules or ranks...); the message names the adapters and modules. Nothing was downloaded.
        ValueError: an unknown method, weights that do not match the sources, or options the method lacks or
            does not take. ImportError: torch, or for ties/dare/magnitude_prune peft, is not installed.
        InvalidName: (from Hub.merge, before any request) a malformed name, or a target with a revision suffix.
        AdapterNotFound, RevisionNotFound, OfflineError, HubConnectionError: as for download().
        AuthenticationRequired, Forbidden, InvalidMetadata: the hub refused the publish.
    """
    from sdk.torch.merge import write_adapter

    chosen = [1.0] * len(sources) if weights is None else [float(weight) for weight in weights]
    options = {"svd_rank": svd_rank, "svd_clamp": svd_clamp, "density": density,
               "majority_sign_method": majority_sign_method, "seed": seed}  # fmt: skip
    versions = [hub.version(ref.repo, revision=ref.revision) for ref in sources]
    merged = _merge_downloaded(hub, versions, chosen, method, **options)
    lineage = [_lineage_entry(version, weight) for version, weight in zip(versions, chosen, strict=True)]
    card = model_card(target, versions, chosen, merged.parameters, merged.rank, description)
    with tempfile.TemporaryDirectory(prefix="adapter-hub-merge-") as scratch:
        folder = write_adapter(merged, Path(scratch) / "merged", card=card)
        return hub.publish(
            folder, target, **_base_identity(versions), license=license, tags=tags, private=private, lineage=lineage
        )


def _merge_downloaded(
    hub: Hub, versions: list[dict[str, Any]], weights: list[float], method: str, **options: Any
) -> MergedLora:
    from safetensors.torch import load_file

    from sdk.torch.merge import LoadedSource, merge_lora, peft_merge_utils
    from sdk.torch.merge_check import PRUNING_METHODS, check_mergeable

    sources = [_merge_source(version) for version in versions]
    check_mergeable(sources, weights, method, **options)  # from the hub's facts: before downloading any weight
    if method in PRUNING_METHODS:
        peft_merge_utils()  # missing peft is said now, not after the downloads
    folders = [hub.snapshot(version) for version in versions]
    loaded = [
        LoadedSource(source, load_file(folder / PEFT_WEIGHTS_NAME))
        for source, folder in zip(sources, folders, strict=True)
    ]
    return merge_lora(loaded, weights, method, **options)


def _merge_source(version: dict[str, Any]) -> MergeSource:
    from sdk.torch.merge_check import MergeSource

    label = f"{version['adapter']}@{version['version']} (revision {version['revision'][:12]})"
    return MergeSource(
        label,
        version.get("config") or {},
        version.get("facts") or {},
        base_model=version.get("base_model"),
        base_fingerprint=version.get("base_fingerprint"),
    )


def _lineage_entry(version: dict[str, Any], weight: float) -> dict[str, Any]:
    return {
        "adapter": version["adapter"],
        "revision": version["revision"],
        "version": version["version"],
        "weight": weight,
    }


def _base_identity(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """The base identity the sources share (checked equal where known); the task only when all agree."""

    def common(key: str) -> Any:
        values = {version.get(key) for version in versions}
        return values.pop() if len(values) == 1 else None

    def first_known(key: str) -> Any:
        return next((version[key] for version in versions if version.get(key)), None)

    return {
        "base_model": first_known("base_model"),
        "base_revision": common("base_revision"),
        "base_model_type": first_known("base_model_type"),
        "base_fingerprint": first_known("base_fingerprint"),
        "task": common("task"),
    }


def model_card(
    name: str,
    versions: list[dict[str, Any]],
    weights: list[float],
    parameters: dict[str, Any],
    rank: int,
    description: str | None,
) -> str:
    """README.md of a merged adapter: what it was built from, how, and with which weights and parameters.

    Args:
        name: the new adapter's "namespace/name".
        versions: the sources' version documents, in merge order.
        weights: one per source.
        parameters: the method and its parameters (MergedLora.parameters: method, density, seed...).
        rank: the merged adapter's rank.
        description: markdown appended under "About", if given.

    Returns:
        The card, markdown with a YAML header as Hugging Face model cards have.
    """
    base = next((version["base_model"] for version in versions if version.get("base_model")), "unknown")
    rows = [
        f"| `{version['adapter']}` | {version['version']} | `{version['revision']}` | {weight:g} |"
        for version, weight in zip(versions, weights, strict=True)
    ]
    method = str(parameters["method"])
    settings = {key: value for key, value in parameters.items() if key != "method"}
    lines = [
        "---",
        f"base_model: {base}",
        "library_name: peft",
        "tags: [lora, merge]",
        f"merge_method: {method}",
        *([f"merge_parameters: {json.dumps(settings, sort_keys=True)}"] if settings else []),
        "---",
        f"# {name}",
        "",
        f"A LoRA adapter merged from {len(versions)} adapters with the `{method}` method "
        f"({METHOD_NOTES.get(method, method)}), rank {rank}, lora_alpha {rank}.",
        "",
        "| Source | Version | Revision | Weight |",
        "|---|---|---|---|",
        *rows,
    ]
    if settings:
        lines += [
            "",
            "| Parameter | Value |",
            "|---|---|",
            *(f"| {key} | `{value}` |" for key, value in settings.items()),
        ]
    if description:
        lines += ["", "## About", "", description.strip()]
    return "\n".join(lines) + "\n"
