"""The `hub` command's client verbs, over the hub's HTTP API (registered by hub/cli.py).

publish, pull, search, info, check, merge, tag, delete, visibility, login, logout, whoami, `org`, sync and `keys`
(sdk/cli_signing.py). Every
handler returns an exit code and raises on failure: hub/cli.py's ``main`` turns the SDK's errors, file
errors, bad arguments and connection failures into one line (``error [Code]: message``), exit 1.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdk._http import save_token, token_file
from sdk.cli_signing import add_keys_verbs
from sdk.client import Hub, parse_adapter_ref
from sdk.settings import env_token

if TYPE_CHECKING:
    from sdk.formats.compat import ModelStructure

ROLES = ("owner", "write", "read")
_FACETS = ("base_model", "task", "architecture", "method", "library", "license", "tag")
_COLUMNS = (
    ("id", "ADAPTER"),
    ("latest_version", "VER"),
    ("method", "METHOD"),
    ("base_model", "BASE MODEL"),
    ("task", "TASK"),
    ("downloads", "DOWNLOADS"),
)


class CommandError(Exception):
    """A failure of the command itself (no hub error code), printed as ``error: message``."""


def add_client_verbs(verbs: argparse._SubParsersAction) -> None:
    """Register the client verbs on the `hub` command's sub-parsers."""
    _add_publish(verbs)
    _add_pull(verbs)
    _add_search(verbs)
    _add_info(verbs)
    _add_check(verbs)
    _add_merge(verbs)
    _add_tag_and_delete(verbs)
    _add_visibility(verbs)
    _add_account(verbs)
    _add_org(verbs)
    _add_sync(verbs)
    _add_base(verbs)
    add_keys_verbs(verbs)


def _add_publish(verbs: argparse._SubParsersAction) -> None:
    publish = verbs.add_parser("publish", help="publish a folder saved by PEFT as a new version")
    publish.add_argument("folder", type=Path, metavar="DIR")
    publish.add_argument("--name", required=True, metavar="NS/NAME")
    publish.add_argument("--base-model", help="canonical id of the base model, e.g. gpt2")
    publish.add_argument("--base-revision")
    publish.add_argument("--task", help="e.g. text-classification (default: from the config's task_type)")
    publish.add_argument("--license", help="e.g. apache-2.0")
    publish.add_argument("--tag", action="append", default=[], help="a catalogue tag (repeatable)")
    publish.add_argument("--description-file", type=Path, help="a markdown model card (when there is no README.md)")
    publish.add_argument("--private", action="store_true", default=None, help="hide it from non-members")
    publish.add_argument("--force", action="store_true", help="make a version even if nothing changed")
    publish.add_argument("--sign-key", type=Path, metavar="KEY.pem", help="sign with model-signing (EC private key)")
    publish.add_argument("--sign-certificate", type=Path, metavar="CERT.pem", help="the key's certificate")
    publish.add_argument(
        "--certificate-chain", type=Path, action="append", default=[], metavar="CA.pem", help="(repeatable)"
    )
    publish.set_defaults(run=_publish)


def _add_pull(verbs: argparse._SubParsersAction) -> None:
    pull = verbs.add_parser("pull", help="download an adapter (NS/NAME[@REV]) into the cache or a folder")
    pull.add_argument("name", metavar="NS/NAME[@REV]")
    pull.add_argument("--to", type=Path, help="copy the files into this folder (PEFT layout)")
    pull.add_argument("--verify", choices=("auto", "require", "off"), help="signatures (default: HUB_VERIFY, auto)")
    pull.set_defaults(run=_pull)


def _add_search(verbs: argparse._SubParsersAction) -> None:
    search = verbs.add_parser("search", help="search adapters (a table)")
    search.add_argument("query", nargs="?", help="full-text query")
    for facet in _FACETS:
        search.add_argument(f"--{facet.replace('_', '-')}")
    search.add_argument("--sort", choices=("downloads", "recent", "name"), default="downloads")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true", help="one JSON document per line")
    search.set_defaults(run=_search)


def _add_info(verbs: argparse._SubParsersAction) -> None:
    info = verbs.add_parser("info", help="show an adapter: versions, tags, facts")
    info.add_argument("name", metavar="NS/NAME")
    info.add_argument("--json", action="store_true", help="print the hub's JSON document")
    info.set_defaults(run=_info)


def _add_check(verbs: argparse._SubParsersAction) -> None:
    check = verbs.add_parser(
        "check",
        help="would an adapter fit a model? per module, from metadata only",
        description="Check an adapter against a model's structure, module by module, without downloading "
        "any weight. Exit status 0 when it fits, 1 when it does not.",
    )
    check.add_argument("name", metavar="NS/NAME[@REV]")
    model = check.add_mutually_exclusive_group(required=True)
    model.add_argument(
        "--base-structure",
        metavar="FILE",
        help="the model's modules, one 'path kind in out' per line as `model_structure(model).to_text()` "
        "writes them (or its to_dict() JSON); '-' reads stdin",
    )
    model.add_argument(
        "--model-dir",
        type=Path,
        metavar="DIR",
        help="a transformers model folder (config.json), built without weights; needs torch and transformers",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=_check)


def _add_merge(verbs: argparse._SubParsersAction) -> None:
    merge = verbs.add_parser(
        "merge",
        help="merge LoRA adapters into a new adapter (PEFT's add_weighted_adapter methods) and publish it",
        description="Checks the sources against each other from the hub's metadata before any download, merges "
        "them with PEFT's arithmetic and publishes the result with its lineage; needs torch (and peft for the "
        "ties, dare and magnitude_prune methods).",
    )
    merge.add_argument("sources", nargs="+", metavar="NS/NAME[@REV]")
    merge.add_argument("--name", required=True, metavar="NS/NAME", help="the merged adapter")
    merge.add_argument("--method", required=True, help="cat, linear, svd, ties, ties_svd, dare_linear, dare_ties, "
                       "dare_linear_svd, dare_ties_svd, magnitude_prune or magnitude_prune_svd")  # fmt: skip
    merge.add_argument("--weights", nargs="+", type=float, metavar="W", help="one per source (default 1 each)")
    merge.add_argument("--density", type=float, help="ties, dare, magnitude_prune: the fraction of entries kept")
    merge.add_argument("--majority-sign", choices=("total", "frequency"), help="ties methods (default total)")
    merge.add_argument("--seed", type=int, help="dare methods: seed of the random masks (default: a fresh one)")
    merge.add_argument("--svd-rank", type=int, help="svd methods: the merged rank (default: the largest)")
    merge.add_argument("--svd-clamp", type=float, help="svd methods: clamp at this quantile")
    merge.add_argument("--license", help="e.g. apache-2.0")
    merge.add_argument("--tag", action="append", default=[], help="a catalogue tag (repeatable)")
    merge.add_argument("--private", action="store_true", default=None, help="hide it from non-members")
    merge.set_defaults(run=_merge)


def _add_tag_and_delete(verbs: argparse._SubParsersAction) -> None:
    tag = verbs.add_parser("tag", help="point a tag (e.g. stable) at a version")
    tag.add_argument("name", metavar="NS/NAME")
    tag.add_argument("tag", metavar="TAG")
    tag.add_argument("revision", metavar="REV", help="v2, a revision id, or another tag")
    tag.set_defaults(run=_tag)
    delete = verbs.add_parser("delete", help="delete a version (NS/NAME@REV) or a whole adapter (NS/NAME)")
    delete.add_argument("name", metavar="NS/NAME[@REV]")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(run=_delete)


def _add_visibility(verbs: argparse._SubParsersAction) -> None:
    visibility = verbs.add_parser("visibility", help="make an adapter private or public")
    visibility.add_argument("name", metavar="NS/NAME")
    visibility.add_argument("visibility", choices=["private", "public"])
    visibility.set_defaults(run=_visibility)


def _add_account(verbs: argparse._SubParsersAction) -> None:
    login = verbs.add_parser("login", help="check a token against the hub and save it for later commands")
    login.add_argument("--token", help="the token (default: read from stdin, or prompted for)")
    login.set_defaults(run=_login)
    verbs.add_parser("logout", help="forget the token `hub login` saved").set_defaults(run=_logout)
    verbs.add_parser("whoami", help="the user your token belongs to, and their namespaces").set_defaults(run=_whoami)


def _add_org(verbs: argparse._SubParsersAction) -> None:
    org = verbs.add_parser("org", help="organisations: create, members, add, remove")
    org_verbs = org.add_subparsers(dest="org_verb", required=True, metavar="VERB")
    create = org_verbs.add_parser("create", help="create an organisation; you become its owner")
    create.add_argument("org", metavar="NAME")
    create.set_defaults(run=_org_create)
    members = org_verbs.add_parser("members", help="list an organisation's members and roles")
    members.add_argument("org", metavar="ORG")
    members.set_defaults(run=_org_members)
    add = org_verbs.add_parser("add", help="add USER to ORG, or change their role (owners)")
    add.add_argument("org", metavar="ORG")
    add.add_argument("user", metavar="USER")
    add.add_argument("--role", choices=ROLES, default="read", help="default: read")
    add.set_defaults(run=_org_add)
    remove = org_verbs.add_parser("remove", help="remove USER from ORG (owners)")
    remove.add_argument("org", metavar="ORG")
    remove.add_argument("user", metavar="USER")
    remove.set_defaults(run=_org_remove)


def _add_base(verbs: argparse._SubParsersAction) -> None:
    base = verbs.add_parser("base", help="registered base models: add")
    base_verbs = base.add_subparsers(dest="base_verb", required=True, metavar="VERB")
    add = base_verbs.add_parser("add", help="register a local model folder's structure and sizes (no weights)")
    add.add_argument("folder", type=Path, metavar="DIR")
    add.add_argument("--id", required=True, metavar="ORG/NAME", help="the base's id, e.g. meta-llama/Llama-3-8B")
    add.add_argument("--revision", default="main", help="default: main")
    add.set_defaults(run=_base_add)


def _add_sync(verbs: argparse._SubParsersAction) -> None:
    sync = verbs.add_parser(
        "sync",
        help="keep a folder of the LoRA adapters that fit a base, for engines that read folders",
        description="One subfolder per adapter (NS--NAME--REV12, plus the alias NS--NAME), swapped in atomically "
        "when the tag moves, removed when the adapter is deleted or hidden; see docs/serving.md.",
    )
    sync.add_argument("folder", type=Path, metavar="DIR")
    sync.add_argument("--base", required=True, metavar="BASE", help="the served model's folder, or a base model id")
    sync.add_argument("--served-as", metavar="NAME", help="the engine's name for the base (default: BASE as given)")
    sync.add_argument("--tag", default="stable", help="the tag to follow (default: stable; 'main': the latest)")
    sync.add_argument("--namespace", metavar="NS", help="only adapters of this user or organisation")
    sync.add_argument("--watch", type=float, metavar="SECONDS", help="sync again every SECONDS (Ctrl-C stops)")
    sync.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    sync.set_defaults(run=_sync)


def _base_add(args: argparse.Namespace) -> int:
    _require_folder(args.folder)
    with Hub() as hub:
        base = hub.register_base(args.folder, id=args.id, revision=args.revision)
    sizes = f"{base['num_layers']} layers, {base['total_parameters']:,} parameters, {base['dtype']}"
    print(f"Registered base {base['id']}@{base['revision']}: {sizes}, fingerprint {base['fingerprint'][:12]}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from sdk.serving import sync

    if args.watch is not None and args.watch <= 0:
        raise CommandError(f"--watch takes a positive number of seconds, not {args.watch:g}")
    options = sync.Options(tag=args.tag, namespace=args.namespace, dry_run=args.dry_run)
    base = sync.base_for(args.base, args.served_as)
    with Hub() as hub:
        try:
            sync.sync(hub, args.folder, base, options, lambda line: print(line, flush=True), watch=args.watch)
        except KeyboardInterrupt:  # how --watch is stopped
            return 0
    return 0


def _publish(args: argparse.Namespace) -> int:
    _require_folder(args.folder)
    description = args.description_file.read_text(encoding="utf-8") if args.description_file else None
    with Hub() as hub:
        version = hub.publish(
            args.folder,
            args.name,
            base_model=args.base_model,
            base_revision=args.base_revision,
            task=args.task,
            license=args.license,
            tags=args.tag,
            description=description,
            private=args.private,
            allow_unchanged=args.force,
            sign_key=args.sign_key,
            sign_certificate=args.sign_certificate,
            certificate_chain=args.certificate_chain,
        )
    if version.get("unchanged"):  # the SDK has logged why (stderr); stdout says which version stands
        where = f"{version['adapter']} {version['version']} (revision {version['revision']})"
        print(f"Unchanged: {where}; --force publishes anyway")
        return 0
    signed = f", signed by {version['signature']['signer']}" if version.get("signature") else ""
    print(f"Published {version['adapter']} {version['version']} (revision {version['revision']}){signed}")
    for warning in version.get("warnings") or []:  # evaluation results the hub could not read (not refused)
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _require_folder(folder: Path) -> None:
    if not folder.exists():
        raise FileNotFoundError(errno.ENOENT, "No such folder", str(folder))
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a folder (publish takes the folder PEFT saved)", str(folder))


def _visibility(args: argparse.Namespace) -> int:
    with Hub() as hub:
        answer = hub.set_visibility(args.name, private=args.visibility == "private")
    print(f"{answer['id']} is now {'private' if answer['private'] else 'public'}.")
    return 0


def _pull(args: argparse.Namespace) -> int:
    with Hub() as hub:
        folder = hub.download(args.name, verify=args.verify)
    if args.to is not None:
        # Copies, not links: the user may edit these files, and the cache must stay intact.
        shutil.copytree(folder, args.to, dirs_exist_ok=True)
        folder = args.to
    print(folder)
    return 0


def _search(args: argparse.Namespace) -> int:
    filters = {facet: getattr(args, facet) for facet in _FACETS}
    with Hub() as hub:
        results = hub.search(args.query, sort=args.sort, limit=args.limit, **filters)
        rows = list(results)
    if args.json:
        print("\n".join(json.dumps(row, sort_keys=True) for row in rows))
        return 0
    print(_table([[_cell(row.get(key)) for key, _ in _COLUMNS] for row in rows], [h for _, h in _COLUMNS]))
    print(f"{len(rows)} of {results.total} adapters")
    return 0


def _cell(value: object) -> str:
    """A dash only for what is not known: 0 downloads is a count, as `hub info` shows it."""
    return "-" if value is None or value == "" else str(value)


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _info(args: argparse.Namespace) -> int:
    with Hub() as hub:
        adapter = hub.info(args.name)
    if args.json:
        print(json.dumps(adapter, indent=2, sort_keys=True))
        return 0
    print(_describe(adapter))
    return 0


def _describe(adapter: dict[str, Any]) -> str:
    facts = [
        ("base model", "base_model"),
        ("architecture", "architecture"),
        ("method", "method"),
        ("library", "library"),
        ("task", "task"),
        ("license", "license"),
        ("downloads", "downloads"),
    ]
    lines = [adapter["id"] + ("  (private)" if adapter.get("private") else "")]
    lines += [f"  {label:<13}{_cell(adapter.get(key))}" for label, key in facts]
    lines.append(f"  {'tags':<13}{', '.join(adapter.get('tags') or []) or '-'}")
    lines.append(f"  {'refs':<13}{', '.join(f'{r} -> {v}' for r, v in sorted(adapter['refs'].items())) or '-'}")
    rows = [
        [v["version"], v["revision"][:12], v["created_at"] or "-", str(v["total_bytes"]), str(v["downloads"])]
        for v in adapter["versions"]
    ]
    lines += ["", _table(rows, ["VERSION", "REVISION", "CREATED", "BYTES", "DOWNLOADS"])]
    return "\n".join(lines)


def _check(args: argparse.Namespace) -> int:
    structure = _structure_file(args.base_structure) if args.base_structure else _model_dir_structure(args.model_dir)
    with Hub() as hub:
        report = hub.check(args.name, structure)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def _structure_file(source: str) -> ModelStructure:
    from sdk.formats.compat import ModelStructure

    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("{"):
            return ModelStructure.from_dict(json.loads(text))
        return ModelStructure.from_text(text)
    except ValueError as error:  # names the line at fault; say which file too
        raise ValueError(f"{'stdin' if source == '-' else source}: {error}") from None


def _model_dir_structure(folder: Path) -> ModelStructure:
    """The modules of a transformers model folder, built on the meta device: no weight is read or allocated."""
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(errno.ENOENT, "No config.json here (a transformers model folder has one)", str(folder))
    try:
        import torch
        import transformers

        from sdk.torch.structure import model_structure
    except ImportError as error:
        raise CommandError(
            f"--model-dir needs torch and transformers ({error.name} is missing): "
            "pip install 'adapter-hub[torch]' transformers, or pass --base-structure FILE"
        ) from None
    config = transformers.AutoConfig.from_pretrained(folder)
    # The class the folder was saved from keeps its module paths; a bare config gets the plain model.
    named = getattr(transformers, (getattr(config, "architectures", None) or [""])[0], None)
    with torch.device("meta"):
        model = named(config) if named is not None else transformers.AutoModel.from_config(config)
    return model_structure(model)


def _merge(args: argparse.Namespace) -> int:
    options = {"density": args.density, "majority_sign_method": args.majority_sign, "seed": args.seed,
               "svd_rank": args.svd_rank, "svd_clamp": args.svd_clamp}  # fmt: skip
    try:
        from sdk.torch.errors import MergeIncompatible
    except ImportError as error:
        raise CommandError(
            f"merge needs torch ({error.name} is missing): pip install 'adapter-hub[torch]' peft"
        ) from None
    with Hub() as hub:
        try:
            version = hub.merge(args.sources, name=args.name, method=args.method, weights=args.weights,
                                license=args.license, tags=args.tag, private=args.private, **options)  # fmt: skip
        except MergeIncompatible as error:  # the problems on one line, each naming adapters and modules
            raise CommandError(f"cannot merge with method {error.method!r}: {'; '.join(error.problems)}") from None
        except ImportError as error:
            raise CommandError(str(error)) from None
    sources = ", ".join(f"{entry['adapter']}@{entry['version']} x{entry['weight']:g}" for entry in version["lineage"])
    print(f"Published {version['adapter']} {version['version']} (revision {version['revision']}), "
          f"merged with {args.method} from {sources}")  # fmt: skip
    return 0


def _tag(args: argparse.Namespace) -> int:
    with Hub() as hub:
        answer = hub.move_tag(args.name, args.tag, args.revision)
    print(f"{parse_adapter_ref(args.name).repo}: {answer['ref']} -> {answer['version']} "
          f"(revision {answer['revision'][:12]})")  # fmt: skip
    return 0


def _delete(args: argparse.Namespace) -> int:
    ref = parse_adapter_ref(args.name)
    target = str(ref) if "@" in args.name else f"{ref.repo} and all its versions"
    if not (args.yes or _confirmed(f"Delete {target}?")):
        raise CommandError(f"{target} not deleted: confirm with --yes")
    with Hub() as hub:
        hub.delete(args.name)
    print(f"Deleted {target}.")
    return 0


def _confirmed(question: str) -> bool:
    if not sys.stdin.isatty():  # a script: never guess, --yes says it
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _login(args: argparse.Namespace) -> int:
    token = (args.token or _read_token()).strip()
    if not token:
        raise CommandError("no token given (pass --token, or type it when asked)")
    with Hub(token=token) as hub:
        user = hub.whoami()  # never save a token the hub does not accept
    path = save_token(token)
    print(f"Logged in to {hub.url} as {user['name']}; token saved in {path}")
    return 0


def _read_token() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Token (from your invitation link, or make one on the hub's /tokens page): ")
    return sys.stdin.readline()


def _logout(_args: argparse.Namespace) -> int:
    path = token_file()
    if path.exists():
        path.unlink()
        print(f"Logged out: removed the token saved in {path}.")
    else:
        print(f"No token was saved in {path}.")
    if env_token():
        print("HUB_TOKEN is set in this environment, and commands still use it.", file=sys.stderr)
    return 0


def _whoami(_args: argparse.Namespace) -> int:
    with Hub() as hub:
        user = hub.whoami()
    admin = " (administrator)" if user["is_admin"] else ""
    print(f"{user['name']}{admin} on {hub.url}; namespaces: {', '.join(user['namespaces'])}")
    return 0


def _org_create(args: argparse.Namespace) -> int:
    with Hub() as hub:
        org = hub.org_create(args.org)
    print(f"Organisation {org['name']} created; you are its owner.")
    return 0


def _org_members(args: argparse.Namespace) -> int:
    with Hub() as hub:
        members = hub.org_members(args.org)
    print(_table([[m["user"], m["role"], m["since"] or "-"] for m in members], ["USER", "ROLE", "SINCE"]))
    return 0


def _org_add(args: argparse.Namespace) -> int:
    with Hub() as hub:
        member = hub.org_set_member(args.org, args.user, args.role)
    print(f"{member['user']} is now {member['role']} in {args.org}.")
    return 0


def _org_remove(args: argparse.Namespace) -> int:
    with Hub() as hub:
        hub.org_remove_member(args.org, args.user)
    print(f"{args.user} is no longer a member of {args.org}.")
    return 0
