"""Evaluation benchmark: a 20-row prompt file on the embedded model, through the CLI and the page.

One embedded endpoint started with `--parallel 2 --threads 2` (two copies of the model, one
thread each). The same file is evaluated twice with `python -m playground.evaluate`, rows one
at a time (`--concurrency 1`) and two at a time (`--concurrency 2`). For each:
  wall      the CLI process from start to exit (Python start-up and imports included), and the
            run itself (the `wallTime` of its --json output);
  model     the sum of every model call's latency (the `latency` per test result: the model's own
            generation time as the client sees it).
Then the same file through the Evaluate page: `streamlit run app.py` on the same endpoint, driven
in Debian's Chromium: upload the file, the embedded model (picked by default), Run, until the
progress bar says every cell is done. For each concurrency (PLAYGROUND_LOCAL_PARALLEL 1 and 2):
  wall      from the click on Run to "20 of 20 cells" in the browser (the page's polling and
            drawing included), and the run's own wall time (as saved);
  model     the sum of the saved run's model call latencies.
Targets: run wall time <= 1.1 x the sum of model time with rows one by one through the CLI (the
engine adds little), <= 1.3 x through the page; a gain from concurrency 2 over 1 (two copies
generate side by side).

Usage: .venv/bin/python bench/bench_evaluate.py [--rows N] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ROOT, chromium, load_line, machine_line, streamlit_app

from tests.conftest import start_endpoint

WORDS = ["apple", "river", "stone", "cloud", "tiger", "piano", "lemon", "candle", "forest", "rocket",
         "garden", "mirror", "winter", "bridge", "ocean", "pencil", "castle", "thunder", "island", "feather"]


def prompt_file(rows: int, max_tokens: int) -> str:
    data = "\n".join(f"  - word: {WORDS[i % len(WORDS)]}" for i in range(rows))
    return f"""name: Bench
model: SmolLM2-135M-Instruct
modelParameters:
  maxTokens: {max_tokens}
  temperature: 0
messages:
  - role: system
    content: You write one short sentence.
  - role: user
    content: Write one sentence about a {{{{word}}}}.
testData:
{data}
evaluators:
  - name: mentions the word
    string:
      contains: '{{{{word}}}}'
"""


def evaluate(path: Path, port: int, concurrency: int, out: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLAYGROUND_", "AZURE_", "GITHUB_"))}
    env.update({"PLAYGROUND_LOCAL_PORT": str(port), "PYTHONPATH": str(ROOT),
                "PLAYGROUND_DB_PATH": str(out.parent / "playground.db")})
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "playground.evaluate", str(path), "--model", "embedded",
                             "--concurrency", str(concurrency), "--json", str(out), "--quiet"],
                            env=env, cwd=out.parent, capture_output=True, text=True, timeout=900)
    process_wall = time.monotonic() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"the CLI failed ({result.returncode}): {result.stderr}")
    data = json.loads(out.read_text())
    tests = data["testResults"]
    errors = [t["error"] for t in tests if t["error"]]
    if errors:
        raise SystemExit(f"{len(errors)} call(s) failed: {errors[0]}")
    return {
        "process_wall": process_wall, "run_wall": data["wallTime"],
        "model_time": sum(t["latency"] for t in tests),
        "tokens": sum(t["completionTokens"] or 0 for t in tests), "rows": len(tests),
        "passed": data["summary"]["passedTests"],
    }


def evaluate_in_page(path: Path, port: int, concurrency: int, work: Path, rows: int) -> dict:
    """The file through the Evaluate page in Chromium; the numbers from the browser and the saved run."""
    from playground.evaluate import RunStore
    from playground.store import open_store

    work.mkdir(parents=True, exist_ok=True)
    env = {"PLAYGROUND_LOCAL_PORT": str(port), "PLAYGROUND_LOCAL_PARALLEL": str(concurrency)}
    with streamlit_app(env, work / "streamlit.log") as app, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app.url + "/evaluate")
        page.get_by_role("heading", name="Evaluate").wait_for(timeout=60_000)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
        page.get_by_role("heading", name="Bench").wait_for(timeout=60_000)
        models = page.get_by_test_id("stMultiSelect").inner_text()
        if "Embedded model" not in models:
            raise SystemExit(f"the embedded model is not the one picked: {models!r}")
        # A click that lands while the upload's script run is still drawing the page can be lost.
        page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=60_000)
        done = f"{rows} of {rows} cells"
        started = time.monotonic()
        page.get_by_role("button", name="Run").click()
        page.wait_for_function(f"document.body.innerText.includes({json.dumps(done)})", polling="raf",
                               timeout=900_000)
        page_wall = time.monotonic() - started
        page.get_by_role("button", name="Export JSON").wait_for(timeout=60_000)
        page.close()
    store = RunStore(open_store(work / "playground.db"))
    run = store.get(store.list()[0].id).run
    errors = [c.error for c in run.cells if c.error]
    if errors:
        raise SystemExit(f"{len(errors)} call(s) failed in the page: {errors[0]}")
    return {"page_wall": page_wall, "run_wall": run.wall_time, "model_time": sum(c.latency or 0 for c in run.cells),
            "tokens": sum(c.completion_tokens or 0 for c in run.cells), "rows": len(run.cells),
            "passed": run.progress().passed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    print(machine_line())
    print(load_line())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "bench.prompt.yml"
        path.write_text(prompt_file(args.rows, args.max_tokens))
        endpoint = start_endpoint(folder / "endpoint", "--parallel", "2", "--threads", "2")
        try:
            evaluate(path, endpoint.port, 1, folder / "warm.json")  # first calls warm the caches; not counted
            results = {c: evaluate(path, endpoint.port, c, folder / f"c{c}.json") for c in (1, 2)}
            pages = {c: evaluate_in_page(path, endpoint.port, c, folder / f"page{c}", args.rows) for c in (1, 2)}
        finally:
            endpoint.stop()
    print(f"{args.rows} rows, maxTokens {args.max_tokens}, endpoint --parallel 2 --threads 2")
    print(f"{'concurrency':>11} {'process s':>9} {'run s':>7} {'model s':>8} {'run/model':>9} {'tokens':>6} "
          f"{'tok/s':>6} {'passed':>6}")
    for concurrency, r in results.items():
        print(f"{concurrency:>11} {r['process_wall']:>9.2f} {r['run_wall']:>7.2f} {r['model_time']:>8.2f} "
              f"{r['run_wall'] / r['model_time']:>9.2f} {r['tokens']:>6} {r['tokens'] / r['run_wall']:>6.1f} "
              f"{r['passed']:>3}/{r['rows']}")
    one, two = results[1], results[2]
    overhead = one["run_wall"] / one["model_time"]
    print(f"rows one by one: run wall / sum of model time = {overhead:.3f} (target <= 1.1: "
          f"{'met' if overhead <= 1.1 else 'NOT met'}); process wall / model time = "
          f"{one['process_wall'] / one['model_time']:.3f} (with Python start-up)")
    print(f"concurrency 2 vs 1: {one['run_wall'] / two['run_wall']:.2f}x faster run wall time "
          f"({one['run_wall']:.2f} s -> {two['run_wall']:.2f} s)")
    print()
    print("CLI and page side by side (wall: the CLI process / the click on Run to the last cell shown)")
    print(f"{'how':>4} {'concurrency':>11} {'wall s':>7} {'run s':>7} {'model s':>8} {'wall/model':>10} "
          f"{'run/model':>9} {'passed':>6}")
    for concurrency in (1, 2):
        for how, r, wall in (("cli", results[concurrency], results[concurrency]["process_wall"]),
                             ("page", pages[concurrency], pages[concurrency]["page_wall"])):
            print(f"{how:>4} {concurrency:>11} {wall:>7.2f} {r['run_wall']:>7.2f} {r['model_time']:>8.2f} "
                  f"{wall / r['model_time']:>10.3f} {r['run_wall'] / r['model_time']:>9.3f} "
                  f"{r['passed']:>3}/{r['rows']}")
    page_one = pages[1]
    ratio = page_one["page_wall"] / page_one["model_time"]
    print(f"page, rows one by one: wall in the browser / sum of model time = {ratio:.3f} (target <= 1.3: "
          f"{'met' if ratio <= 1.3 else 'NOT met'}); the CLI's run: {overhead:.3f}")


if __name__ == "__main__":
    main()
