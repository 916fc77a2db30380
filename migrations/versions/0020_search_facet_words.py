"""Facet words in the full-text documents, and an index for the name sort.

Every adapter's search document gains one word per facet value and tag (hub/registry/search/fulltext.py
`facet_word`: "zzf" + the facet's letter + the value's UTF-8 in hex), so a search that combines words with
filters is answered by the full-text index alone. The words are written here in SQL, the same as the hub
writes them on every later change. `ix_adapters_key` lets a search sorted by name read the names in order.
Downgrade drops the index and leaves the words, which match nothing a person types.

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The facet letters of fulltext.py, and the adapters column each facet reads.
FACET_COLUMNS = {
    "b": "base_model",
    "t": "task",
    "a": "base_model_type",
    "m": "method",
    "l": "library",
    "c": "license",
}
HEX = {"sqlite": "lower(hex({}))", "postgresql": "encode(convert_to({}, 'UTF8'), 'hex')"}
CONCAT_TAGS = {"sqlite": "group_concat({}, '')", "postgresql": "string_agg({}, '')"}


def _word(letter: str, column: str, dialect: str) -> str:
    value = HEX[dialect].format(column)
    return f"CASE WHEN coalesce({column}, '') <> '' THEN ' zzf{letter}' || {value} ELSE '' END"


def _facet_words_sql(dialect: str) -> str:
    facets = " || ".join(_word(letter, column, dialect) for letter, column in FACET_COLUMNS.items())
    tags = CONCAT_TAGS[dialect].format(f"' zzfg' || {HEX[dialect].format('tag')}")
    return (
        "UPDATE adapter_texts SET search_text = trim(search_text"
        f" || coalesce((SELECT {facets} FROM adapters WHERE adapters.id = adapter_texts.adapter_id), '')"
        f" || coalesce((SELECT {tags} FROM adapter_tags WHERE adapter_tags.adapter_id = adapter_texts.adapter_id), ''))"
    )


def upgrade() -> None:
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.create_index("ix_adapters_key", ["key"], unique=False)
    op.execute(_facet_words_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.drop_index("ix_adapters_key")
