"""The `hub` command's client verbs: publish, pull, search, info, login (registered by hub/cli.py).

Every handler returns an exit code; an SDK error prints one line, ``error [Code]: message``, like the
server verbs, and exits 1.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdk._http import save_token
from sdk.client import Hub
from sdk.errors import HubError

Handler = Callable[[argparse.Namespace], int]
_FACETS = ("base_model", "task", "architecture", "method", "library", "license", "tag")
_COLUMNS = (
    ("id", "ADAPTER"),
    ("latest_version", "VER"),
    ("method", "METHOD"),
    ("base_model", "BASE MODEL"),
    ("task", "TASK"),
    ("downloads", "DOWNLOADS"),
)


def add_client_verbs(verbs: argparse._SubParsersAction) -> None:
    """Register publish, pull, search, info and login on the `hub` command's sub-parsers."""
    _add_publish(verbs)
    pull = verbs.add_parser("pull", help="download an adapter (NS/NAME[@REV]) into the cache or a folder")
    pull.add_argument("name", metavar="NS/NAME[@REV]")
    pull.add_argument("--to", type=Path, help="copy the files into this folder (PEFT layout)")
    pull.set_defaults(run=_handler(_pull))
    _add_search(verbs)
    info = verbs.add_parser("info", help="show an adapter: versions, tags, facts")
    info.add_argument("name", metavar="NS/NAME")
    info.add_argument("--json", action="store_true", help="print the hub's JSON document")
    info.set_defaults(run=_handler(_info))
    visibility = verbs.add_parser("visibility", help="make an adapter private or public")
    visibility.add_argument("name", metavar="NS/NAME")
    visibility.add_argument("visibility", choices=["private", "public"])
    visibility.set_defaults(run=_handler(_visibility))
    login = verbs.add_parser("login", help="check a token against the hub and save it for later commands")
    login.add_argument("--token", help="the token (default: read from stdin, or prompted for)")
    login.set_defaults(run=_handler(_login))


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
    publish.set_defaults(run=_handler(_publish))


def _add_search(verbs: argparse._SubParsersAction) -> None:
    search = verbs.add_parser("search", help="search adapters (a table)")
    search.add_argument("query", nargs="?", help="full-text query")
    for facet in _FACETS:
        search.add_argument(f"--{facet.replace('_', '-')}")
    search.add_argument("--sort", choices=("downloads", "recent", "name"), default="downloads")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true", help="one JSON document per line")
    search.set_defaults(run=_handler(_search))


def _handler(run: Handler) -> Handler:
    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except HubError as error:  # a person reads this: one line, as hub/cli.py does for server errors
            print(f"error [{error.code}]: {error.message}", file=sys.stderr)
            return 1

    return guarded


def _publish(args: argparse.Namespace) -> int:
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
        )
    if version.get("unchanged"):  # the SDK has logged why (stderr); stdout says which version stands
        where = f"{version['adapter']} {version['version']} (revision {version['revision']})"
        print(f"Unchanged: {where}; --force publishes anyway")
        return 0
    print(f"Published {version['adapter']} {version['version']} (revision {version['revision']})")
    return 0


def _visibility(args: argparse.Namespace) -> int:
    with Hub() as hub:
        answer = hub.set_visibility(args.name, private=args.visibility == "private")
    print(f"{answer['id']} is now {'private' if answer['private'] else 'public'}.")
    return 0


def _pull(args: argparse.Namespace) -> int:
    with Hub() as hub:
        folder = hub.download(args.name)
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
    print(_table([[str(row.get(key) or "-") for key, _ in _COLUMNS] for row in rows], [h for _, h in _COLUMNS]))
    print(f"{len(rows)} of {results.total} adapters")
    return 0


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
    lines += [f"  {label:<13}{adapter.get(key) if adapter.get(key) is not None else '-'}" for label, key in facts]
    lines.append(f"  {'tags':<13}{', '.join(adapter.get('tags') or []) or '-'}")
    lines.append(f"  {'refs':<13}{', '.join(f'{r} -> {v}' for r, v in sorted(adapter['refs'].items())) or '-'}")
    rows = [
        [v["version"], v["revision"][:12], v["created_at"] or "-", str(v["total_bytes"]), str(v["downloads"])]
        for v in adapter["versions"]
    ]
    lines += ["", _table(rows, ["VERSION", "REVISION", "CREATED", "BYTES", "DOWNLOADS"])]
    return "\n".join(lines)


def _login(args: argparse.Namespace) -> int:
    token = (args.token or _read_token()).strip()
    if not token:
        print("error: no token given", file=sys.stderr)
        return 1
    with Hub(token=token) as hub:
        user = hub.whoami()  # never save a token the hub does not accept
    path = save_token(token)
    print(f"Logged in to {hub.url} as {user['name']}; token saved in {path}")
    return 0


def _read_token() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Token (from `hub token create USER` or the web UI): ")
    return sys.stdin.readline()
