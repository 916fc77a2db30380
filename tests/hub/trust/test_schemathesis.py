"""schemathesis against the app's own OpenAPI document (in process, over ASGI): no operation answers 5xx.

Every operation gets generated requests, schema-conforming and schema-violating (bounded: 25
examples each), with an administrator's token so the routes behind authentication run too, on both
backends: PostgreSQL refuses some text SQLite takes (NUL characters), so the engine matters here.

The operations are driven through schemathesis's Python API (operation.as_strategy + hypothesis)
rather than `schema.parametrize()`: its lazy pytest loader reads a pytest-internal attribute that
pytest 9 no longer has.
"""

from __future__ import annotations

import contextlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.fixtures.hub import make_account
from tests.helpers import publish, tiny_lora_files

# Random path parameters almost never name an existing adapter; pinning some of them to a real one
# sends generated queries, headers and bodies deeper than "404 no such adapter".
KNOWN = {
    "namespace": "root",
    "name": "known",
    "revision": "main",
    "path": "adapter_config.json",
    "rest": "main/adapter_config.json",
    "org": "acme",
    "member": "root",
}
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture
def admin(app, client):
    account = make_account(app, "root", admin=True)
    assert publish(client, account, "root/known", tiny_lora_files()).status_code == 201  # something to find
    assert client.post("/api/orgs", json={"name": "acme"}, headers=account.headers).status_code == 201
    return account


def _operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Revoking tokens by id would revoke the very token this test authenticates with.
    schema = schema.exclude(method="DELETE", path="/api/tokens/{token_id}")
    for result in schema.get_all_operations():
        yield result.ok()


def _cases(operation):
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation with nothing to violate has no negative cases
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    cases = st.one_of(strategies)
    if operation.method.upper() == "DELETE":  # deleting the known adapter would leave nothing to find
        return cases
    return st.builds(_pin, cases, st.sets(st.sampled_from(sorted(KNOWN))))


def _pin(case, pinned: set[str]):
    for key in pinned & set(case.path_parameters or {}):
        case.path_parameters[key] = KNOWN[key]
    return case


def test_no_operation_answers_5xx(app, admin):
    failures: dict[str, str] = {}
    operations = list(_operations(app))
    assert len(operations) >= 20, [op.label for op in operations]
    for operation in operations:

        @EXAMPLES
        @given(case=_cases(operation))
        def run(case) -> None:
            case.call_and_validate(headers=admin.headers, checks=[not_a_server_error])

        try:
            run()
        except Exception as error:  # collect every failing operation, then fail once naming them all
            failures[operation.label] = str(error)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{message}" for label, message in failures.items())
