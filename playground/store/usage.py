"""The per-owner storage budget: how many bytes each owner's saved data takes, counted in the
`storage_used` table inside the very write transaction that changes that data. Writers queue one
at a time on both backends (see schema), so every thread, process and replica on one database
counts together, and two of them cannot both take the last megabyte.

What counts (`recount` is the definition; every write keeps the count equal to it):
- a conversation: ROW_BYTES + its setup (JSON);
- a message: ROW_BYTES + its text, metrics and tool calls (UTF-8) + its images' bytes;
- a preset: ROW_BYTES + its data; an evaluation run: ROW_BYTES + its prompt file and results.
Titles and names (a few hundred characters at most), the search copy of the text and the
database's own indexes are not counted: the file on disk is larger, about twice the count.
A deleted conversation counts until it is purged, since it is still stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .records import StoreError, human_size

if TYPE_CHECKING:  # schema runs `fill` as a migration step
    from .schema import Tx

# What a row costs beyond the values counted, so that a million empty messages are not free.
ROW_BYTES = 100


class StorageFull(StoreError):
    """A write that would take `owner` past the budget; nothing of it was saved. `str(exc)` is
    the sentence to show the user."""

    def __init__(self, used: int, budget: int, adding: int):
        self.used, self.budget, self.adding = used, budget, adding
        super().__init__(
            f"Your saved conversations take {human_size(used)} of the {human_size(budget)} each user may keep "
            f"on this deployment, and this needs {human_size(adding)} more. Delete conversations you no longer "
            "need (History); deleted ones still count until they are removed for good.")


def size(*values: str | bytes | None) -> int:
    """The bytes of text and binary values as the database holds them (text as UTF-8)."""
    return sum(len(v.encode("utf-8")) if isinstance(v, str) else len(v) for v in values if v is not None)


def message_size(content: str, metrics: str | None, tool_calls: str | None, images: Sequence[dict[str, Any]]) -> int:
    return ROW_BYTES + size(content, metrics, tool_calls, *(image["data"] for image in images))


def used(tx: Tx, owner: str) -> int:
    row = tx.one("SELECT bytes FROM storage_used WHERE owner = ?", (owner,))
    return int(row[0]) if row else 0


def charge(tx: Tx, owner: str, delta: int, budget: int | None) -> None:
    """Add `delta` bytes (negative: freed) to `owner`'s count. StorageFull when a growth would pass
    `budget` (None: no budget); raised inside the write, it rolls the whole write back."""
    if delta == 0:
        return
    before = used(tx, owner)
    if budget is not None and delta > 0 and before + delta > budget:
        raise StorageFull(before, budget, delta)
    tx.run("INSERT INTO storage_used (owner, bytes) VALUES (?, ?) ON CONFLICT (owner) "
           "DO UPDATE SET bytes = storage_used.bytes + excluded.bytes", (owner, delta))


def messages_size(tx: Tx, where: str, params: tuple[Any, ...]) -> int:
    """The bytes of the messages `where` selects (an SQL condition on `m`, the messages table)."""
    o = tx.backend.octets
    (text,) = tx.one_row(f"SELECT COALESCE(SUM({ROW_BYTES} + {o('m.content')} + COALESCE({o('m.metrics')}, 0) + "
                         f"COALESCE({o('m.tool_calls')}, 0)), 0) FROM messages m WHERE {where}", params)
    (images,) = tx.one_row(f"SELECT COALESCE(SUM({o('a.data')}), 0) FROM attachments a "
                           f"JOIN messages m ON m.id = a.message_id WHERE {where}", params)
    return int(text) + int(images)


def conversations_size(tx: Tx, where: str, params: tuple[Any, ...]) -> dict[str, int]:
    """Per owner, the bytes of the conversations `where` selects (a condition on `c`), messages and all."""
    o = tx.backend.octets
    totals: dict[str, int] = {}
    for sql in (f"SELECT c.owner, SUM({ROW_BYTES} + {o('c.setup')}) FROM conversations c WHERE {where} "
                "GROUP BY c.owner",
                f"SELECT c.owner, SUM({ROW_BYTES} + {o('m.content')} + COALESCE({o('m.metrics')}, 0) + "
                f"COALESCE({o('m.tool_calls')}, 0)) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                f"WHERE {where} GROUP BY c.owner",
                f"SELECT c.owner, SUM({o('a.data')}) FROM attachments a JOIN messages m ON m.id = a.message_id "
                f"JOIN conversations c ON c.id = m.conversation_id WHERE {where} GROUP BY c.owner"):
        for owner, bytes_ in tx.all(sql, params):
            totals[owner] = totals.get(owner, 0) + int(bytes_ or 0)
    return totals


def runs_size_sql(tx: Tx) -> str:
    """The SQL for one eval_runs row's bytes."""
    o = tx.backend.octets
    return (f"{ROW_BYTES} + {o('prompt_text')} + {o('models_json')} + COALESCE({o('judge_json')}, 0) + "
            f"{o('params_json')} + {o('run_json')}")


def recount(tx: Tx) -> dict[str, int]:
    """Every owner's bytes, counted from scratch (the definition the running count keeps to)."""
    o = tx.backend.octets
    totals = conversations_size(tx, "1 = 1", ())
    for sql in (f"SELECT owner, SUM({ROW_BYTES} + {o('data')}) FROM presets GROUP BY owner",
                f"SELECT owner, SUM({runs_size_sql(tx)}) FROM eval_runs GROUP BY owner"):
        for owner, bytes_ in tx.all(sql):
            totals[owner] = totals.get(owner, 0) + int(bytes_ or 0)
    return {owner: total for owner, total in totals.items() if total}


def fill(tx: Tx) -> None:
    """The migration's step: the count of what was saved before there was one."""
    for owner, total in recount(tx).items():
        tx.run("INSERT INTO storage_used (owner, bytes) VALUES (?, ?)", (owner, total))
