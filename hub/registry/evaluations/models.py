"""One row per evaluation result a version's files state (hub/registry/evaluations/parse.py reads them)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base


class Evaluation(Base):
    """A claimed score of one version: written at publish with the version, immutable like it."""

    __tablename__ = "evaluations"
    __table_args__ = (
        # The leaderboard and sort=metric read the scores (or the baselines) of one (task, metric) from the index.
        Index("ix_evaluations_task_metric", "task", "metric", "baseline", "version_id", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the order the files state them in
    task: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[str] = mapped_column(String(200))
    dataset_name: Mapped[str | None] = mapped_column(String(200))
    dataset_config: Mapped[str | None] = mapped_column(String(200))
    dataset_split: Mapped[str | None] = mapped_column(String(200))
    dataset_revision: Mapped[str | None] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(64))
    metric_name: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    source_name: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    stated_on: Mapped[date | None] = mapped_column("date", Date)
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(255))
