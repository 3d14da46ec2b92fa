"""The Evaluate page's use case, no Streamlit: the file opened in a session, the file as edited,
and a run in a worker thread that saves itself when it ends.

A `LiveEvaluation` plans the run at once (every cell pending) and fills it in on its own thread
(`engine.execute`); the page polls `run.cells` and redraws. When every cell is done, or after
`cancel()` once the calls in flight have ended, the run is saved through `save` (a RunStore's,
with the session's owner) on that same thread: a run is kept even if nobody looks at the page
when it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import replace
from typing import Any

from .. import state as keys
from ..promptfile import (
    MAX_FILE_BYTES,
    TOO_LARGE,
    Evaluator,
    Message,
    ModelParameters,
    PromptFile,
    PromptFileError,
    dumps,
    loads,
)
from .engine import DEFAULT_MAX_TOKENS, EvalRun, ModelTarget, execute, plan_evaluation


def open_text(state: MutableMapping[str, Any], text: str, source: str) -> str | None:
    """Open a prompt file's text in the page. A malformed one is not opened (the file shown
    stays); returns the error naming the field and line, or None."""
    try:
        prompt = loads(text, source=source)
    except PromptFileError as error:
        state[keys.EVAL_ERROR] = str(error)
        return str(error)
    state[keys.EVAL_ERROR] = None
    state[keys.EVAL_TEXT], state[keys.EVAL_SOURCE], state[keys.EVAL_PROMPT] = text, source, prompt
    state[keys.EVAL_ROUND] = state.get(keys.EVAL_ROUND, 0) + 1
    state[keys.EVAL_MESSAGE_IDS] = list(range(len(prompt.messages)))
    state[keys.EVAL_EVALUATOR_IDS] = list(range(len(prompt.evaluators)))
    state[keys.EVAL_NEXT_ID] = max(len(prompt.messages), len(prompt.evaluators))
    return None


def decode(data: bytes, source: str) -> tuple[str | None, str | None]:
    """An uploaded file's bytes as text, or why not."""
    if len(data) > MAX_FILE_BYTES:  # refused before decoding a copy of it
        return None, f"{source}: {TOO_LARGE}"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, f"{source}: is not UTF-8 text; a prompt file is YAML text. The file was not opened."


def add_item(state: MutableMapping[str, Any], list_key: str) -> None:
    """A new, blank message or evaluator at the end of the editor."""
    new_id = state.get(keys.EVAL_NEXT_ID, 0)
    state[keys.EVAL_NEXT_ID] = new_id + 1
    state[list_key] = [*state.get(list_key, []), new_id]


def remove_item(state: MutableMapping[str, Any], list_key: str, item_id: int) -> None:
    state[list_key] = [i for i in state.get(list_key, []) if i != item_id]


def edited(base: PromptFile, messages: Sequence[Message], test_data: Sequence[dict[str, Any]],
           evaluators: Sequence[Evaluator], parameters: ModelParameters) -> tuple[PromptFile | None, str | None]:
    """The file with the editor's messages, rows, evaluators and parameters (everything else,
    unknown keys included, as the file had it), checked as a file is when it is opened: the
    PromptFile, or the error naming the field and line of the edited file."""
    prompt = replace(base, messages=list(messages), test_data=[dict(r) for r in test_data],
                     evaluators=list(evaluators), model_parameters=parameters)
    try:
        loads(dumps(prompt), source="the edited file")
    except PromptFileError as error:
        return None, str(error)
    return prompt, None


def file_text(state: MutableMapping[str, Any], prompt: PromptFile) -> str:
    """The text a run keeps: the file exactly as opened when it was not edited, else as written."""
    base = state.get(keys.EVAL_PROMPT)
    text = state.get(keys.EVAL_TEXT)
    return text if text is not None and prompt == base else dumps(prompt)


class LiveEvaluation:
    """A run in progress: `run` (its cells fill in), `cancel()`, `wait(timeout)`, `done`;
    once done, `saved_id` (or `save_error`)."""

    def __init__(self, run: EvalRun, models: Sequence[ModelTarget], judge: ModelTarget | None,
                 save: Callable[[EvalRun], str] | None):
        self.run = run
        self.models = list(models)
        self.judge = judge
        self.cancel_event = threading.Event()
        self.saved_id: str | None = None
        self.save_error: str | None = None
        self.error: str | None = None
        self._save = save
        self._done = threading.Event()
        self.thread = threading.Thread(target=self._work, name="evaluate", daemon=True)

    def start(self) -> LiveEvaluation:
        self.thread.start()
        return self

    def _work(self) -> None:
        try:
            execute(self.run, self.models, self.judge, cancel=self.cancel_event)
        except Exception as exc:  # the engine keeps errors in cells; this is a bug, shown rather than lost
            self.error = f"The evaluation stopped: {exc!r}"
        finally:
            if self._save is not None:
                try:
                    self.saved_id = self._save(self.run)
                except Exception as exc:
                    self.save_error = f"This run could not be saved: {exc}"
            self._done.set()

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelling(self) -> bool:
        return self.cancel_event.is_set() and not self._done.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


def start(prompt: PromptFile, prompt_text: str, models: Sequence[ModelTarget], judge: ModelTarget | None, *,
          judge_max_tokens: int, save: Callable[[EvalRun], str] | None,
          default_max_tokens: int = DEFAULT_MAX_TOKENS) -> LiveEvaluation:
    """Plan the run (the file's parameters; without maxTokens, `default_max_tokens`) and start it."""
    run = plan_evaluation(prompt, models, judge, prompt_text=prompt_text, default_max_tokens=default_max_tokens,
                          judge_max_tokens=judge_max_tokens)
    return LiveEvaluation(run, models, judge, save).start()


def settle(state: MutableMapping[str, Any]) -> LiveEvaluation | None:
    """The run in progress, if any; a finished one becomes the run shown."""
    live = state.get(keys.EVAL_RUN)
    if live is not None and live.done:
        state[keys.EVAL_SHOWN] = (live.saved_id, live.run, live.error or live.save_error)
        if live.saved_id:  # the saved runs' list shows it picked
            state[keys.EVAL_SAVED_PICK] = live.saved_id
        del state[keys.EVAL_RUN]
        return None
    return live


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Column labels, numbered when two would be the same."""
    seen: dict[str, int] = {}
    result = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        result.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return result
