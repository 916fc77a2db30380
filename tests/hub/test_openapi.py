"""The OpenAPI document at /docs is well-formed: every operation has its own id and a summary."""

from __future__ import annotations

from collections import Counter


def test_operation_ids_are_unique_and_every_operation_is_described(client):
    schema = client.get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    ids = Counter(op["operationId"] for op in operations)
    assert [name for name, count in ids.items() if count > 1] == []
    assert all(op.get("summary") for op in operations)
    assert "/api/adapters" in schema["paths"] and "/{namespace}/{name}/resolve/{rest}" in schema["paths"]
