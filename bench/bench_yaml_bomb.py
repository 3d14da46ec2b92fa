"""Prompt-file reading: YAML alias bombs against the project's own files, time and peak memory.

Each case runs in a fresh Python process (an address-space limit of --limit-mb, so a bomb the
reader lets through ends in MemoryError instead of taking the machine) and does what the CLI and
the Evaluate page do with a file: `promptfile.loads`, then every test row's messages rendered
(`as_text` of each value) and the response format serialized as the transport sends it.
  outcome   loaded / refused (the reader's message) / MemoryError / timeout
  wall      seconds for the read and use, inside the process (start-up excluded)
  traced    tracemalloc's peak during one more read and use (none after a MemoryError)
  rss       the process's peak resident size (ru_maxrss, start-up and imports included)

Usage: .venv/bin/python bench/bench_yaml_bomb.py [--limit-mb 2048] [--timeout 120] [--repeat 50] [--only TEXT]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

from _harness import ROOT, machine_line

from tests.support import yaml_bomb

WORDS = ["apple", "river", "stone", "cloud", "tiger", "piano", "lemon", "candle", "forest", "rocket"]


def big_file(rows: int, sentence_words: int) -> str:
    """A legitimate file near the limits: many rows of test data, no aliases."""
    data = "\n".join(f"  - input: {' '.join(WORDS[(i + j) % 10] for j in range(sentence_words))}\n"
                     f"    expected: {WORDS[i % 10]}" for i in range(rows))
    return ("name: Big\nmodel: SmolLM2-135M-Instruct\nmessages:\n  - role: user\n    content: 'Repeat {{input}}'\n"
            f"testData:\n{data}\nevaluators:\n  - name: says it\n    string:\n      contains: '{{{{expected}}}}'\n")


def cases() -> dict[str, str]:
    files = {f"example {p.name}": p.read_text(encoding="utf-8")
             for p in sorted((ROOT / "docs" / "examples").glob("*.prompt.yml"))}
    files["5,000 rows of sentences"] = big_file(5_000, 24)
    files["15,000 rows of words"] = big_file(15_000, 1)
    for levels in (6, 9):
        files[f"bomb {levels} levels in testData"] = yaml_bomb.in_test_data(levels)
    files["bomb 9 levels in jsonSchema"] = yaml_bomb.in_json_schema(9)
    return files


def read_and_use(text: str) -> str:
    from playground import promptfile

    try:
        prompt = promptfile.loads(text, source="case")
    except promptfile.PromptFileError as error:
        return f"refused: {error}"
    for row in prompt.test_data:
        prompt.render_messages(row)
    json.dumps(prompt.chat_params().response_format)
    return f"loaded ({len(prompt.test_data):,} rows)"


def child(name: str, limit_mb: int, repeat: int) -> None:
    limit = limit_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    text = cases()[name]
    import playground.promptfile  # noqa: F401  (imports outside the measurement)

    times = []
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            outcome = read_and_use(text)
            times.append(time.perf_counter() - started)
    except MemoryError:
        times.append(time.perf_counter() - started)
        outcome = f"MemoryError at the {limit_mb} MB limit"
    peak = None
    if not outcome.startswith("MemoryError"):  # once more under tracemalloc, which slows every allocation
        tracemalloc.start()
        read_and_use(text)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"outcome": outcome, "wall": statistics.median(times), "traced": peak, "rss": rss * 1024,
                      "bytes": len(text.encode())}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit-mb", type=int, default=2048)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--repeat", type=int, default=50, help="reads of each example file (median)")
    parser.add_argument("--only", default="", help="only the cases whose name holds this text")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.limit_mb, args.repeat if args.child.startswith("example") else 1)
        return
    print(machine_line())
    print(f"{'case':34} {'bytes':>9} {'wall':>9} {'traced':>9} {'rss':>9}  outcome")
    for name in [n for n in cases() if args.only in n]:
        started = time.monotonic()
        try:
            done = subprocess.run([sys.executable, __file__, "--child", name, "--limit-mb", str(args.limit_mb),
                                   "--repeat", str(args.repeat)], capture_output=True, text=True,
                                  timeout=args.timeout, cwd=ROOT)
        except subprocess.TimeoutExpired:
            print(f"{name:34} {'':>9} {time.monotonic() - started:8.1f}s {'':>9} {'':>9}  timeout")
            continue
        if done.returncode != 0 or not done.stdout.strip():
            print(f"{name:34} exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        traced = "-" if r["traced"] is None else f"{r['traced'] / 2**20:.2f}M"
        wall = f"{r['wall'] * 1000:.1f}ms" if r["wall"] < 1 else f"{r['wall']:.1f}s"
        print(f"{name:34} {r['bytes']:>9,} {wall:>9} {traced:>9} {r['rss'] / 2**20:8.0f}M  "
              f"{r['outcome'][:110]}")


if __name__ == "__main__":
    main()
