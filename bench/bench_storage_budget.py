"""What the per-user storage budget (PLAYGROUND_USER_STORAGE_MB) costs a save: `add_message` of a
prompt with a budget (read the owner's count, refuse or add to it, inside the write) against the
same save with none (the count is kept all the same) and the save as it was before the count
existed (the count's two statements taken out), durable, on an SQLite file and on a throwaway
PostgreSQL server (tests/support/postgres.py; skipped when Debian's PostgreSQL is not installed).

Usage: .venv/bin/python bench/bench_storage_budget.py [--saves N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _harness import load_line, machine_line, median


def timed_saves(location, saves: int, budget: int | None, counted: bool = True) -> list[float]:
    from playground.store import Store, usage

    store = Store(location, storage_budget=budget)
    real_charge = usage.charge
    if not counted:
        usage.charge = lambda *args, **kwargs: None  # the save without the count, for comparison
    try:
        owners = [store.scoped(f"user{n}") for n in range(5)]
        conversations = [owner.create_conversation({"model": "m"}) for owner in owners]
        times = []
        for number in range(saves):
            owner, cid = owners[number % 5], conversations[number % 5]
            start = time.perf_counter()
            owner.add_message(cid, "user", f"prompt {number} " + "x" * 500)
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        usage.charge = real_charge
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=200)
    args = parser.parse_args()
    print(machine_line())
    print(load_line())
    from tests.support.postgres import PostgresServer

    try:
        server: PostgresServer | None = PostgresServer()
    except RuntimeError as exc:
        server = None
        print(f"PostgreSQL not measured: {exc}")
    try:
        print(f"\n## One prompt saved, {args.saves} saves each (durable writes)")
        for label in ("SQLite file", "PostgreSQL"):
            if label == "PostgreSQL" and not server:
                continue
            for case, budget, counted in (("no count", None, False), ("no budget", None, True),
                                          ("200 MB budget", 200 * 1024 * 1024, True)):
                location = (server.create_database() if label == "PostgreSQL" and server
                            else Path(tempfile.mkdtemp(prefix="bench-budget-")) / "playground.db")
                times = sorted(timed_saves(location, args.saves, budget, counted))
                print(f"{label:12} {case:14} median {median(times):5.2f} ms   "
                      f"p95 {times[int(0.95 * (len(times) - 1))]:5.2f} ms")
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
