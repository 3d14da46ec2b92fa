"""Evaluation benchmark: a 20-row prompt file on the embedded model, through the CLI.

One embedded endpoint started with `--parallel 2 --threads 2` (two copies of the model, one
thread each). The same file is evaluated twice with `python -m playground.evaluate`, rows one
at a time (`--concurrency 1`) and two at a time (`--concurrency 2`). For each:
  wall      the CLI process from start to exit (Python start-up and imports included), and the
            run itself (the `wallTime` of its --json output);
  model     the sum of every model call's latency (the `latency` per test result: the model's own
            generation time as the client sees it).
Targets: run wall time <= 1.1 x the sum of model time with rows one by one (the engine adds
little), and a gain from concurrency 2 over 1 (two copies generate side by side).

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

from _harness import ROOT, load_line, machine_line

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


if __name__ == "__main__":
    main()
