"""`python -m playground.evaluate FILE.prompt.yml [--model SPEC ...] [--judge SPEC] [--json OUT]`

SPEC is `embedded` (the embedded model, started or reused) or `PROVIDER:MODEL` for a provider
the environment configures (`azure:...`, `github:openai/gpt-4o`, ...). Without `--model`, the
file's own `model` runs on the first configured provider that serves it.
Exit status: 0 every test passed, 1 a test failed (or could not run), 2 the file or the
arguments are invalid (the message says what is wrong).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..client import ChatClient, PlaygroundError, Transport
from ..local_endpoint.model import MODEL_NAME
from ..promptfile import PromptFileError, loads, read_text
from ..providers import AZURE, EMBEDDED, GITHUB, Provider, configured_providers
from ..settings import Settings, SettingsError, load_settings
from .engine import (
    EMBEDDED_CONCURRENCY,
    Cell,
    EvalRun,
    ModelTarget,
    Progress,
    execute,
    plan_evaluation,
)

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unusable environment: exit 2 with this message."""


@dataclass
class _Resolver:
    """Turns SPECs into ModelTargets: one client per provider, the embedded endpoint started once."""

    settings: Settings
    concurrency: int | None = None

    def __post_init__(self) -> None:
        self.embedded_url = f"http://{self.settings.local_host}:{self.settings.local_port}"
        self.providers = configured_providers(self.settings, self.embedded_url)
        self.clients: dict[str, Transport] = {}
        self.embedded_process: Any = None
        self.targets: dict[str, ModelTarget] = {}

    def provider_ids(self) -> list[str]:
        return [p.id for p in self.providers]

    def client(self, provider: Provider) -> Transport:
        if provider.id not in self.clients:
            if provider.kind == EMBEDDED and self.embedded_process is None:
                from ..embedded import ensure_embedded_endpoint

                try:
                    self.embedded_process = ensure_embedded_endpoint(self.settings)
                except PlaygroundError as error:
                    raise UsageError(f"The embedded model is not available: {error.message}") from None
            self.clients[provider.id] = ChatClient(provider.endpoint, read_timeout=self.settings.request_timeout,
                                                   max_retry_after=self.settings.max_retry_after)
        return self.clients[provider.id]

    def target(self, provider: Provider, model: str | None, label: str) -> ModelTarget:
        if label in self.targets:
            return self.targets[label]
        embedded = provider.kind == EMBEDDED
        limit = self.concurrency or (
            (self.settings.local_parallel or EMBEDDED_CONCURRENCY) if embedded else self.settings.eval_concurrency)
        target = ModelTarget(label=label, client=self.client(provider), model=None if embedded else model,
                             concurrency=limit, embedded=embedded, pool=provider.id)
        self.targets[label] = target
        return target

    def resolve(self, spec: str, option: str) -> ModelTarget:
        spec = spec.strip()
        if spec == EMBEDDED or spec.startswith(EMBEDDED + ":"):
            return self.target(self._provider(EMBEDDED), None, EMBEDDED)
        matches = [p for p in self.providers if spec == p.id or spec.startswith(p.id + ":")]
        if not matches:
            known = ", ".join(self.provider_ids())
            hint = (" Microsoft Foundry needs AZURE_OPENAI_ENDPOINT (OpenAI v1) or AZURE_INFERENCE_ENDPOINT (Model "
                    "Inference API); an OpenAI-compatible server needs OPENAI_BASE_URL.")
            head = spec.split(":", 1)[0]
            raise UsageError(f"{option} {spec!r}: no provider {head!r} is configured (configured: {known}).{hint}")
        provider = max(matches, key=lambda p: len(p.id))
        if spec == provider.id:
            model = provider.model  # a custom endpoint's fixed model, or none (a single-model deployment)
        else:
            model = spec[len(provider.id) + 1:].strip() or None
        if provider.lists_models and not model:
            raise UsageError(f"{option} {spec!r}: {provider.label} needs a model, e.g. {provider.id}:MODEL_ID.")
        return self.target(provider, model, f"{provider.id}:{model}" if model else provider.id)

    def _provider(self, provider_id: str) -> Provider:
        return next(p for p in self.providers if p.id == provider_id)

    def for_file_model(self, model: str | None) -> ModelTarget:
        """The file's own model on the first configured provider that serves it."""
        if not model:
            raise UsageError("The file names no model: give one with --model embedded or --model PROVIDER:MODEL.")
        checked = []
        for provider in self.providers:
            serves, why = self._serves(provider, model)
            if serves is not None:
                return self.target(provider, serves or None, f"{provider.id}:{model}" if provider.kind != EMBEDDED
                                   else EMBEDDED)
            checked.append(f"{provider.id}: {why}")
        raise UsageError(f"No configured provider serves the file's model {model!r} ({'; '.join(checked)}). "
                         "Pick one with --model embedded or --model PROVIDER:MODEL.")

    def _serves(self, provider: Provider, model: str) -> tuple[str | None, str]:
        """(the model id to send, or "" for the deployment's own model; None if not served) and why not."""
        if provider.kind == EMBEDDED:
            if _same_model(model, MODEL_NAME) or model == EMBEDDED:
                return "", ""
            return None, f"serves only {MODEL_NAME}"
        if provider.kind == AZURE:
            probe = ChatClient(provider.endpoint, read_timeout=10, max_retry_after=0)
            try:
                info = probe.model_info()
            except PlaygroundError as error:
                if error.code == "no_info_route":  # a multi-model endpoint routes by `model`
                    return model, ""
                return None, f"unreachable ({error.message})"
            finally:
                probe.close()
            return ("", "") if _same_model(model, info.name) else (None, f"serves {info.name}")
        if provider.kind == GITHUB:
            from ..catalog import fetch_catalog

            url, token = self.settings.github_models_url, provider.endpoint.key
            if not url or token is None:  # GitHub Models is offered only with both
                return None, "its catalog is unreachable (no GITHUB_MODELS_URL or token)"
            try:
                ids = {card.id.lower() for card in fetch_catalog(url, token, timeout=10)}
            except Exception as error:  # the catalog is unreachable (GitHub Models was retired in 2026)
                return None, f"its catalog is unreachable ({error})"
            return (model, "") if model.lower() in ids else (None, "not in its catalog")
        if provider.lists_models:
            try:
                ids = {entry.id.lower() for entry in self.client(provider).list_models()}
            except PlaygroundError as error:
                return None, f"its model list is unreachable ({error.message})"
            return (model, "") if model.lower() in ids else (None, "not in its model list")
        return None, "cannot tell which models it serves"

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        if self.embedded_process is not None:
            self.embedded_process.stop()


def _same_model(a: str, b: str) -> bool:
    """`HuggingFaceTB/SmolLM2-135M-Instruct` is `SmolLM2-135M-Instruct`: publishers aside, ignoring case."""
    return a.rsplit("/", 1)[-1].strip().lower() == b.rsplit("/", 1)[-1].strip().lower()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m playground.evaluate",
        description="Run a .prompt.yml file's test data and evaluators (gh models eval's format) against models.",
        epilog="Exit status: 0 all tests passed, 1 some test failed, 2 invalid file or arguments.",
    )
    parser.add_argument("file", help="a .prompt.yml file")
    parser.add_argument("--model", action="append", default=[], metavar="SPEC",
                        help="a model to run: 'embedded' or PROVIDER:MODEL (repeat for several; "
                             "default: the file's model on the first provider that serves it)")
    parser.add_argument("--judge", metavar="SPEC",
                        help="the model that answers LLM evaluators (default: the first --model)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON to OUT ('-' for standard output)")
    parser.add_argument("--csv", metavar="OUT", help="write one line per test case and model as CSV to OUT")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="concurrent calls per endpoint (default: the embedded model's copies, "
                             "PLAYGROUND_EVAL_CONCURRENCY for cloud endpoints)")
    parser.add_argument("--save", action="store_true", help="save the run next to the playground's database")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def _describe_case(cell: Cell, limit: int = 60) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in cell.test_case.items())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def print_summary(run: EvalRun, source: str, out: TextIO) -> None:
    write = lambda line="": print(line, file=out)  # noqa: E731
    name = run.prompt.name or Path(source).name
    write(f"Evaluation: {name} ({source})")
    judge = f"; judge: {run.judge['label']}" if run.judge else ""
    write(f"{run.rows} test case(s) x {len(run.models)} model(s){judge}")
    for note in run.notes:
        write(f"Note: {note}")
    for summary in run.summaries():
        write()
        rate = f"{summary.pass_rate:.0%}" if summary.pass_rate is not None else "-"
        score = f", mean score {summary.mean_score:.2f}" if summary.mean_score is not None else ""
        write(f"{summary.model}: {summary.passed}/{summary.done} passed ({rate}){score}, "
              f"{summary.total_tokens} tokens, {summary.total_time:.1f} s of model time")
        for cell in run.column(summary.model):
            if not cell.done:
                write(f"  - row {cell.row + 1} ({_describe_case(cell)}): not run (cancelled)")
            elif cell.error:
                write(f"  FAIL row {cell.row + 1} ({_describe_case(cell)}): the model call failed: {cell.error}")
            elif not cell.passed:
                write(f"  FAIL row {cell.row + 1} ({_describe_case(cell)})")
                for result in cell.failures:
                    write(f"       {result.evaluator} (score {result.score:.2f}): {result.details}")
    write()
    progress = run.progress()
    if run.cancelled:
        write(f"Cancelled: {progress.done} of {progress.total} test(s) ran.")
    if run.passed:
        write(f"All {progress.total} test(s) passed.")
    else:
        failed = progress.total - progress.passed
        write(f"{failed} of {progress.total} test(s) failed or did not run.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 on bad options
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    try:
        prompt_text = read_text(args.file)  # once, bounded: the text checked is the text the run keeps
        prompt = loads(prompt_text, source=str(Path(args.file)))
    except FileNotFoundError:
        print(f"{args.file}: no such file", file=sys.stderr)
        return EXIT_INVALID
    except PromptFileError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        print(f"{args.file}: cannot be read ({error.strerror})", file=sys.stderr)
        return EXIT_INVALID
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID

    resolver = _Resolver(settings, args.concurrency)
    try:
        try:
            models = ([resolver.resolve(spec, "--model") for spec in args.model] if args.model
                      else [resolver.for_file_model(prompt.model)])
            judge = resolver.resolve(args.judge, "--judge") if args.judge else None
        except UsageError as error:
            print(str(error), file=sys.stderr)
            return EXIT_INVALID
        if len({m.label for m in models}) != len(models):
            print("--model: the same model is given twice", file=sys.stderr)
            return EXIT_INVALID
        run = plan_evaluation(prompt, models, judge, prompt_text=prompt_text,
                              judge_max_tokens=settings.judge_max_tokens)
        log = sys.stderr

        def on_cell(cell: Cell, progress: Progress) -> None:
            if not args.quiet:
                verdict = "error" if cell.error else "pass" if cell.passed else "FAIL"
                print(f"[{progress.done}/{progress.total}] {cell.model} row {cell.row + 1}: {verdict}", file=log,
                      flush=True)

        cancel = threading.Event()
        worker = threading.Thread(target=execute, args=(run, models, judge),
                                  kwargs={"on_cell": on_cell, "cancel": cancel}, daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            cancel.set()
            print("Cancelling: waiting for the calls in flight...", file=sys.stderr)
            worker.join()
    finally:
        resolver.close()

    summary_out = sys.stderr if args.json == "-" else sys.stdout
    print_summary(run, args.file, summary_out)
    if args.json:
        text = run.to_json()
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.csv:
        Path(args.csv).write_text(run.to_csv(), encoding="utf-8", newline="")
    if args.save:
        from ..store import open_store
        from .runs import RunStore

        store = open_store(settings.database_url or settings.db_path or None)
        run_id = RunStore(store).save(run)
        print(f"Saved as run {run_id} in {store.location}", file=summary_out)
    return EXIT_PASSED if run.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
