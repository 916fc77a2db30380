"""What the leaderboard page shows of each ranked adapter: the figures the adapter page already uses, in words."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from hub.registry.evaluations.leaderboard import Entry
from web.adapter_view import trainable_share
from web.templating import dataset_label, filesize, method_name, score


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    adapter: str  # namespace/name
    href: str
    method: str
    size: str
    share: str
    value: str
    dataset: str
    delta: str  # "+0.033" against the base on the same dataset, "" when no baseline is published


def leaderboard_rows(entries: list[Entry]) -> list[LeaderboardRow]:
    return [_row(entry) for entry in entries]


def _row(entry: Entry) -> LeaderboardRow:
    adapter, version = entry.adapter, entry.version
    ident = f"{adapter.namespace.name}/{adapter.name}"
    return LeaderboardRow(
        rank=entry.rank,
        adapter=ident,
        href=f"/{quote(adapter.namespace.name)}/{quote(adapter.name)}",
        method=method_name(version.method),
        size=filesize(version.total_bytes),
        share=trainable_share(version.trainable_params, (version.facts or {}).get("modules") or {}),
        value=score(entry.score.value),
        dataset=dataset_label(entry.score),
        delta=f"{entry.delta:+.4g}" if entry.delta is not None else "",
    )
