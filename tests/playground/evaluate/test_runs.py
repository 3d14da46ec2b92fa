"""RunStore: runs saved with their exact prompt text, listed and read back per owner, across reopening;
diff between two runs."""

from __future__ import annotations

import sqlite3

from playground.client import Reply
from playground.evaluate import RunStore, default_runs_path, diff
from playground.evaluate.engine import ModelTarget, run_evaluation
from playground.promptfile import loads

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


def test_save_list_get_survive_reopening(tmp_path):
    path = tmp_path / "evaluations.db"
    store = RunStore(path)
    first = store.save(evaluate(wrong_a=["2"]))
    second = store.save(evaluate(), owner="alice")
    third = store.save(evaluate(wrong_b=["1", "3"]))

    reopened = RunStore(path)
    listed = reopened.list()
    assert [r.id for r in listed] == [third, first]  # newest first, this owner's only
    assert (listed[1].name, listed[1].models, listed[1].total, listed[1].passed) == ("Numbers", ["a", "b"], 6, 5)
    assert [r.id for r in reopened.list(owner="alice")] == [second]
    assert reopened.get(second) is None  # another owner's run
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

    # The owner column defaults to "local" for rows written without one.
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO eval_runs (id, created, name, prompt_text, models_json, params_json, run_json, total,"
                     " passed) SELECT 'old', created, name, prompt_text, models_json, params_json, run_json,"
                     " total, passed"
                     " FROM eval_runs WHERE id = ?", (first,))
    assert RunStore(path).get("old").owner == "local"


def test_diff_lists_rows_that_went_pass_to_fail_and_back_per_model(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    before = store.get(store.save(evaluate(wrong_a=["2"])))
    after = store.get(store.save(evaluate(wrong_a=["3"], wrong_b=["1"])))
    changes = diff(before, after)
    assert [(c.row, c.test_case, c.before, c.after) for c in changes.regressions["a"]] == [
        (2, {"n": 3}, [], ["echoes"])]
    assert [(c.row, c.before, c.after) for c in changes.fixes["a"]] == [(1, ["echoes"], [])]
    assert [c.row for c in changes.regressions["b"]] == [0] and changes.fixes["b"] == []
    assert changes.changed and changes.unmatched == 0
    assert not diff(after, after).changed


def test_runs_live_next_to_the_playground_database(tmp_path):
    assert default_runs_path(tmp_path / "playground.db") == tmp_path / "evaluations.db"
    assert default_runs_path().name == "evaluations.db"
