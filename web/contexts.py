"""What each template receives: one documented dataclass per page (after datasette's page contexts).

Every template also gets `user` (the signed-in User or None) and `csrf` (the form token) from render().
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.accounts.models import Token
from hub.events.models import Webhook, WebhookDelivery
from hub.registry.catalog.bases import KnownBase
from hub.registry.evaluations.leaderboard import Leaderboard
from hub.registry.evaluations.models import Evaluation
from hub.registry.models import Adapter, Version
from hub.signing.models import SignerKey
from web.adapter_view import ModuleVerdict, Row, Snippet
from web.leaderboard_view import LeaderboardRow
from web.search_params import SearchParams

Facets = dict[str, list[tuple[str, int]]]


def doc(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class HomePage:
    "The front page (/): search box, facet counts, most downloaded and newest adapters."

    template = "home.html"
    total: int = field(metadata=doc("Number of public adapters"))
    facets: Facets = field(metadata=doc("Facet name -> [(value, count)], most frequent first"))
    popular: list[Adapter] = field(metadata=doc("Most downloaded adapters"))
    newest: list[Adapter] = field(metadata=doc("Most recently updated adapters"))


@dataclass
class SearchPage:
    "Search results (/search?q=...&method=...): filters, sort, cursor pagination; the URL holds the state."

    template = "search.html"
    params: SearchParams = field(metadata=doc("The search read from the URL; builds the links that change it"))
    adapters: list[Adapter] = field(metadata=doc("This page of results"))
    total: int = field(metadata=doc("Number of adapters matching every filter"))
    facets: Facets = field(metadata=doc("Facet counts, each counted with every filter but its own"))
    next_url: str | None = field(default=None, metadata=doc("Link to the next page, None on the last"))
    why_empty: list[str] = field(default_factory=list, metadata=doc("When nothing matches: why, one line each"))


@dataclass
class CompatResult:
    "The compatibility panel's verdict for one base model or pasted structure."

    against: str = field(metadata=doc("What was checked: 'base model X' or 'the pasted structure'"))
    ok: bool = field(default=False, metadata=doc("True when no error was found"))
    summary: str = field(default="", metadata=doc("One line, e.g. 'compatible (24 adapter modules checked)'"))
    modules: list[ModuleVerdict] = field(default_factory=list, metadata=doc("Per-module verdicts, layer order"))
    general: list[tuple[str, str]] = field(default_factory=list, metadata=doc("(severity, message), no module"))
    error: str = field(default="", metadata=doc("Why no check could run (unknown base, unreadable paste)"))
    note: str = field(default="", metadata=doc("How the base's structure was obtained, and its limits"))
    pasted: str = field(default="", metadata=doc("The pasted structure, to refill the form"))
    base: str = field(default="", metadata=doc("The base model chosen, to keep it selected"))


@dataclass
class AdapterPage:
    "An adapter (/{namespace}/{name}, or /{namespace}/{name}/tree/{revision} for an older version)."

    template = "adapter.html"
    adapter: Adapter = field(metadata=doc("The adapter, with namespace, tags and refs loaded"))
    version: Version = field(metadata=doc("The version shown: the latest, or the one in the URL"))
    is_latest: bool = field(metadata=doc("Whether `version` is what 'main' points at"))
    card_html: str = field(metadata=doc("The model card, rendered and sanitized (output with |safe)"))
    metadata: list[Row] = field(metadata=doc("The metadata table's rows"))
    files: list[dict[str, Any]] = field(metadata=doc("path, size, sha256 and download url of each file"))
    versions: list[Version] = field(metadata=doc("Every version, newest first"))
    refs: dict[int, list[str]] = field(metadata=doc("Version id -> the tags ('main', 'stable') on it"))
    snippets: list[Snippet] = field(metadata=doc("Copy-able usage snippets"))
    bases: list[KnownBase] = field(metadata=doc("Base models known to the hub, for the compatibility panel"))
    can_publish: bool = field(metadata=doc("Whether the signed-in user may publish a new version"))
    compat: CompatResult | None = field(default=None, metadata=doc("The verdict, on the /compat sub-page"))
    lineage: list[dict[str, Any]] = field(
        default_factory=list,
        metadata=doc(
            "For a merge: its sources (adapter, version, revision, weight); unreadable sources keep only their weight"
        ),
    )
    evaluations: list[Evaluation] = field(
        default_factory=list, metadata=doc("The version's stated evaluation results, in the order its files give them")
    )
    merges: list[dict[str, Any]] = field(
        default_factory=list,
        metadata=doc("Merged adapters built from this one that the viewer may see (adapter, version, weight, method)"),
    )


@dataclass
class LeaderboardPage:
    "Adapters for one task and base model ranked by a metric (/leaderboards?task=&base_model=&metric=)."

    template = "leaderboard.html"
    task: str = field(metadata=doc("The task asked for (as typed, for the form)"))
    base_model: str = field(metadata=doc("The base model asked for"))
    metric: str = field(metadata=doc("The metric asked for"))
    board: Leaderboard | None = field(default=None, metadata=doc("The ranking; None until all three are given"))
    rows: list[LeaderboardRow] = field(default_factory=list, metadata=doc("One per ranked adapter, as shown"))
    error: str = field(default="", metadata=doc("Why the query cannot be answered, in words"))


@dataclass
class ListingPage:
    "A list of adapters under a heading: a namespace (/{namespace}) or a base model (/bases/{model})."

    template = "listing.html"
    kind: str = field(metadata=doc("'namespace' or 'base'"))
    title: str = field(metadata=doc("The heading"))
    subtitle: str = field(metadata=doc("One line under the heading"))
    adapters: list[Adapter] = field(metadata=doc("The adapters on this page"))
    total: int = field(metadata=doc("How many there are in all"))
    next_url: str | None = field(default=None, metadata=doc("Link to the next page, None on the last"))
    fitting: list[Version] = field(default_factory=list, metadata=doc("Base pages: fitting adapters of other bases"))
    facts: list[Row] = field(default_factory=list, metadata=doc("Base pages: what the hub knows of the base"))
    search_url: str = field(default="", metadata=doc("The same list as a search, with every filter"))
    role: str | None = field(default=None, metadata=doc("Namespace pages: the visitor's role there, for the links"))
    registered: bool = field(default=False, metadata=doc("Base pages: the facts come from a registration"))


@dataclass
class LoginPage:
    "Sign in with a token (/login)."

    template = "login.html"
    next: str = field(default="/", metadata=doc("Where to go after signing in (a local path)"))
    error: str | None = field(default=None, metadata=doc("Why the last attempt failed"))


@dataclass
class TokensPage:
    "The signed-in user's tokens (/tokens): see, create and revoke."

    template = "tokens.html"
    tokens: list[Token] = field(metadata=doc("Every token, newest first"))
    current_hash: str | None = field(default=None, metadata=doc("token_hash of this browser's sign-in token"))
    new_token: str | None = field(default=None, metadata=doc("A token just created: shown once, never again"))


@dataclass
class PublishPage:
    "Publish a new adapter or a new version of one (/new) by uploading a PEFT folder's files."

    template = "new.html"
    namespaces: list[str] = field(metadata=doc("Namespaces the user may publish into"))
    form: dict[str, str] = field(metadata=doc("The submitted fields, to refill the form after an error"))
    error: str | None = field(default=None, metadata=doc("Why the last attempt failed"))


@dataclass
class ErrorPage:
    "Any error shown to a browser: 404s, refused forms, failures. Never a stack trace."

    template = "error.html"
    status: int = field(metadata=doc("HTTP status"))
    code: str = field(metadata=doc("The stable error code (the API's X-Error-Code)"))
    message: str = field(metadata=doc("What went wrong, for a person"))


@dataclass
class InvitePage:
    "Invite someone without an account (/invite): administrators invite anyone, organisation owners members."

    template = "invite.html"
    orgs: list[str] = field(metadata=doc("Organisations the signed-in user owns (they may invite into these)"))
    is_admin: bool = field(metadata=doc("Whether the signed-in user may invite without an organisation"))
    link: str | None = field(default=None, metadata=doc("The invitation link just made: shown once"))
    invited: str | None = field(default=None, metadata=doc("Who the link is for"))
    error: str | None = field(default=None, metadata=doc("Why the last invitation was refused"))


@dataclass
class WelcomePage:
    "An invitation link (/invite/{secret}): accept it to create the account, then see the first token once."

    template = "welcome.html"
    name: str = field(metadata=doc("The invited user's name"))
    org: str | None = field(default=None, metadata=doc("The organisation the invitation adds them to"))
    role: str | None = field(default=None, metadata=doc("Their role there"))
    token: str | None = field(default=None, metadata=doc("The first token, after accepting: shown once"))
    hub_url: str = field(default="", metadata=doc("This hub's address, for the `hub login` snippet"))


@dataclass
class KeysPage:
    "A namespace's signers (/settings/{namespace}/keys), for its owners: add, revoke, require signatures."

    template = "keys.html"
    namespace: str = field(metadata=doc("The namespace's name, as it is spelled"))
    signers: list[SignerKey] = field(metadata=doc("Every signer registered, revoked ones included, oldest first"))
    require_signatures: bool = field(metadata=doc("Whether unsigned publishes are refused"))
    error: str | None = field(default=None, metadata=doc("Why the last form was refused"))
    form: dict[str, Any] = field(default_factory=dict, metadata=doc("The refused form's fields, to refill it"))


@dataclass
class WebhooksPage:
    "A namespace's webhooks (/settings/{namespace}/webhooks), for its owners: create, delete, delivery log, redeliver."

    template = "webhooks.html"
    namespace: str = field(metadata=doc("The namespace's name, as it is spelled"))
    hooks: list[tuple[Webhook, list[WebhookDelivery]]] = field(
        metadata=doc("Each webhook (never its secret) with its latest deliveries, newest first")
    )
    event_types: tuple[str, ...] = field(metadata=doc("Every event a webhook may subscribe to"))
    new_secret: str | None = field(default=None, metadata=doc("The secret of the webhook just created: shown once"))
    error: str | None = field(default=None, metadata=doc("Why the last form was refused"))
    form: dict[str, Any] = field(default_factory=dict, metadata=doc("The refused form's fields, to refill it"))


@dataclass
class NewOrgPage:
    "Create an organisation (/orgs/new): the signed-in user becomes its owner."

    template = "org_new.html"
    name: str = field(default="", metadata=doc("The name typed, to refill the form after a refusal"))
    error: str | None = field(default=None, metadata=doc("Why the organisation was not created"))


@dataclass
class OrgMembersPage:
    "An organisation's members (/settings/{org}/members): members see the list, owners add, change and remove."

    template = "org_members.html"
    org: str = field(metadata=doc("The organisation's name, as it is spelled"))
    members: list[tuple[str, str]] = field(metadata=doc("(user name, role) of each member, oldest member first"))
    is_owner: bool = field(metadata=doc("Whether the signed-in user owns it (shows the forms that change members)"))
    roles: list[str] = field(metadata=doc("The roles a member may hold, weakest first"))
    notice: str | None = field(default=None, metadata=doc("What the last form changed"))
    error: str | None = field(default=None, metadata=doc("Why the last form was refused (the service's message)"))
    form: dict[str, str] = field(default_factory=dict, metadata=doc("The refused add form's fields, to refill it"))


@dataclass
class AdapterSettingsPage:
    "An adapter's settings (/{namespace}/{name}/settings), for writers: visibility, tags; owners also delete."

    template = "adapter_settings.html"
    adapter: Adapter = field(metadata=doc("The adapter, with its namespace"))
    versions: list[Version] = field(metadata=doc("Every live version, newest first"))
    tags: list[tuple[str, int]] = field(metadata=doc("(tag, version number) of each tag but 'main', by name"))
    is_owner: bool = field(metadata=doc("Whether the signed-in user may delete (the owner role)"))
    notice: str | None = field(default=None, metadata=doc("What the last form changed"))
    error: str | None = field(default=None, metadata=doc("Why the last form was refused (the service's message)"))
    form: dict[str, str] = field(default_factory=dict, metadata=doc("The refused tag form's fields, to refill it"))
