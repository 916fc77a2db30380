"""The `hub` command: server verbs (serve, db, token, admin, demo, gc, fsck) here; client verbs live in sdk/cli.py.

The base install is the client alone: server verbs are listed only where the server extra is installed,
and asking for one elsewhere says how to install it. Every expected failure prints one line, exit 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily at run time: `hub --help` and the client verbs stay light
    from sqlalchemy.orm import Session, sessionmaker

    from hub.config import Settings
    from hub.storage import BlobStorage

SERVER_VERBS = frozenset({"serve", "db", "token", "admin", "demo", "gc", "fsck"})
# The import names of pyproject.toml's `server` extra (python-multipart is left out: its name changed).
SERVER_MODULES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "pydantic_settings", "boto3", "jinja2",
                  "markdown_it", "nh3", "itsdangerous", "standardwebhooks")  # fmt: skip
CLIENT_DESCRIPTION = (
    "Adapter Hub client: publish, find, check and pull adapters.\n"
    "The server commands (serve, db, token, admin, demo, gc, fsck) need: pip install 'adapter-hub[server]'"
)
SERVER_DESCRIPTION = "Adapter Hub: use, serve and administer a hub."


APP_FACTORY = "hub.app:app_from_env"
# uvicorn's access line with the process id: with --workers N, the log tells which worker answered.
ACCESS_FORMAT = '%(levelprefix)s [%(process)d] %(client_addr)s - "%(request_line)s" %(status_code)s'


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    if not _schema_is_current(settings):
        print("The database schema is not up to date: run `hub db upgrade` first.", file=sys.stderr)
        return 2
    from hub.app import storage_for

    workers = f", {args.workers} workers" if args.workers > 1 else ""
    print(
        f"Adapter Hub on http://{args.host}:{args.port}  (database {_safe_url(settings.database_url)}, "
        f"storage {storage_for(settings).describe()}{workers})"
    )
    # An import string and a factory: each worker builds its own app from the environment (hub.app.app_from_env).
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        log_level="info",
        workers=args.workers,
        log_config=_log_config(),
    )
    return 0


def _schema_is_current(settings: Settings) -> bool:
    from hub.db import make_engine
    from hub.migrate import is_up_to_date

    engine = make_engine(settings.database_url)
    try:
        return is_up_to_date(engine, settings.database_url)
    finally:
        engine.dispose()


def _log_config() -> dict:
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"]["fmt"] = ACCESS_FORMAT
    return config


def _worker_count(value: str) -> int:
    count = int(value)
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {count}")
    return count


def _db_upgrade(_args: argparse.Namespace) -> int:
    from hub.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print(f"Database {_safe_url(settings.database_url)} is at the latest schema.")
    return 0


def _db_check(_args: argparse.Namespace) -> int:
    from hub.migrate import check

    check(_settings().database_url)
    print("Models and migrations agree.")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from hub.accounts.service import AccountService
    from hub.timeutil import utcnow

    expires = utcnow() + timedelta(days=args.expires_days) if args.expires_days else None
    with _unit_of_work() as session:
        accounts = AccountService(session)
        user = accounts.ensure_user(args.user, is_admin=args.admin)
        raw = accounts.create_token(user, name=args.name or "console", expires_at=expires, scopes=args.scope or None)
    print(raw)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from hub.accounts.service import AccountService
    from hub.timeutil import isoformat

    with _unit_of_work() as session:
        accounts = AccountService(session)
        for token in accounts.tokens(accounts.user(args.user)):
            state = "revoked" if token.revoked_at else f"expires {isoformat(token.expires_at) or 'never'}"
            print(f"{token.id:>5}  {token.prefix}...  {token.scopes:<16} {token.name or '-':<20} {state}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from hub.accounts.service import AccountService

    with _unit_of_work() as session:
        accounts = AccountService(session)
        accounts.revoke_token(None, args.token_id, user=accounts.user(args.user))
    print(f"Token {args.token_id} of {args.user} is revoked.")
    return 0


def _org_create(args: argparse.Namespace) -> int:
    from hub.accounts.orgs import OrgService
    from hub.accounts.permissions import acting_as
    from hub.accounts.service import AccountService

    with _unit_of_work() as session:
        OrgService(session).create(acting_as(session, AccountService(session).ensure_user(args.owner)), args.org)
    print(f"Organisation {args.org} created; {args.owner} is its owner.")
    return 0


def _org_member(args: argparse.Namespace) -> int:
    from hub.accounts.orgs import OrgService
    from hub.accounts.service import AccountService

    with _unit_of_work() as session:
        OrgService(session).set_member(None, args.org, AccountService(session).ensure_user(args.user), args.role)
    print(f"{args.user} is now {args.role} in {args.org}.")
    return 0


def _gc(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from hub.maintenance.gc import collect_garbage

    factory, storage = _factory_and_storage()
    report = collect_garbage(factory, storage, grace=timedelta(hours=args.grace_hours), dry_run=args.dry_run)
    print(report.summary())
    return 0


def _fsck(args: argparse.Namespace) -> int:
    from hub.maintenance.fsck import check_storage

    factory, storage = _factory_and_storage()
    report = check_storage(factory, storage, rehash=not args.quick)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def _factory_and_storage() -> tuple[sessionmaker[Session], BlobStorage]:
    from hub.app import storage_for
    from hub.db import make_engine, make_session_factory

    settings = _settings()
    return make_session_factory(make_engine(settings.database_url)), storage_for(settings)


def _demo(_args: argparse.Namespace) -> int:
    from hub.demo import load_demo

    settings = _settings()
    from hub.app import limits_for, storage_for
    from hub.db import make_engine, make_session_factory

    factory = make_session_factory(make_engine(settings.database_url))
    published = load_demo(factory, storage_for(settings), limits_for(settings))
    print(f"Demo adapters: {len(published)} published" + (f" ({', '.join(published)})" if published else ""))
    return 0


def _settings() -> Settings:
    from hub.config import Settings

    settings = Settings()
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _unit_of_work() -> AbstractContextManager[Session]:
    from hub.db import make_engine, make_session_factory, unit_of_work

    return unit_of_work(make_session_factory(make_engine(_settings().database_url)))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser(*, server: bool | None = None) -> argparse.ArgumentParser:
    """The `hub` command; server verbs only where the server extra is installed (default: look)."""
    server = server_installed() if server is None else server
    description = SERVER_DESCRIPTION if server else CLIENT_DESCRIPTION
    parser = argparse.ArgumentParser(
        prog="hub", description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    verbs = parser.add_subparsers(dest="verb", required=True, title="commands", metavar="COMMAND")
    _add_client_verbs(verbs)
    if server:
        _add_server_verbs(verbs)
    return parser


def _add_server_verbs(verbs: argparse._SubParsersAction) -> None:
    serve = verbs.add_parser("serve", help="[server] serve the hub (API and web UI)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=_worker_count, default=1, help="processes serving the one port (default 1)")
    serve.set_defaults(run=_serve)
    db = verbs.add_parser("db", help="[server] database schema").add_subparsers(dest="db_verb", required=True)
    db.add_parser("upgrade", help="migrate the schema to the latest version").set_defaults(run=_db_upgrade)
    db.add_parser("check", help="fail if models and migrations disagree").set_defaults(run=_db_check)
    _add_token_verbs(verbs)
    _add_admin_verbs(verbs)
    gc = verbs.add_parser("gc", help="[server] remove blobs no version references (after a grace period)")
    gc.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    gc.add_argument("--grace-hours", type=float, default=24.0, help="leave anything younger alone (default 24)")
    gc.set_defaults(run=_gc)
    fsck = verbs.add_parser("fsck", help="[server] re-hash stored blobs; report missing or corrupt ones")
    fsck.add_argument("--quick", action="store_true", help="compare sizes only, do not re-hash")
    fsck.set_defaults(run=_fsck)
    verbs.add_parser("demo", help="[server] publish the demo adapters (idempotent)").set_defaults(run=_demo)


def _add_token_verbs(verbs: argparse._SubParsersAction) -> None:
    token = verbs.add_parser("token", help="[server] API tokens, at the server's console")
    token_verbs = token.add_subparsers(dest="token_verb", required=True)
    create = token_verbs.add_parser("create", help="create USER (and its namespace) if missing; print a new token")
    create.add_argument("user")
    create.add_argument("--admin", action="store_true", help="make the user an administrator")
    create.add_argument("--name", default="", help="a label to tell tokens apart")
    create.add_argument(
        "--scope",
        action="append",
        choices=["read", "write", "admin"],
        help="repeatable; default read+write (admins: +admin)",
    )
    create.add_argument("--expires-days", type=int, default=None, help="expire after this many days")
    create.set_defaults(run=_token_create)
    listing = token_verbs.add_parser("list", help="list USER's tokens (never their secrets)")
    listing.add_argument("user")
    listing.set_defaults(run=_token_list)
    revoke = token_verbs.add_parser("revoke", help="revoke one of USER's tokens by id")
    revoke.add_argument("user")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(run=_token_revoke)


def _add_admin_verbs(verbs: argparse._SubParsersAction) -> None:
    """The console's organisation commands: no token needed, users created if missing (`hub org` is the HTTP one)."""
    admin = verbs.add_parser("admin", help="[server] administer at the server's console: organisations")
    org = admin.add_subparsers(dest="admin_verb", required=True).add_parser("org", help="organisations")
    org_verbs = org.add_subparsers(dest="org_verb", required=True)
    org_create = org_verbs.add_parser("create", help="create ORG owned by OWNER")
    org_create.add_argument("org")
    org_create.add_argument("--owner", required=True)
    org_create.set_defaults(run=_org_create)
    member = org_verbs.add_parser("member", help="give USER a ROLE in ORG (owner, write, read)")
    member.add_argument("org")
    member.add_argument("user")
    member.add_argument("role", choices=["owner", "write", "read"])
    member.set_defaults(run=_org_member)


def _add_client_verbs(verbs: argparse._SubParsersAction) -> None:
    from sdk.cli import add_client_verbs

    add_client_verbs(verbs)


def server_installed() -> bool:
    """Whether the server extra's libraries are importable (looked up, not imported: `hub --help` stays fast)."""
    return not missing_server_modules()


def missing_server_modules() -> list[str]:
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def _server_verb_without_server(argv: Sequence[str]) -> str | None:
    """The server verb asked for on a client-only install, if that is what happened."""
    verb = next((arg for arg in argv if not arg.startswith("-")), None)
    return verb if verb in SERVER_VERBS and not server_installed() else None


def _install_the_server(verb: str) -> str:
    missing = missing_server_modules()
    lacks = "has the client only" if len(missing) == len(SERVER_MODULES) else f"lacks {', '.join(missing)}"
    return (
        f"error: `hub {verb}` is a server command, and this install {lacks}: "
        "pip install 'adapter-hub[server]' (in a checkout: pip install '.[server]')"
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if verb := _server_verb_without_server(arguments):
        print(_install_the_server(verb), file=sys.stderr)
        return 1
    args = build_parser().parse_args(arguments)  # usage errors: argparse's message, exit 2
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except Exception as error:  # a person reads this: one line, no traceback
        line = error_line(error)
        if line is None:  # not an expected failure but a bug: its traceback helps more
            raise
        print(line, file=sys.stderr)
        return 1


def error_line(error: Exception) -> str | None:
    """The one line an expected failure prints, or None for an unexpected one.

    The hub's and the SDK's errors carry a stable code; files, arguments, the connection and the
    database have none, so their line names what failed instead.
    """
    from hub.errors import HubError as ServerError
    from sdk.cli import CommandError
    from sdk.errors import HubError as ClientError

    if isinstance(error, ServerError | ClientError):  # before OSError: the SDK's errors are OSErrors
        return f"error [{error.code}]: {one_line(error.message)}"
    if isinstance(error, CommandError | ValueError):
        return f"error: {one_line(str(error))}"
    if isinstance(error, OSError):
        return f"error: {_os_error(error)}"
    return _connection_line(error) or _database_line(error)


def _os_error(error: OSError) -> str:
    if error.filename is None:
        return one_line(str(error))
    return f"{error.strerror or error}: {error.filename}"


def _connection_line(error: Exception) -> str | None:
    import httpx

    from sdk._http import resolve_url

    if not isinstance(error, httpx.HTTPError | httpx.InvalidURL):
        return None  # the SDK wraps what it sends; this is what escapes it, e.g. a malformed HUB_URL
    return f"error [HubConnectionError]: could not talk to the hub at {resolve_url(None)}: {one_line(str(error))}"


def _database_line(error: Exception) -> str | None:
    exc = sys.modules.get("sqlalchemy.exc")  # only server verbs load it
    if exc is None or not isinstance(error, exc.OperationalError | exc.InterfaceError):
        return None
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return f"error [DatabaseUnavailable]: the database did not answer: {reason}"


def one_line(message: str) -> str:
    """Multi-line messages (pydantic's, for one) joined, so the error stays one line."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


if __name__ == "__main__":
    raise SystemExit(main())
