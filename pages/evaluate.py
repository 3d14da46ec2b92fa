"""Evaluate: a .prompt.yml file's test data and evaluators, run across up to four models; the grid
fills in cell by cell; runs are saved, reopened, exported and compared."""

import streamlit as st

import resources
from components.evaluate import (
    render_compare_picker,
    render_diff,
    render_editor,
    render_file_sources,
    render_finished_run,
    render_judge,
    render_live_run,
    render_models,
    render_open_error,
    render_run_button,
    render_saved_runs,
)
from components.lazy import lazy_expander
from components.model_picker import PREFERRED_GITHUB_MODEL
from playground import compare
from playground import state as keys
from playground.evaluate import diff, session, target_for
from playground.promptfile import prompts_dir

ss = st.session_state
config = resources.settings()
owner = resources.current_owner()
runs = resources.runs(config)
options = compare.model_options(resources.providers(config), resources.catalog_loader(config))
if (handed := ss.pop(keys.EVAL_FROM_CHAT, None)) is not None:  # the Chat page's "Save as prompt file"
    session.open_text(ss, handed, "chat.prompt.yml")


def open_saved(run_id: str) -> None:
    saved = runs.get(run_id, owner)
    if saved is not None:
        ss[keys.EVAL_SHOWN] = (saved.id, saved.run, None)


live = session.settle(ss)  # a run outlives a rerun (Stop, any widget): this script run draws it again
render_file_sources(prompts_dir(config.prompts_dir))
saved_runs = runs.list(owner)
render_saved_runs(saved_runs, open_saved)

st.title("Evaluate")
st.caption("A prompt file's test cases on up to four models, scored by its evaluators (the format of gh models).")
render_open_error()
prompt = ss.get(keys.EVAL_PROMPT)
if prompt is None:
    st.info("Open a .prompt.yml file in the sidebar, or use “Save as prompt file” on the Chat page.",
            icon=":material/science:")
else:
    edited, problem = render_editor(prompt, ss[keys.EVAL_SOURCE])
    models = render_models(options, compare.default_option(options, PREFERRED_GITHUB_MODEL))
    needs_judge = any(e.kind != "string" for e in (edited or prompt).evaluators)
    judge = render_judge(options, models) if needs_judge else None
    why = ("Fix the file first." if problem else "Pick a model." if not models
           else "A run is in progress." if live is not None else None)
    if render_run_button(why is not None, why) and edited is not None:
        labels = session.unique_labels([compare.option_label(c) for c in models])
        targets = [target_for(c, resources.client_for(c.endpoint, config), config, label=label)
                   for c, label in zip(models, labels, strict=True)]
        judge_target = None
        if judge is not None and judge != models[0]:
            judge_target = target_for(judge, resources.client_for(judge.endpoint, config), config,
                                      label=compare.option_label(judge))
        ss.pop(keys.EVAL_SHOWN, None)
        live = ss[keys.EVAL_RUN] = session.start(
            edited, session.file_text(ss, edited), targets, judge_target, judge_max_tokens=config.judge_max_tokens,
            save=lambda run: runs.save(run, owner))

compare_runs = lazy_expander("Compare two saved runs", keys.EVAL_COMPARE_OPEN, icon=":material/difference:")
with compare_runs:
    if compare_runs.open and (pair := render_compare_picker(saved_runs)):
        older, newer = runs.get(pair[0], owner), runs.get(pair[1], owner)
        if older and newer:
            render_diff(diff(older, newer))

if live is not None:
    render_live_run(live)
    st.rerun()  # the whole page: the run's exports, and the saved runs listing it
elif shown := ss.get(keys.EVAL_SHOWN):
    render_finished_run(*shown)
