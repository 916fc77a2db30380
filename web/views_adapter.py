"""The Hugging Face-style addresses: /{namespace} and /{namespace}/{name} (+ /tree/{revision}, /compat).

Included last, so every fixed path (/search, /login, /api/..., /{ns}/{name}/resolve/...) wins first.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from hub.accounts.models import Namespace
from hub.accounts.permissions import Caller
from hub.accounts.service import AccountService
from hub.deps import DbSession, public_url
from hub.errors import NotFound
from hub.naming import RESERVED_NAMESPACES
from hub.registry.catalog.bases import KnownBase, base_structure, check_against, known_bases
from hub.registry.catalog.browse import NAMESPACE_PAGE, namespace_adapters, version_history
from hub.registry.catalog.reads import CatalogService
from hub.registry.catalog.registered import base_of, find_registered, registered_structure
from hub.registry.catalog.sizes import share_of_base
from hub.registry.evaluations.store import evaluations_of
from hub.registry.models import Adapter, Version
from hub.registry.publish.lineage import merges_of, visible_lineage
from sdk.formats.compat import ModelStructure
from web.adapter_view import file_rows, metadata_rows, module_verdicts, snippets, verdict_line
from web.auth import CsrfChecked, WebCaller, load_web_caller
from web.card_template import shown_card
from web.cards import render_card
from web.contexts import AdapterPage, CompatResult, ListingPage
from web.templating import plural, render
from web.views_browse import Page

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
MAX_PASTED = 2_000_000  # characters: a 70B model's full module list is about 1 MB of text
PASTED_FORM = {"max_part_size": 3 * MAX_PASTED}  # bytes as sent: percent-encoded ASCII takes up to 3 per character


@router.get("/{namespace}", response_class=HTMLResponse)
def namespace_page(
    request: Request, session: DbSession, caller: WebCaller, namespace: str, page: Page = 1
) -> HTMLResponse:
    found = AccountService(session).namespace(_not_reserved(namespace))
    adapters, total = namespace_adapters(session, found, caller, page=page)
    more = page * NAMESPACE_PAGE < total
    listing = ListingPage(
        title=found.name,
        subtitle=f"{'Organisation' if found.kind == 'org' else 'User'} · {plural(total, 'adapter')}",
        adapters=adapters,
        total=total,
        next_url=f"/{quote(found.name)}?page={page + 1}" if more else None,
        kind="namespace",
        role=_org_role(caller, found),
    )
    return render(request, listing)


def _org_role(caller: Caller, namespace: Namespace) -> str | None:
    """The visitor's role in an organisation, for the links to its members page (members) and invitations (owners)."""
    role = caller.role(namespace.id) if namespace.kind == "org" else None
    return role.name.lower() if role else None


@router.get("/{namespace}/{name}", response_class=HTMLResponse)
def adapter_page(request: Request, session: DbSession, caller: WebCaller, namespace: str, name: str) -> HTMLResponse:
    catalog = CatalogService(session)
    adapter = catalog.adapter(_not_reserved(namespace), name, caller)
    return render(request, adapter_context(request, session, caller, adapter, catalog.resolve(adapter, "main")))


@router.get("/{namespace}/{name}/tree/{revision}", response_class=HTMLResponse)
def version_page(
    request: Request, session: DbSession, caller: WebCaller, namespace: str, name: str, revision: str
) -> HTMLResponse:
    catalog = CatalogService(session)
    adapter = catalog.adapter(_not_reserved(namespace), name, caller)
    return render(request, adapter_context(request, session, caller, adapter, catalog.resolve(adapter, revision)))


@router.get("/{namespace}/{name}/compat", response_class=HTMLResponse)
def compat_with_base(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    name: str,
    base: str = "",
    rev: str = "main",
) -> HTMLResponse:
    catalog = CatalogService(session)
    adapter = catalog.adapter(_not_reserved(namespace), name, caller)
    version = catalog.resolve(adapter, rev)
    page = adapter_context(request, session, caller, adapter, version)
    page.compat = compat_for_base(session, version, base) if base else None
    return render(request, page)


@router.post(
    "/{namespace}/{name}/compat", response_class=HTMLResponse, dependencies=[CsrfChecked], form_limits=PASTED_FORM
)
def compat_with_pasted(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    name: str,
    structure: Annotated[str, Form(max_length=MAX_PASTED)] = "",  # empty: the panel says what to paste
    rev: Annotated[str, Form(max_length=64)] = "main",
) -> HTMLResponse:
    catalog = CatalogService(session)
    adapter = catalog.adapter(_not_reserved(namespace), name, caller)
    version = catalog.resolve(adapter, rev)
    page = adapter_context(request, session, caller, adapter, version)
    page.compat = compat_for_text(version, structure)
    return render(request, page, status=400 if page.compat.error else 200)


def adapter_context(
    request: Request, session: DbSession, caller: Caller, adapter: Adapter, version: Version
) -> AdapterPage:
    adapter_id = f"{adapter.namespace.name}/{adapter.name}"
    refs: dict[int, list[str]] = {}
    for ref in adapter.refs:
        refs.setdefault(ref.version_id, []).append(ref.name)
    is_latest = version.number == adapter.current_number
    return AdapterPage(
        adapter=adapter,
        version=version,
        is_latest=is_latest,
        card_html=render_card(shown_card(version.card), own_hosts(request)),
        metadata=metadata_rows(
            version, share_of_base(version.trainable_params, version.total_bytes, base_of(session, version))
        ),
        files=file_rows(version),
        versions=version_history(session, adapter),
        refs=refs,
        snippets=snippets(adapter_id, version, public_url(request), pinned=not is_latest, private=adapter.private),
        bases=_bases_for(request, session, version),
        can_publish=caller.can_publish(adapter.namespace),
        lineage=visible_lineage(session, version, caller),
        merges=merges_of(session, adapter, caller),
        evaluations=evaluations_of(session, version),
    )


def _share_of_base(session: DbSession, version: Version) -> dict[str, Any]:
    return share_of_base(version.trainable_params, version.total_bytes, base_of(session, version))


def own_hosts(request: Request) -> frozenset[str]:
    """The hosts this hub answers at: a card's links and images to them are dropped (they would count downloads)."""
    return frozenset({request.url.netloc.lower(), urlsplit(public_url(request)).netloc.lower()})


def _bases_for(request: Request, session: DbSession, version: Version) -> list[KnownBase]:
    bases = known_bases(session, request.app.state.facet_cache)
    if version.base_model not in {base.model_id for base in bases}:  # the list is the top bases only
        bases.insert(0, KnownBase(version.base_model, 0))
    return bases


def compat_for_base(session: DbSession, version: Version, model_id: str) -> CompatResult:
    registered = find_registered(session, model_id)
    if registered is not None:  # the whole module map: no module reads as missing for want of an adapter
        note = f"Checked against the registered structure of {model_id} ({registered.revision})."
        structure = registered_structure(registered).structure
        return _result(version, structure, f"base model {model_id}", note=note, base=model_id)
    try:
        base = base_structure(session, model_id)
    except NotFound as error:
        return CompatResult(against=f"base model {model_id}", error=error.message, base=model_id)
    note = (
        f"The hub knows {len(base.structure.modules):,} modules of {model_id} from the adapters published for it; "
        "a module none of them adapts reads as missing."
    )
    return _result(version, base.structure, f"base model {model_id}", note=note, base=model_id)


def compat_for_text(version: Version, text: str) -> CompatResult:
    try:
        structure = ModelStructure.from_text(text)
    except ValueError as error:
        return CompatResult(against="the pasted structure", error=f"It cannot be read: {error}.", pasted=text)
    return _result(version, structure, "the pasted structure", pasted=text)


def _result(version: Version, structure: ModelStructure, against: str, **extra: str) -> CompatResult:
    report = check_against(version, structure)
    modules = set((version.facts or {}).get("modules") or {})
    general = [(p.severity, p.message) for p in report.problems if p.module not in modules]
    verdicts = module_verdicts(version, structure, report)
    summary = verdict_line(report)
    return CompatResult(against, ok=report.ok, summary=summary, modules=verdicts, general=general, **extra)


def _not_reserved(namespace: str) -> str:
    # /api/unknown and the like are missing routes, not missing namespaces.
    if namespace.lower() in RESERVED_NAMESPACES:
        raise NotFound("No such page. Try the search, or the API described at /docs.")
    return namespace
