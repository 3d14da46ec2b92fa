"""The Evaluate page's pieces: where a prompt file comes from, its editor, the models, the grid of
results (drawn cell by cell while a run fills it in), saved runs and their comparison; and the
Chat page's "Save as prompt file"."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from components.plain_text import plain
from playground import compare
from playground import state as keys
from playground.evaluate import session
from playground.evaluate.engine import CANCELLED, DONE, RUNNING, SMALL_JUDGE_NOTE, Cell, EvalRun
from playground.evaluate.runs import RunDiff, RunSummary
from playground.local_endpoint.model import MODEL_NAME
from playground.promptfile import (
    BUILTIN_EVALUATORS,
    PLACEHOLDER,
    ROLES,
    STRING_RULES,
    Choice,
    Evaluator,
    LLMEvaluator,
    Message,
    ModelParameters,
    PromptFile,
    StringEvaluator,
    as_text,
    dumps,
    from_chat,
    list_prompt_files,
)
from playground.providers import EMBEDDED, ModelChoice
from playground.types import ChatParams

# Redraw the grid at most this often while a run fills it in: each redraw sends only the cells that changed.
REDRAW_INTERVAL = 0.1
PREVIEW = 160  # characters of an output shown in its cell; the rest behind "Whole output"
KINDS = ("string", "llm", "uses")
FIRST_MODEL = "first"  # the judge option "the first model under test"


# -- where a file comes from ------------------------------------------------------------------

def _open_upload() -> None:
    ss = st.session_state
    uploaded = ss.get(keys.EVAL_UPLOAD)
    if uploaded is None:
        return
    text, error = session.decode(uploaded.getvalue(), uploaded.name)
    if error:
        ss[keys.EVAL_ERROR] = error
        return
    session.open_text(ss, text, uploaded.name)


def listed_files(folder: Path) -> dict[str, Path]:
    """The prompt files the picker offers, by the name it shows, with their real paths: only files
    whose real path is inside the folder (a symlink to a file elsewhere is left out)."""
    try:
        root = folder.resolve(strict=True)
    except OSError:
        return {}
    files = {}
    for path in list_prompt_files(folder):
        real = path.resolve()
        if real.is_relative_to(root) and real.is_file():
            files[str(path.relative_to(folder))] = real
    return files


def _open_from_folder(folder: Path) -> None:
    """Open the picked file. The value comes from the browser, which can send any string: only a
    name the picker listed is opened, from the real path found when listing; any other (`..`, an
    absolute path, a symlink out of the folder, a file not offered) is refused before anything is read."""
    ss = st.session_state
    name = ss.get(keys.EVAL_PICK)
    if not name:
        return
    name = str(name)
    path = listed_files(folder).get(name)
    if path is None:
        ss[keys.EVAL_ERROR] = f"{name}: not one of the prompt files listed from {folder}; only those can be opened."
        return
    try:
        data = path.read_bytes()
    except OSError as error:
        ss[keys.EVAL_ERROR] = f"{name}: cannot be read ({error.strerror})."
        return
    text, problem = session.decode(data, name)
    if problem:
        ss[keys.EVAL_ERROR] = problem
        return
    session.open_text(ss, text, name)


def render_file_sources(folder: Path) -> None:
    """Sidebar: upload a file, or pick one of the prompts folder's."""
    st.sidebar.subheader("Prompt file")
    st.sidebar.file_uploader("Open a .prompt.yml", type=["yml", "yaml"], key=keys.EVAL_UPLOAD, on_change=_open_upload,
                             help="The format of GitHub's gh models: messages, testData, evaluators.")
    files = list(listed_files(folder))
    if files:
        # The folder is the deployment's setting (PLAYGROUND_PROMPTS_DIR), and a label is also the
        # field's accessible name, read unrendered: it goes as it is.
        st.sidebar.selectbox(f"Or one from {folder}", files, index=None, key=keys.EVAL_PICK,
                             placeholder="Choose a file",
                             on_change=_open_from_folder, args=(folder,))
    else:
        st.sidebar.caption(f"No .prompt.yml files in {plain(folder)} (PLAYGROUND_PROMPTS_DIR).")


def render_open_error() -> None:
    error = st.session_state.get(keys.EVAL_ERROR)
    if error:  # it quotes the file's name and may quote its text
        st.error(f"{plain(error)}\n\nThe file was not opened; nothing was run.", icon=":material/error:")


# -- the editor -------------------------------------------------------------------------------

def _key(name: str) -> str:
    return keys.eval_key(st.session_state[keys.EVAL_ROUND], name)


def _remove(list_key: str, item_id: int) -> None:
    session.remove_item(st.session_state, list_key, item_id)


def _add(list_key: str) -> None:
    session.add_item(st.session_state, list_key)


def _messages(prompt: PromptFile) -> list[Message]:
    result = []
    for item in st.session_state[keys.EVAL_MESSAGE_IDS]:
        base = prompt.messages[item] if item < len(prompt.messages) else Message("user", "")
        role_col, content_col, remove_col = st.columns([1, 6, 0.5], vertical_alignment="bottom")
        role = role_col.selectbox("Role", ROLES, index=ROLES.index(base.role), key=_key(f"role_{item}"),
                                  persist_state=keys.KEEP)
        content = content_col.text_area("Content", base.content, key=_key(f"content_{item}"), height=80,
                                        persist_state=keys.KEEP)
        remove_col.button("", icon=":material/delete:", key=_key(f"remove_message_{item}"), help="Remove this message",
                          on_click=_remove, args=(keys.EVAL_MESSAGE_IDS, item))
        result.append(Message(role, content, dict(base.extra)))
    st.button("Add a message", icon=":material/add:", key=_key("add_message"), on_click=_add,
              args=(keys.EVAL_MESSAGE_IDS,))
    return result


def variables(messages: Sequence[Message], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The test data's columns: the messages' placeholders in the order they appear, then any
    other value the rows hold (an evaluator's {{expected}}, say)."""
    names: list[str] = []
    for message in messages:
        names += [n for n in PLACEHOLDER.findall(message.content) if n not in names]
    for row in rows:
        names += [str(k) for k in row if str(k) not in names]
    return names


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _test_data(prompt: PromptFile, messages: Sequence[Message]) -> list[dict[str, Any]]:
    import pandas as pd  # here, not at the top: the Chat page imports this module too

    columns = variables(messages, prompt.test_data)
    if not columns:
        st.caption("The messages use no {{variables}}: the run sends them once, as they are.")
        return []
    # The editor's state is its edits to the table it was given, and Streamlit drops it when the
    # page is left; so each editor's table and latest values are kept aside, and an editor drawn
    # afresh (back from another page) starts from the values it had.
    key = _key("rows_" + "\x1f".join(columns))
    kept = st.session_state.setdefault(keys.EVAL_TEST_ROWS, {})
    if key not in kept or key not in st.session_state:
        latest = kept[key][1] if key in kept else [[as_text(row[c]) if c in row else None for c in columns]
                                                   for row in prompt.test_data]
        kept[key] = (latest, latest)
    table = st.data_editor(pd.DataFrame(kept[key][0], columns=columns, dtype="object"), num_rows="dynamic",
                           width="stretch", key=key, column_config={c: st.column_config.TextColumn(c) for c in columns})
    kept[key] = (kept[key][0], table.astype("object").where(table.notna(), None).values.tolist())
    rows = []
    for index, record in enumerate(table.to_dict("records")):
        original = prompt.test_data[index] if index < len(prompt.test_data) else {}
        row: dict[str, Any] = {}
        for column in columns:
            value = record.get(column)
            if column in original and value == as_text(original[column]):
                row[column] = original[column]  # unchanged: the file's own value (a number stays a number)
            elif not _is_blank(value):
                row[column] = value
        # Values the editor has no column for (none today) stay as the file had them.
        row.update({k: v for k, v in original.items() if k not in columns})
        if row or index < len(prompt.test_data):
            rows.append(row)
    return rows


def _choices(item: int, base: LLMEvaluator | None) -> list[Choice]:
    import pandas as pd

    given = base.choices if base else [Choice("yes", 1.0), Choice("no", 0.0)]
    table = st.data_editor(pd.DataFrame([{"choice": c.choice, "score": c.score} for c in given]), num_rows="dynamic",
                           key=_key(f"choices_{item}"),
                           column_config={"choice": st.column_config.TextColumn("Choice"),
                                          "score": st.column_config.NumberColumn("Score", step=0.05)})
    result = []
    for index, record in enumerate(table.to_dict("records")):
        if _is_blank(record.get("choice")):
            continue
        score = record.get("score")
        extra = given[index].extra if index < len(given) and given[index].choice == record["choice"] else {}
        result.append(Choice(str(record["choice"]), 0.0 if _is_blank(score) else float(score), dict(extra)))
    return result


def _evaluator(item: int, base: Evaluator | None) -> Evaluator:
    name = st.text_input("Name", base.name if base else f"evaluator {item + 1}", key=_key(f"ev_name_{item}"),
                         persist_state=keys.KEEP)
    kind = st.radio("Kind", KINDS, index=KINDS.index(base.kind) if base else 0, horizontal=True,
                    key=_key(f"ev_kind_{item}"), persist_state=keys.KEEP,
                    format_func={"string": "String rule", "llm": "LLM judge", "uses": "Built-in judge"}.get)
    extra = dict(base.extra) if base else {}
    if kind == "string":
        given = base.string if base and base.string else StringEvaluator("contains", "")
        rule_col, value_col = st.columns([1, 3])
        rule = rule_col.selectbox("Rule", STRING_RULES, index=STRING_RULES.index(given.rule),
                                  key=_key(f"ev_rule_{item}"), persist_state=keys.KEEP,
                                  help="equals is case-sensitive; the others ignore case.")
        value = value_col.text_input("Value", given.value, key=_key(f"ev_value_{item}"), persist_state=keys.KEEP,
                                     help="{{variables}} are filled in from the test case.")
        return Evaluator(name, string=StringEvaluator(rule, value, dict(given.extra)), extra=extra)
    if kind == "llm":
        given_llm = base.llm if base and base.llm else None
        model_id = st.text_input("modelId (kept in the file; the judge is the model picked below)",
                                 given_llm.model_id if given_llm else "openai/gpt-4o", key=_key(f"ev_model_{item}"),
                                 persist_state=keys.KEEP)
        system = st.text_area("System prompt (optional)", (given_llm.system_prompt or "") if given_llm else "",
                              key=_key(f"ev_system_{item}"), height=68, persist_state=keys.KEEP)
        prompt = st.text_area("Prompt ({{completion}} is the reply)",
                              given_llm.prompt if given_llm
                              else "Is this a good answer? {{completion}} Reply yes or no.",
                              key=_key(f"ev_prompt_{item}"), height=100, persist_state=keys.KEEP)
        llm = LLMEvaluator(model_id, prompt, _choices(item, given_llm), system or None,
                           dict(given_llm.extra) if given_llm else {})
        return Evaluator(name, llm=llm, extra=extra)
    uses = base.uses if base and base.uses else BUILTIN_EVALUATORS[0]
    chosen = st.selectbox("Built-in judge", BUILTIN_EVALUATORS, index=BUILTIN_EVALUATORS.index(uses),
                          key=_key(f"ev_uses_{item}"), persist_state=keys.KEEP)
    return Evaluator(name, uses=chosen, extra=extra)


def _evaluators(prompt: PromptFile) -> list[Evaluator]:
    result = []
    for item in st.session_state[keys.EVAL_EVALUATOR_IDS]:
        base = prompt.evaluators[item] if item < len(prompt.evaluators) else None
        with st.container(border=True):
            result.append(_evaluator(item, base))
            st.button("Remove this evaluator", icon=":material/delete:", key=_key(f"remove_evaluator_{item}"),
                      on_click=_remove, args=(keys.EVAL_EVALUATOR_IDS, item))
    st.button("Add an evaluator", icon=":material/add:", key=_key("add_evaluator"), on_click=_add,
              args=(keys.EVAL_EVALUATOR_IDS,))
    return result


def _parameters(prompt: PromptFile) -> ModelParameters:
    p = prompt.model_parameters
    # The file may write `temperature: 0`; the inputs take floats (0 == 0.0, so the file stays unedited).

    def as_float(value: float | None) -> float | None:
        return float(value) if value is not None else None

    left, middle, right = st.columns(3)
    max_tokens = left.number_input("maxTokens", min_value=1, max_value=100_000, value=p.max_tokens, step=1,
                                   key=_key("max_tokens"), persist_state=keys.KEEP, placeholder="512 (the cap)",
                                   help="Empty: replies are capped at 512 tokens.")
    temperature = middle.number_input("temperature", min_value=0.0, max_value=2.0, value=as_float(p.temperature),
                                      step=0.1,
                                      key=_key("temperature"), persist_state=keys.KEEP, placeholder="the model's")
    top_p = right.number_input("topP", min_value=0.0, max_value=1.0, value=as_float(p.top_p), step=0.05,
                               key=_key("top_p"),
                               persist_state=keys.KEEP, placeholder="the model's")
    # An unchanged value stays as the file wrote it (an int stays an int in the written file).

    def same(new: float | None, old: float | None) -> float | None:
        return old if new == old else new

    return ModelParameters(int(max_tokens) if max_tokens is not None else None, same(temperature, p.temperature),
                           same(top_p, p.top_p), dict(p.extra))


def render_editor(prompt: PromptFile, source: str) -> tuple[PromptFile | None, str | None]:
    """The file opened, editable: messages, test rows, evaluators, parameters. Returns the file
    as edited (or the error that stops it from running) and draws its download."""
    # The file's name, description and evaluator names are anyone's text: shown literally.
    st.subheader(plain(prompt.name or source))
    if prompt.description:
        st.caption(plain(prompt.description))
    tab_messages, tab_rows, tab_evaluators, tab_parameters = st.tabs(
        ["Messages", "Test data", "Evaluators", "Parameters"])
    with tab_messages:
        messages = _messages(prompt)
        found = variables(messages, [])
        st.caption("Variables: " + (plain(", ".join("{{" + v + "}}" for v in found)) if found else "none"))
    with tab_rows:
        rows = _test_data(prompt, messages)
    with tab_evaluators:
        evaluators = _evaluators(prompt)
    with tab_parameters:
        parameters = _parameters(prompt)
    result, error = session.edited(prompt, messages, rows, evaluators, parameters)
    if error:
        st.error(f"{plain(error)}. Fix it to run.", icon=":material/error:")
    else:
        assert result is not None
        name = Path(source).name if source.endswith((".yml", ".yaml")) else "prompt.prompt.yml"
        st.download_button("Download .prompt.yml", dumps(result), file_name=name, mime="application/x-yaml",
                           icon=":material/download:", key=keys.EVAL_DOWNLOAD_FILE, on_click="ignore")
    return result, error


# -- models -----------------------------------------------------------------------------------

def render_models(options: Mapping[str, ModelChoice], default: str) -> list[ModelChoice]:
    ss = st.session_state
    if keys.EVAL_MODELS not in ss or any(k not in options for k in ss[keys.EVAL_MODELS]):
        ss[keys.EVAL_MODELS] = [k for k in ss.get(keys.EVAL_MODELS, []) if k in options] or [default]
    chosen = st.multiselect("Models (up to four: one column each)", list(options), key=keys.EVAL_MODELS,
                            max_selections=4, persist_state=keys.KEEP,
                            format_func=lambda k: compare.option_label(options[k]))
    return [options[k] for k in chosen]


def render_judge(options: Mapping[str, ModelChoice], models: Sequence[ModelChoice]) -> ModelChoice | None:
    """The judge of the file's llm and uses evaluators (default: the first model under test)."""
    ss = st.session_state
    if ss.get(keys.EVAL_JUDGE) not in (FIRST_MODEL, *options):
        ss[keys.EVAL_JUDGE] = FIRST_MODEL
    first = compare.option_label(models[0]) if models else "none picked"
    picked = st.selectbox("Judge (answers the LLM evaluators)", [FIRST_MODEL, *options], key=keys.EVAL_JUDGE,
                          persist_state=keys.KEEP,
                          format_func=lambda k: f"The first model under test ({first})" if k == FIRST_MODEL
                          else compare.option_label(options[k]))
    judge = (models[0] if models else None) if picked == FIRST_MODEL else options[picked]
    if judge is not None and judge.provider.kind == EMBEDDED:
        st.caption(SMALL_JUDGE_NOTE)
    return judge


def render_run_button(disabled: bool, why: str | None) -> bool:
    clicked = st.button("Run", icon=":material/play_arrow:", type="primary", key=keys.EVAL_START, disabled=disabled,
                        help=why)
    if why:
        st.caption(why)
    return clicked


# -- the grid ---------------------------------------------------------------------------------

def _case_text(test_case: Mapping[str, Any]) -> str:
    if not test_case:
        return "(the messages as they are)"
    return "\n".join(f"{k}: {as_text(v)}" for k, v in test_case.items())


def _draw_cell(cell: Cell) -> None:
    if cell.state == CANCELLED:
        st.caption("Not run (stopped)")
        return
    if cell.state != DONE:
        st.caption("Running…" if cell.state == RUNNING else "Waiting")
        return
    if cell.error:
        label = "Rate limited" if cell.rate_limited else "Error"
        st.markdown(f":orange[**{label}**]" if cell.rate_limited else f":red[**{label}**]")
        st.caption(plain(cell.error))  # the server's words
        return
    score = f" · score {cell.score:.2f}" if cell.score is not None else ""
    st.markdown((":green[**Pass**]" if cell.passed else ":red[**Fail**]") + score)
    for result in cell.results:
        st.caption(f"{plain(result.evaluator)}: {result.score:.2f} {'pass' if result.passed else 'fail'}",
                   help=plain(result.details) if result.details else None)  # a judge's reply, say
    output = cell.output or ""
    st.text(output if len(output) <= PREVIEW else output[:PREVIEW] + "…")
    if len(output) > PREVIEW:
        with st.expander("Whole output"):
            st.text(output)
    tokens = f"{cell.prompt_tokens or 0} + {cell.completion_tokens or 0} tokens"
    latency = f" · {cell.latency:.2f} s" if cell.latency is not None else ""
    st.caption(tokens + latency)


def _draw_summary(run: EvalRun, label: str) -> None:
    s = run.summary(label)
    rate = f"{s.pass_rate:.0%}" if s.pass_rate is not None else "–"
    mean = f" · mean score {s.mean_score:.2f}" if s.mean_score is not None else ""
    st.markdown(f"**Pass rate {rate}** ({s.passed}/{s.done}){mean}")
    extra = f" · {s.errors} error(s)" if s.errors else ""
    st.caption(f"{s.total_tokens} tokens · {s.total_time:.1f} s model time{extra}")


def _draw_progress(slot: Any, run: EvalRun) -> None:
    p = run.progress()
    slot.progress(p.done / p.total if p.total else 1.0, text=f"{p.done} of {p.total} cells · {p.passed} passed")


class _Grid:
    """The grid's placeholders: one per cell and per column summary."""

    def __init__(self, run: EvalRun):
        self.run = run
        self.progress = st.empty()
        widths = [2] + [3] * len(run.labels)
        header = st.columns(widths)
        header[0].markdown("**Test case**")
        self.summaries = []
        for column, label in zip(header[1:], run.labels, strict=True):
            column.markdown(f"**{plain(label)}**")
            self.summaries.append(column.empty())
        self.cells: list[Any] = [None] * len(run.cells)
        columns = len(run.labels)
        for row in range(run.rows):
            line = st.columns(widths)
            line[0].text(_case_text(run.cells[row * columns].test_case))
            for index in range(columns):
                self.cells[row * columns + index] = line[index + 1].empty()
        self.drawn: list[Any] = [None] * len(run.cells)

    def draw(self) -> bool:
        """Redraw the cells that changed since the last call (and then the totals); True if any did."""
        changed = False
        for index, cell in enumerate(list(self.run.cells)):
            signature = (id(cell), cell.state)
            if self.drawn[index] != signature:
                with self.cells[index].container():
                    _draw_cell(cell)
                self.drawn[index] = signature
                changed = True
        if changed:
            _draw_progress(self.progress, self.run)
            for slot, label in zip(self.summaries, self.run.labels, strict=True):
                with slot.container():
                    _draw_summary(self.run, label)
        return changed


def render_live_run(live: session.LiveEvaluation) -> None:
    """Draw the run as its cells finish, until it ends. A rerun (Stop, any widget) interrupts
    this loop, not the run: the next script run draws it again."""
    stop = st.empty()
    if live.cancelling:
        stop.caption("Stopping: waiting for the calls in flight…")
    else:
        stop.button("Stop", icon=":material/stop_circle:", key=keys.EVAL_STOP, on_click=live.cancel)
    _notes(live.run)
    grid = _Grid(live.run)
    grid.draw()
    while not live.wait(REDRAW_INTERVAL):
        grid.draw()
    grid.draw()
    stop.empty()


def _notes(run: EvalRun) -> None:
    for note in run.notes:
        st.caption(plain(note))  # they name models and the judge


def render_finished_run(saved_id: str | None, run: EvalRun, save_error: str | None = None) -> None:
    progress = run.progress()
    stopped = " (stopped: the cells that finished are kept)" if run.cancelled else ""
    st.subheader(f"Results{stopped}")
    when = f"Saved run · {run.created}" if saved_id else f"Not saved · {run.created}"
    st.caption(f"{when} · {progress.done} of {progress.total} cells · {progress.passed} passed")
    if save_error:
        st.warning(plain(save_error), icon=":material/warning:")
    _notes(run)
    stem = (run.prompt.name or "evaluation").replace("/", "-").replace(" ", "-")
    left, right = st.columns(2)
    left.download_button("Export JSON", run.to_json(), file_name=f"{stem}.results.json", mime="application/json",
                         icon=":material/download:", key=keys.EVAL_EXPORT_JSON, on_click="ignore")
    right.download_button("Export CSV", run.to_csv(), file_name=f"{stem}.results.csv", mime="text/csv",
                          icon=":material/download:", key=keys.EVAL_EXPORT_CSV, on_click="ignore")
    _Grid(run).draw()


# -- saved runs -------------------------------------------------------------------------------

def _run_label(summary: RunSummary) -> str:
    models = ", ".join(summary.models)
    return f"{summary.created} · {summary.name or 'untitled'} · {models} · {summary.passed}/{summary.total} passed"


def render_saved_runs(saved: Sequence[RunSummary], on_open: Callable[[str], None]) -> None:
    """Sidebar: every saved run, newest first; Open shows it."""
    st.sidebar.subheader("Saved runs")
    if not saved:
        st.sidebar.caption("None yet: a run is saved when it finishes or is stopped.")
        return
    by_id = {s.id: s for s in saved}
    picked = st.sidebar.selectbox("Run", list(by_id), key=keys.EVAL_SAVED_PICK,
                                  format_func=lambda i: _run_label(by_id[i]))
    st.sidebar.button("Open", icon=":material/folder_open:", key=keys.EVAL_SAVED_OPEN, on_click=on_open,
                      args=(picked,))


def render_compare_picker(saved: Sequence[RunSummary]) -> tuple[str, str] | None:
    """Two saved runs of the same file (older, newer), or None."""
    if len(saved) < 2:
        st.caption("Two saved runs of the same file are needed.")
        return None
    by_id = {s.id: s for s in saved}
    left, right = st.columns(2)
    a = left.selectbox("Older run", list(by_id), index=min(1, len(saved) - 1), key=keys.EVAL_COMPARE_A,
                       format_func=lambda i: _run_label(by_id[i]))
    same = [s.id for s in saved if s.name == by_id[a].name and s.id != a]
    if not same:
        st.caption("No other saved run of this file.")
        return None
    b = right.selectbox("Newer run", same, key=keys.EVAL_COMPARE_B, format_func=lambda i: _run_label(by_id[i]))
    return a, b


def render_diff(result: RunDiff) -> None:
    import pandas as pd

    if not result.regressions and not result.fixes:
        st.info("The two runs have no model in common.")
        return
    for model in result.regressions:
        st.markdown(f"**{plain(model)}**")
        went_bad, went_good = result.regressions[model], result.fixes[model]
        left, right = st.columns(2)
        for column, title, changes in ((left, "Pass → fail", went_bad), (right, "Fail → pass", went_good)):
            column.markdown(f"{title}: {len(changes)}")
            if changes:
                column.dataframe(pd.DataFrame([{"row": c.row + 1, "test case": _case_text(c.test_case),
                                                "failed before": ", ".join(c.before), "failed now": ", ".join(c.after)}
                                               for c in changes]), hide_index=True)
    if result.unmatched:
        st.caption(f"{result.unmatched} test case(s) of the newer run are not in the older one.")


# -- "Save as prompt file" on the Chat page ------------------------------------------------------

def prompt_file_text(chat: Any, choice: ModelChoice, params: ChatParams) -> str:
    ss = st.session_state
    messages = [{"role": m.role, "content": m.content} for m in chat.messages]
    model = MODEL_NAME if choice.provider.kind == EMBEDDED else choice.model
    return dumps(from_chat(ss.get(keys.SYSTEM_PROMPT), messages, params, model))


def render_save_as_prompt_file(chat: Any, choice: ModelChoice, params: ChatParams) -> None:
    """The conversation as a .prompt.yml (its last user message as {{input}}): opened in the
    Evaluate page, or downloaded. Filled only while open (components.lazy)."""
    from components.lazy import lazy_expander

    expander = lazy_expander("Save as prompt file", keys.EVAL_CHAT_SAVE_OPEN, icon=":material/science:",
                             where=st.sidebar)
    with expander:
        if not expander.open:
            return
        text = prompt_file_text(chat, choice, params)
        st.caption("The system prompt, the messages and the parameters; the last message you sent becomes "
                   "{{input}}, with a test row holding it.")
        if st.button("Evaluate it", icon=":material/science:", key=keys.EVAL_CHAT_TO_EVALUATE):
            st.session_state[keys.EVAL_FROM_CHAT] = text
            st.switch_page("pages/evaluate.py")
        st.download_button("Download .prompt.yml", text, file_name="chat.prompt.yml", mime="application/x-yaml",
                           icon=":material/download:", key=keys.EVAL_CHAT_DOWNLOAD, on_click="ignore")
