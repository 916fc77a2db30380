"""The adapter row's derived columns stay equal to a recomputation from scratch, whatever the order of
publishes, version deletions, visibility changes, tag moves, adapter deletion and re-publishing (issue 11
item 3, issue 17 item 2, issue 18 item 17)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from hub.registry.models import Adapter, Ref, Version
from tests.helpers import publish, tiny_lora_files

NAME = "alice/drift"
BASES = ["tiny/llama-test", "tiny/llama-other"]
TASKS = ["summarization", "text-generation", None]


def recomputed(session, adapter: Adapter) -> dict:
    """What the derived columns must be, from the live versions alone (not from the code under test)."""
    live = session.scalars(select(Version).where(Version.adapter_id == adapter.id, Version.deleted_at.is_(None))).all()
    if not live:
        return {"current_number": None}
    newest = max(live, key=lambda version: version.number)
    return {
        "current_number": newest.number,
        "base_model": newest.base_model,
        "method": newest.method,
        "task": newest.task,
        "updated_at": newest.created_at,
        "description": newest.card,
        "main": newest.id,
    }


def stored(session, adapter: Adapter) -> dict:
    if adapter.current_number is None:
        return {"current_number": None}
    main = session.get(Ref, (adapter.id, "main"))
    return {
        "current_number": adapter.current_number,
        "base_model": adapter.base_model,
        "method": adapter.method,
        "task": adapter.task,
        "updated_at": adapter.updated_at,
        "description": adapter.description,
        "main": main.version_id if main else None,
    }


class Driver:
    """Random changes through the HTTP API, as users make them."""

    def __init__(self, client, alice, rng: random.Random) -> None:
        self.client, self.alice, self.rng, self.seed = client, alice, rng, 0

    def live_versions(self) -> list[str]:
        info = self.client.get(f"/api/adapters/{NAME}", headers=self.alice.headers)
        return [v["version"] for v in info.json()["versions"]] if info.status_code == 200 else []

    def publish(self) -> None:
        self.seed += 1
        meta = {"base_model": self.rng.choice(BASES), "description": f"card {self.seed}"}
        if task := self.rng.choice(TASKS):
            meta["task"] = task
        response = publish(self.client, self.alice, NAME, tiny_lora_files(seed=self.seed), **meta)
        assert response.status_code == 201, response.text

    def delete_version(self, newest: bool) -> None:
        versions = self.live_versions()
        if versions:
            target = versions[0] if newest else self.rng.choice(versions)
            url = f"/api/adapters/{NAME}/versions/{target}"
            assert self.client.delete(url, headers=self.alice.headers).status_code == 204

    def toggle_visibility(self) -> None:
        if self.live_versions():
            body = {"private": self.rng.random() < 0.5}
            assert self.client.patch(f"/api/adapters/{NAME}", json=body, headers=self.alice.headers).status_code == 200

    def move_tag(self) -> None:
        if versions := self.live_versions():
            body = {"revision": self.rng.choice(versions)}
            response = self.client.put(f"/api/adapters/{NAME}/refs/stable", json=body, headers=self.alice.headers)
            assert response.status_code == 200

    def delete_adapter(self) -> None:
        if self.live_versions():
            assert self.client.delete(f"/api/adapters/{NAME}", headers=self.alice.headers).status_code == 204

    def step(self) -> str:
        moves = {
            "publish": (3, self.publish),
            "delete newest": (2, lambda: self.delete_version(True)),
            "delete any": (1, lambda: self.delete_version(False)),
            "visibility": (1, self.toggle_visibility),
            "tag": (1, self.move_tag),
            "delete adapter": (0.3, self.delete_adapter),
        }
        name = self.rng.choices(list(moves), weights=[weight for weight, _ in moves.values()])[0]
        moves[name][1]()
        return name


def check_row(app) -> None:
    with app.state.session_factory() as session:
        for adapter in session.scalars(select(Adapter).where(Adapter.deleted_at.is_(None))):
            assert stored(session, adapter) == recomputed(session, adapter)


def check_answers(client, alice) -> None:
    """The API, search and the web page say the same newest version as the row."""
    info = client.get(f"/api/adapters/{NAME}", headers=alice.headers)
    if info.status_code == 404:
        return
    newest = info.json()["versions"][0]["version"]
    assert info.json()["latest_version"] == newest == info.json()["refs"]["main"]
    found = client.get("/api/adapters", params={"q": "drift"}, headers=alice.headers).json()["adapters"]
    assert [a["latest_version"] for a in found] == [newest]
    assert client.get(f"/api/adapters/{NAME}/versions/{newest}", headers=alice.headers).status_code == 200


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_derived_columns_match_a_recomputation_in_any_order(app, client, alice, seed):
    driver = Driver(client, alice, random.Random(seed))
    driver.publish()
    history = []
    for _ in range(18):
        history.append(driver.step())
        check_row(app)
        check_answers(client, alice)
    assert "publish" in history and any(step.startswith("delete") for step in history)


def test_deleting_the_newest_version_moves_every_surface_back(app, client, alice):
    """The reported case: v1..v3, delete v3: API, search, the page and its link all say v2."""
    for seed in (1, 2, 3):
        publish(client, alice, NAME, tiny_lora_files(seed=seed), base_model=BASES[seed % 2])
    assert client.delete(f"/api/adapters/{NAME}/versions/v3", headers=alice.headers).status_code == 204
    info = client.get(f"/api/adapters/{NAME}").json()
    assert info["latest_version"] == "v2" and info["base_model"] == BASES[0]
    assert client.get("/api/adapters", params={"q": "drift"}).json()["adapters"][0]["latest_version"] == "v2"
    page = client.get(f"/{NAME}/tree/v1", headers={"Accept": "text/html"}).text
    assert "The latest version is" in page and ">v2</a>" in page and ">v3<" not in page
    base_card = client.get(f"/bases/{BASES[1]}", headers={"Accept": "text/html"}).text
    assert f"/{NAME}" not in base_card  # the /bases card of v3's base no longer lists it
    again = publish(client, alice, NAME, tiny_lora_files(seed=4))
    assert again.json()["version"] == "v4"  # numbers are never reused
