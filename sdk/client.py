"""``Hub``: publish, search, inspect, check, download and pull adapters from an Adapter Hub.

Torch is imported only inside the methods that take a model (``pull``, ``check`` with a module,
``publish`` of a model object), so the client installs and imports without it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sdk import merging, settings
from sdk._direct import upload_direct
from sdk._http import HttpSession, SearchResults, resolve_token, resolve_url
from sdk.cache import Cache, default_cache_dir, offline_from_env
from sdk.collect import LocalFile, collect
from sdk.errors import InvalidName, InvalidRequest, OfflineError, name_rule_errors
from sdk.formats import check_name, check_revision_name, is_revision_id
from sdk.formats.search_surface import DEFAULT_SORT, FILTER_NAMES, SORT_NAMES, is_sort
from sdk.signing.pins import TrustStore
from sdk.signing.publish import sign_files
from sdk.signing.pull import check_mode, verify_pulled

if TYPE_CHECKING:
    from sdk.formats.compat import CompatReport

log = logging.getLogger("sdk")
MAIN = "main"
MAX_PAGE = 100  # the hub's limit per request
OPEN_ENDED_PAGE = 20  # when no limit is given, small pages: most iterations stop early
PARALLEL_FILES = 4  # files of one version fetched at once


@dataclass(frozen=True)
class AdapterRef:
    """``namespace/name`` and a revision: "main", a tag, "v3" or a (prefix of a) 40-hex revision id."""

    repo: str
    revision: str

    @property
    def pinned(self) -> bool:
        """A full revision id always names the same bytes; tags and numbers are looked up again."""
        return is_revision_id(self.revision)

    def __str__(self) -> str:
        return f"{self.repo}@{self.revision}"


def parse_adapter_ref(text: str, revision: str | None = None) -> AdapterRef:
    """Split "ns/name[@rev]"; `revision` may name the revision instead (not both, unless they agree).

    Raises:
        InvalidName: the text is not ``namespace/name`` with valid names, or the revision is malformed.
    """
    repo, _, inline = text.partition("@")
    if inline and revision and inline != revision:
        raise InvalidName(f"{text!r} names revision {inline!r} but revision={revision!r} was also given.")
    chosen = inline or revision or MAIN
    namespace, slash, name = repo.partition("/")
    hint = f"{text[:120]!r} is not an adapter name like 'acme/sst2-lora' (optionally '@v2')"
    if not slash:
        raise InvalidName(f"{hint}: it has no '/' between namespace and name.")
    # The hub's own rules (sdk.formats.names), so a name the hub would refuse fails here, before any request.
    with name_rule_errors(hint):
        check_name(namespace, "namespace name")
        check_name(name, "adapter name")
    with name_rule_errors():
        check_revision_name(chosen)
    return AdapterRef(repo, chosen)


class Hub:
    """A client for one hub, with a local cache.

    Args:
        url: the hub's base URL; default HUB_URL, else http://127.0.0.1:8000.
        token: an API token; default HUB_TOKEN, else the token saved by `hub login`.
        cache_dir: the cache folder; default HUB_CACHE, else ~/.cache/adapter-hub.
        offline: serve only from the cache; default HUB_OFFLINE (1/true/yes/on).
        retries: retries of idempotent requests on connection errors and 502/503/504.
        backoff: first retry delay in seconds, doubled at each retry.
        timeout: seconds to wait for the hub (per read, not per download).
        verify: signatures on download and pull: "auto" (verify when signed), "require" (refuse unsigned,
            untrusted or revoked), "off"; default HUB_VERIFY, else "auto".
        trust_file: trust only the signers this JSON file lists per namespace (default HUB_TRUST_FILE); without
            one, the hub's key list is pinned in the cache at first use (sdk/signing/pins.py).
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        cache_dir: str | Path | None = None,
        *,
        offline: bool | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 60.0,
        verify: str | None = None,
        trust_file: str | Path | None = None,
    ) -> None:
        self.url = resolve_url(url)
        # What this hub says a name or revision is: kept apart from what other hubs said (sdk/cache.py).
        self.cache = Cache(Path(cache_dir) if cache_dir is not None else default_cache_dir(), self.url)
        self.offline = offline_from_env() if offline is None else offline
        self._http = HttpSession(self.url, resolve_token(token), retries=retries, backoff=backoff, timeout=timeout)
        self.verify = check_mode(verify or settings.verify_mode())
        file = Path(trust_file) if trust_file is not None else settings.trust_file()
        self.trust = TrustStore(self.cache.hub_root / "trust", None if self.offline else self.signers, file)

    def __repr__(self) -> str:
        return f"Hub({self.url!r}, cache_dir={str(self.cache.root)!r}{', offline' if self.offline else ''})"

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (the Hub is unusable afterwards)."""
        self._http.close()

    def info(self, name: str) -> dict[str, Any]:
        """The adapter: description, tags, license, downloads, refs and every version.

        Args:
            name: "namespace/name" (a revision suffix is ignored).

        Returns:
            The hub's adapter document (see docs/api.md).

        Raises:
            AdapterNotFound: no such adapter. OfflineError: in offline mode.
        """
        ref = parse_adapter_ref(name)
        self._require_online(f"information about {ref.repo}")
        return self._http.get_json(f"/api/adapters/{ref.repo}", what=ref.repo)

    def version(self, name: str, *, revision: str | None = None) -> dict[str, Any]:
        """One version's document: files, config, facts, manifest, base model and fingerprint.

        Args:
            name: "namespace/name[@revision]".
            revision: "main" (default), a tag, "v3" or a revision id.

        Returns:
            The version document; for a full revision id already downloaded, read from the cache.

        Raises:
            AdapterNotFound, RevisionNotFound: nothing by that name. OfflineError: offline and not cached.
        """
        return self._version(parse_adapter_ref(name, revision))

    def search(
        self, q: str | None = None, *, sort: str = DEFAULT_SORT, limit: int | None = 20, **filters: str
    ) -> SearchResults:
        """Search adapters by full text and facets; results are fetched page by page as you iterate.

        Args:
            q: full-text query over names, base models, tasks, tags and descriptions.
            **filters: exact facet filters, any of base_model, task, architecture, method, library, license and
                tag (the hub's search surface; "gpt2" and "openai-community/gpt2" name the same base).
            sort: "downloads" (default), "recent", "name", or "metric:accuracy" (best stated score first;
                needs task=).
            limit: the most results to yield; None for all of them (pages follow lazily).

        Returns:
            An iterator of adapter summaries (dicts), with `.total` and `.facets` of the whole result.

        Raises:
            InvalidRequest: a bad sort or filter. OfflineError: in offline mode.
        """
        unknown = sorted(set(filters) - set(FILTER_NAMES))
        if unknown or not is_sort(sort):
            bad = f"filters {unknown}" if unknown else f"sort {sort!r}"
            raise InvalidRequest(
                f"Unknown search {bad}: filters are {', '.join(FILTER_NAMES)}; "
                f"sorts are {', '.join(SORT_NAMES)} or metric:NAME (with task=)."
            )
        self._require_online("search")
        filters = {"q": q, **filters, "sort": sort}
        params = {key: value for key, value in filters.items() if value is not None}
        page_size = min(limit or OPEN_ENDED_PAGE, MAX_PAGE)

        def fetch(cursor: str | None) -> dict[str, Any]:
            page = {**params, "limit": page_size, **({"cursor": cursor} if cursor else {})}
            return self._http.get_json("/api/adapters", what="search", params=page)

        return SearchResults(fetch, limit)

    def download(self, name: str, *, revision: str | None = None, verify: str | None = None) -> Path:
        """Make a version's files available locally and return their folder (PEFT layout).

        The folder is a snapshot in the cache: do not modify its files. A second call for the same
        version transfers no file bytes; for a full revision id it makes no request at all.

        Args:
            name: "namespace/name[@revision]".
            revision: "main" (default), a tag, "v3" or a revision id.

        Returns:
            The snapshot folder, loadable with ``PeftModel.from_pretrained(base, folder)``.

        Raises:
            AdapterNotFound, RevisionNotFound: nothing by that name. OfflineError: offline and not cached.
            DigestMismatch, SizeMismatch: the bytes received are not the listed ones (nothing is kept).
            SignatureInvalid, UntrustedSigner, SignatureRequired: `verify` (default: the Hub's) refused it.
            HubConnectionError: the hub could not be reached after retries.
        """
        ref = parse_adapter_ref(name, revision)
        return self._snapshot(ref, self._version(ref), verify)

    def check(self, name: str, model: object, *, revision: str | None = None) -> CompatReport:
        """Would this adapter fit `model`? Decided from the version's facts alone: no weight is downloaded.

        Args:
            name: "namespace/name[@revision]".
            model: a torch module (the base model, or a model with adapters already in it), or a
                ``sdk.formats.compat.ModelStructure`` (which needs no torch).
            revision: "main" (default), a tag, "v3" or a revision id.

        Returns:
            A CompatReport: ``.ok``, ``.problems`` per module, and a readable ``str()``.

        Raises:
            AdapterNotFound, RevisionNotFound: nothing by that name. OfflineError: offline and not cached.
        """
        return _compatibility(self._version(parse_adapter_ref(name, revision)), model)

    def pull(
        self,
        name: str,
        into: Any,
        *,
        revision: str | None = None,
        adapter_name: str = "default",
        force: bool = False,
        verify: str | None = None,
    ) -> Any:
        """Check, download and inject an adapter into `into` (plain torch; peft only for exotic methods).

        The compatibility check runs on the version's facts before any weight is downloaded.

        Args:
            name: "namespace/name[@revision]".
            into: the base model (a torch module); changed in place.
            revision: "main" (default), a tag, "v3" or a revision id.
            adapter_name: the name the adapter gets in the model (several may coexist).
            force: load despite warnings (another base fingerprint or model type); never despite errors.
            verify: "auto", "require" or "off" (default: the Hub's); the files are checked before they load.

        Returns:
            `into`, with the adapter active; its handle (disable, enable, unload, merge) is
            ``into.hub_adapters[adapter_name]``.

        Raises:
            IncompatibleAdapterError: the adapter does not fit (or only warnings, without force); its
                message lists the problems per module. Nothing was downloaded.
            AdapterNotFound, RevisionNotFound, OfflineError, HubConnectionError: as for download().
        """
        from sdk.torch.errors import refuse_unfit
        from sdk.torch.loaders import pull_folder

        ref = parse_adapter_ref(name, revision)
        version = self._version(ref)
        refuse_unfit(_compatibility(version, into), adapter=_label(ref, version), force=force)
        base = {"base_fingerprint": version.get("base_fingerprint"), "base_model_type": version.get("base_model_type")}
        # PEFT, `adapters` or OpenDelta: the loader of the library that wrote the folder.
        pull_folder(into, self._snapshot(ref, version, verify), adapter_name=adapter_name, force=force, **base)
        return into

    def publish(
        self,
        source: object,
        name: str,
        *,
        base_model: str | None = None,
        task: str | None = None,
        base: object = None,
        license: str | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        base_revision: str | None = None,
        base_model_type: str | None = None,
        private: bool | None = None,
        allow_unchanged: bool = False,
        base_fingerprint: str | None = None,
        lineage: list[dict[str, Any]] | None = None,
        sign_key: str | Path | None = None,
        sign_certificate: str | Path | None = None,
        certificate_chain: Sequence[str | Path] = (),
    ) -> dict[str, Any]:
        """Publish a new version: hash the files, upload only the blobs the hub lacks, commit.

        Args:
            source: a folder saved by PEFT, a PeftModel, or a (dict of tensors, adapter config) pair.
                An ``adapter_model.bin`` is converted to safetensors (with a warning).
            name: "namespace/name", created on first publish.
            base_model: the base's canonical id ("gpt2"); default: adapter_config.json's base_model_name_or_path.
            task: e.g. "text-classification"; default from the config's task_type.
            base: the base model object, for its model type and structural fingerprint (a PeftModel's
                own base is used by default).
            license, tags, description: catalogue metadata (description: markdown, used without a README.md).
            base_revision, base_model_type, base_fingerprint: override what is read from the config or the
                base model.
            private: True hides the adapter from everyone without a role in its namespace (None keeps
                the current visibility; a new adapter is public).
            allow_unchanged: make a version even when every file and the metadata equal the latest version's.
            lineage: for a merged adapter, its sources [{"adapter", "revision", "version", "weight"}] (merge
                sets it); the hub checks and records them.
            sign_key: an EC private key (PEM): the files are signed with model-signing and the bundle is
                uploaded as model.sig. Without it, a model.sig already in the folder (``model_signing sign``)
                is published as it is. The hub verifies either against the namespace's signers.
            sign_certificate, certificate_chain: sign with the key's certificate (and its chain up to a CA the
                namespace trusts) instead of the bare key.

        Returns:
            The new version's document (version "v3", revision, files, facts...). When nothing changed since
            the latest version (and not `allow_unchanged`), no version is made: the answer is that version's
            document with ``"unchanged": True`` and a ``"message"``, which is also logged as a warning.

        Raises:
            AuthenticationRequired, Forbidden: no token, or not your namespace.
            SignatureInvalid, UntrustedSigner, SignatureRequired: the hub refused the signature (or its absence).
            InvalidMetadata, PickleRefused, InvalidSafetensors, InconsistentAdapter...: the hub refused it.
            TypeError, FileNotFoundError: `source` is not a publishable adapter.
        """
        repo = _publish_target(name, "Publish to")
        self._require_online(f"publish to {repo}")
        meta = {"base_model": base_model, "base_revision": base_revision, "task": task, "license": license}
        meta |= {"tags": list(tags or []), "description": description}
        if private is not None:
            meta["private"] = private
        if allow_unchanged:  # sent only when set: older hubs refuse fields they do not know
            meta["allow_unchanged"] = True
        if lineage is not None:
            meta["lineage"] = lineage
        with collect(source, base) as collected:
            meta["base_model_type"] = base_model_type or collected.base_model_type
            meta["base_fingerprint"] = base_fingerprint or collected.base_fingerprint
            if collected.converted_from:
                meta["converted_from"] = collected.converted_from  # recorded in the version's facts
            if sign_key is None:
                return self._publish_files(repo, collected.files, meta)
            with tempfile.TemporaryDirectory(prefix="adapter-hub-sign-") as scratch:
                files = sign_files(
                    collected.files,
                    Path(sign_key),
                    Path(scratch),
                    certificate=Path(sign_certificate) if sign_certificate else None,
                    chain=[Path(c) for c in certificate_chain],
                    model_name=repo.split("/", 1)[1],
                )
                return self._publish_files(repo, files, meta)

    def set_visibility(self, name: str, *, private: bool) -> dict[str, Any]:
        """Make an adapter private or public (needs the write role in its namespace).

        Raises:
            AdapterNotFound, Forbidden, InsufficientScope: no such adapter for you, or not allowed.
        """
        repo = parse_adapter_ref(name).repo
        response = self._http.call(
            "PATCH", f"/api/adapters/{repo}", what=f"visibility of {repo}", idempotent=True, json={"private": private}
        )
        return response.json()

    def merge(self, sources: Sequence[str], *, name: str, method: str, **options: Any) -> dict[str, Any]:
        """Merge LoRA adapters into a new adapter `name` and publish it with its lineage.

        ``hub.merge(["acme/code", "acme/french@v2"], name="acme/code-fr", method="cat", weights=[0.7, 0.3])``.
        The names are checked before any request; sdk/merging.py (``merge``) does the work and documents
        `method` (PEFT's combination types: "cat", "linear", "svd", "ties", "ties_svd", "dare_linear",
        "dare_ties", "dare_linear_svd", "dare_ties_svd", "magnitude_prune", "magnitude_prune_svd"), the
        options (weights, density, majority_sign_method, seed, svd_rank, svd_clamp, license, tags,
        description, private), the result and the errors.
        """
        target = _publish_target(name, "Merge into")
        self._require_online(f"merge into {target}")
        refs = [parse_adapter_ref(source) for source in sources]
        return merging.merge(self, refs, target, method=method, **options)

    def snapshot(self, version: dict[str, Any], *, verify: str | None = None) -> Path:
        """The verified local folder of a version document that version() returned (PEFT layout).

        Like download(), but the version is not looked up again: the files fetched are those of the
        document, so what was resolved and checked is what arrives. Only files the cache lacks are fetched.

        Raises:
            OfflineError: offline and not cached. DigestMismatch, SizeMismatch, HubConnectionError: as download().
        """
        return self._snapshot(parse_adapter_ref(version["adapter"], version["revision"]), version, verify)

    def register_base(self, model_or_folder: object, *, id: str, revision: str = MAIN) -> dict[str, Any]:
        """Register a base model as `id` ("ORG/NAME") at `revision`: its structure, sizes and small JSON files.

        A folder is read from config.json and its safetensors headers; a model from its parameters' shapes.
        No weight is ever sent. Returns the hub's answer (GET /api/bases/{id}).

        Raises:
            BaseStructureError: the folder is not a transformers model folder.
            AuthenticationRequired, Forbidden: no token, or no write role on ORG.
        """
        from sdk.bases import describe_base, model_files, side_files

        self._require_online(f"register base {id}")
        folder = isinstance(model_or_folder, str | Path)
        files = side_files(Path(model_or_folder)) if folder else model_files(model_or_folder)  # type: ignore[arg-type]
        body = describe_base(model_or_folder) | {"id": id, "revision": revision, "files": files}
        return self._http.post_json("/api/bases", body, what=f"register base {id}")

    def whoami(self) -> dict[str, Any]:
        """The user the token belongs to: {"name", "is_admin", "namespaces"}.

        Raises:
            AuthenticationRequired, InvalidToken: no valid token.
        """
        return self._http.get_json("/api/whoami", what="whoami")

    def _publish_files(self, repo: str, files: list[LocalFile], meta: dict[str, Any]) -> dict[str, Any]:
        what = f"publish {repo}"
        declared = {"files": [local.declared() for local in files]}
        started = self._http.post_json(f"/api/adapters/{repo}/uploads", declared, what=what)
        by_sha = {local.sha256: local for local in files}
        missing = [by_sha[blob["sha256"]] for blob in started["missing"]]
        log.info("%s: uploading %d of %d files; the hub has the rest", repo, len(missing), len(files))
        for blob, local in zip(started["missing"], missing, strict=True):
            if "direct" in blob:  # a large file on S3: straight to storage, in parallel parts
                upload_direct(self._http, blob, local.source, local.size, what=f"{what}: {local.path}")
            else:
                self._http.put_file(blob["url"], local.source, local.size, what=f"{what}: {local.path}")
        version = self._http.post_json(started["commit_url"], meta, what=what)
        if version.get("unchanged"):
            log.warning("%s: %s", repo, version["message"])
        return version

    def _version(self, ref: AdapterRef) -> dict[str, Any]:
        cached = self._cached_version(ref)
        if cached is not None:
            return cached
        self._require_online(f"{ref} is not in the cache at {self.cache.root}, so it")
        version = self._http.get_json(f"/api/adapters/{ref.repo}/versions/{quote(ref.revision)}", what=str(ref))
        self.cache.write_version(ref.repo, version)
        if not ref.pinned:
            self.cache.write_ref(ref.repo, ref.revision, version["revision"])
        return version

    def _cached_version(self, ref: AdapterRef) -> dict[str, Any] | None:
        # Online, only a full revision id may skip the hub (tags move); offline, refs/ says what a tag last named.
        if ref.pinned:
            revision: str | None = ref.revision
        else:
            revision = self.cache.read_ref(ref.repo, ref.revision) if self.offline else None
        if revision is None or not (self.offline or self.cache.has_snapshot(ref.repo, revision)):
            return None
        return self.cache.read_version(ref.repo, revision)

    def _snapshot(self, ref: AdapterRef, version: dict[str, Any], verify: str | None = None) -> Path:
        folder = self._files(ref, version)
        # Every time, from the bytes on disk: a cached file changed since it was downloaded is refused too.
        verify_pulled(folder, version, check_mode(verify or self.verify), self.trust, _label(ref, version))
        return folder

    def _files(self, ref: AdapterRef, version: dict[str, Any]) -> Path:
        revision = version["revision"]
        if self.cache.has_snapshot(ref.repo, revision):
            return self.cache.snapshot_path(ref.repo, revision)
        self._require_online(f"the files of {_label(ref, version)} are not in the cache at {self.cache.root}, so they")
        # The small files (config, card) come in beside the weights: their round trips to the hub and to storage
        # would otherwise add up before or after the large transfer (bench/bench_pull, docs/performance.md).
        with ThreadPoolExecutor(min(PARALLEL_FILES, len(version["files"]) or 1), thread_name_prefix="sdk-file") as pool:
            list(pool.map(lambda entry: self._fetch_file(ref, version, entry), version["files"]))
        return self.cache.link_snapshot(ref.repo, revision, {f["path"]: f["sha256"] for f in version["files"]})

    def _fetch_file(self, ref: AdapterRef, version: dict[str, Any], entry: dict[str, Any]) -> Path:
        path = f"/api/adapters/{ref.repo}/versions/{version['revision']}/files/{quote(entry['path'])}"
        what = f"{_label(ref, version)}, file {entry['path']}"

        def fetch(out: Any) -> None:
            self._http.download(path, out, entry["size"], what=what)

        return self.cache.ensure_blob(entry["sha256"], entry["size"], fetch, what=what)

    def _require_online(self, what: str) -> None:
        if self.offline:
            raise OfflineError(f"{what} cannot be served: offline mode (HUB_OFFLINE=1) makes no request to the hub.")

    def move_tag(self, name: str, tag: str, revision: str) -> dict[str, Any]:
        """Point `tag` (e.g. "stable") at a version, creating the tag if it is new (needs write).

        Args:
            name: "namespace/name".
            tag: the tag to move; not "vN" nor revision-shaped (the hub refuses those).
            revision: the version it names: "v2", a revision id, or another tag.

        Returns:
            {"ref", "version", "revision"}: what the tag names now.

        Raises:
            AdapterNotFound, RevisionNotFound, InvalidName, Forbidden: as the hub answers.
        """
        repo = parse_adapter_ref(name).repo
        self._require_online(f"tag {tag!r} of {repo}")
        path = f"/api/adapters/{repo}/refs/{quote(tag, safe='')}"
        what = f"tag {tag!r} of {repo}"
        return self._http.call("PUT", path, what=what, idempotent=True, json={"revision": revision}).json()

    def delete(self, name: str, *, revision: str | None = None) -> None:
        """Delete one version ("ns/name@v2", or revision=), or with no revision the adapter and all its versions.

        Needs the owner role. Deleted versions disappear at once; `hub gc` frees their storage later.

        Raises:
            AdapterNotFound, RevisionNotFound, Forbidden: as the hub answers.
        """
        ref = parse_adapter_ref(name, revision)
        one_version = "@" in name or revision is not None
        self._require_online(f"delete {ref if one_version else ref.repo}")
        path = f"/api/adapters/{ref.repo}" + (f"/versions/{quote(ref.revision, safe='')}" if one_version else "")
        # Not repeated after a lost answer: a second DELETE of a version that is gone would report it missing.
        self._http.call("DELETE", path, what=f"delete {ref if one_version else ref.repo}", idempotent=False)

    def signers(self, namespace: str) -> list[dict[str, Any]]:
        """The signers `namespace` trusts (public keys, CA + identity), revoked ones included."""
        self._require_online(f"the signers of {namespace}")
        return self._http.get_json(f"/api/namespaces/{_segment(namespace)}/keys", what=f"signers of {namespace}")

    def add_signer(
        self,
        namespace: str,
        public_key: str | None = None,
        *,
        name: str = "",
        ca_certificate: str | None = None,
        identity: str | None = None,
    ) -> dict[str, Any]:
        """Trust a public key (PEM text), or a CA certificate (PEM) for one identity, in `namespace` (owners)."""
        body = {"public_key": public_key, "ca_certificate": ca_certificate, "identity": identity, "name": name}
        path = f"/api/namespaces/{_segment(namespace)}/keys"
        return self._http.post_json(path, body, what=f"add a signer to {namespace}")

    def revoke_signer(self, namespace: str, key_id: str) -> dict[str, Any]:
        """Revoke a signer: the versions it signed stay, and read ``trusted: false`` (owners)."""
        path = f"/api/namespaces/{_segment(namespace)}/keys/{quote(key_id, safe='')}"
        return self._http.call("DELETE", path, what=f"revoke {key_id[:16]}", idempotent=True).json()

    def require_signatures(self, namespace: str, required: bool = True) -> dict[str, Any]:
        """Refuse (or stop refusing) unsigned publishes to `namespace` (owners)."""
        path = f"/api/namespaces/{_segment(namespace)}/signing"
        body = {"require_signatures": required}
        return self._http.call("PUT", path, what=f"signing policy of {namespace}", idempotent=True, json=body).json()

    def org_create(self, name: str) -> dict[str, Any]:
        """Create an organisation; the token's user becomes its owner. Returns {"name", "kind"}.

        Raises:
            InvalidName, ReservedName: the name is malformed, reserved or taken.
        """
        self._require_online(f"create organisation {name!r}")
        return self._http.post_json("/api/orgs", {"name": name}, what=f"create organisation {name!r}")

    def org_members(self, org: str) -> list[dict[str, Any]]:
        """An organisation's members, [{"user", "role", "since"}] (members only)."""
        self._require_online(f"members of {org!r}")
        return self._http.get_json(f"{_org_path(org)}/members", what=f"members of {org!r}")

    def org_set_member(self, org: str, user: str, role: str) -> dict[str, Any]:
        """Add `user` to `org` with `role` ("owner", "write" or "read"), or change their role (owners only)."""
        what = f"make {user!r} {role} in {org!r}"
        self._require_online(what)
        path = f"{_org_path(org)}/members/{_segment(user)}"
        return self._http.call("PUT", path, what=what, idempotent=True, json={"role": role}).json()

    def org_remove_member(self, org: str, user: str) -> None:
        """Remove `user` from `org` (owners only; the last owner stays)."""
        what = f"remove {user!r} from {org!r}"
        self._require_online(what)
        self._http.call("DELETE", f"{_org_path(org)}/members/{_segment(user)}", what=what, idempotent=False)


def _publish_target(name: str, verb: str) -> str:
    """The "namespace/name" a publish or merge writes to; the hub numbers versions itself, so no '@...'."""
    repo = parse_adapter_ref(name).repo
    if "@" in name:
        raise InvalidName(f"{verb} {repo!r}: the hub numbers versions itself; drop the '@...' suffix.")
    return repo


def _org_path(org: str) -> str:
    return f"/api/orgs/{_segment(org)}"


def _segment(name: str) -> str:
    """A user or organisation name as one URL path segment; a malformed one is refused before any request."""
    with name_rule_errors(f"{name[:100]!r} is not a user or organisation name"):
        check_name(name, "user or organisation name")
    return quote(name, safe="")


def _compatibility(version: dict[str, Any], model: object) -> CompatReport:
    from sdk.formats.compat import ModelStructure, check_compatibility

    if not isinstance(model, ModelStructure):
        from sdk.torch.structure import model_structure

        model = model_structure(model)  # type: ignore[arg-type]
    return check_compatibility(
        version["facts"],
        model,
        base_fingerprint=version.get("base_fingerprint"),
        base_model_type=version.get("base_model_type"),
    )


def _label(ref: AdapterRef, version: dict[str, Any]) -> str:
    """The name asked for and what it resolved to: acme/x@main (v3, revision 1a2b3c4d5e6f)."""
    return f"{ref} ({version.get('version')}, revision {version['revision'][:12]})"
