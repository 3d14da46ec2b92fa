"""RunStore: runs saved in the playground's database (SQLite and PostgreSQL) with their exact prompt
text, listed and read back per owner, across reopening; runs from the earlier file moved in; diff."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from playground.client import Reply
from playground.evaluate import RunStore, diff
from playground.evaluate.engine import ModelTarget, run_evaluation
from playground.promptfile import loads
from playground.store import Store

FILE = """name: Numbers
model: m
messages:
  - role: user
    content: 'Say {{n}}'
testData:
  - n: 1
  - n: 2
  - n: 3
evaluators:
  - name: echoes
    string:
      contains: '{{n}}'
"""


class Echo:
    """Says the number asked for, except the ones in `wrong`."""

    def __init__(self, wrong=()):
        self.wrong = set(wrong)

    def complete_chat(self, messages, params, model=None):
        n = messages[-1]["content"].split()[-1]
        text = "nothing" if n in self.wrong else f"It is {n}"
        return Reply(texts=(text,), finish_reasons=("stop",), logprobs=(None,), prompt_tokens=3, completion_tokens=2,
                     elapsed=0.02)


def evaluate(wrong_a=(), wrong_b=()):
    return run_evaluation(loads(FILE), [ModelTarget("a", Echo(wrong_a), "m-a"), ModelTarget("b", Echo(wrong_b), "m-b")],
                          prompt_text=FILE)


def test_save_list_get_survive_reopening(new_store):
    store = RunStore(new_store())
    first = store.save(evaluate(wrong_a=["2"]))
    second = store.save(evaluate(), owner="alice")
    third = store.save(evaluate(wrong_b=["1", "3"]))

    reopened = RunStore(new_store())  # another process, or another replica on the same PostgreSQL
    listed = reopened.list()
    assert [r.id for r in listed] == [third, first]  # newest first, this owner's only
    assert (listed[1].name, listed[1].models, listed[1].total, listed[1].passed) == ("Numbers", ["a", "b"], 6, 5)
    assert [r.id for r in reopened.list(owner="alice")] == [second]
    assert reopened.get(second) is None  # another owner's run
    assert not reopened.delete(second) and reopened.get(second, owner="alice")
    saved = reopened.get(first)
    assert saved.owner == "local" and saved.created
    run = saved.run
    assert run.prompt_text == FILE and run.prompt.name == "Numbers"
    assert run.models == [{"label": "a", "model": "m-a", "embedded": False},
                          {"label": "b", "model": "m-b", "embedded": False}]
    assert run.params == {"max_tokens": 512}
    assert [c.passed for c in run.column("a")] == [True, False, True]
    assert run.cell(1, "a").output == "nothing"
    assert run.cell(1, "a").results[0].details.startswith("Expected to contain '2'")
    assert run.summary("a").pass_rate == 2 / 3
    assert reopened.get(first, owner="local").run.to_json() == saved.run.to_json()
    assert reopened.delete(third) and [r.id for r in reopened.list()] == [first]


OLD_RUNS_SCHEMA = """
CREATE TABLE eval_runs (id TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT 'local', created TEXT NOT NULL,
    name TEXT NOT NULL, prompt_text TEXT NOT NULL, models_json TEXT NOT NULL, judge_json TEXT,
    params_json TEXT NOT NULL, run_json TEXT NOT NULL, total INTEGER NOT NULL, passed INTEGER NOT NULL)
"""


def test_runs_an_earlier_version_kept_in_their_own_file_move_into_the_database(tmp_path):
    """Before schema 5, runs were saved in evaluations.db beside the SQLite database."""
    runs = [evaluate(wrong_a=["2"]), evaluate(), evaluate(wrong_b=["1"])]
    for run in runs:
        run.created = "2026-11-30T10:00:00+00:00"  # the same second: the file's order decides
    with closing(sqlite3.connect(tmp_path / "evaluations.db")) as conn, conn:
        conn.execute(OLD_RUNS_SCHEMA)
        for number, (run, owner) in enumerate(zip(runs, ["local", "alice", "local"], strict=True)):
            conn.execute("INSERT INTO eval_runs VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                         (f"old{number}", owner, run.created, run.prompt.name, run.prompt_text,
                          json.dumps(run.models), json.dumps(run.params), json.dumps(run.to_dict()),
                          run.progress().total, run.progress().passed))

    store = RunStore(Store(tmp_path / "playground.db"))
    assert [r.id for r in store.list()] == ["old2", "old0"] and [r.id for r in store.list("alice")] == ["old1"]
    assert store.get("old0").run.to_json() == runs[0].to_json()
    newer = store.save(evaluate())
    assert store.list()[0].id == newer
    assert [r.id for r in RunStore(Store(tmp_path / "playground.db")).list()] == [newer, "old2", "old0"]  # once


def test_diff_lists_rows_that_went_pass_to_fail_and_back_per_model(tmp_path):
    store = RunStore(Store(tmp_path / "playground.db"))
    before = store.get(store.save(evaluate(wrong_a=["2"])))
    after = store.get(store.save(evaluate(wrong_a=["3"], wrong_b=["1"])))
    changes = diff(before, after)
    assert [(c.row, c.test_case, c.before, c.after) for c in changes.regressions["a"]] == [
        (2, {"n": 3}, [], ["echoes"])]
    assert [(c.row, c.before, c.after) for c in changes.fixes["a"]] == [(1, ["echoes"], [])]
    assert [c.row for c in changes.regressions["b"]] == [0] and changes.fixes["b"] == []
    assert changes.changed and changes.unmatched == 0
    assert not diff(after, after).changed


def test_a_runs_file_that_cannot_be_read_does_not_stop_the_database_from_opening(tmp_path):
    (tmp_path / "evaluations.db").write_text("not a database")
    assert RunStore(Store(tmp_path / "playground.db")).list() == []
    assert (tmp_path / "evaluations.db").read_text() == "not a database"  # left as it was
