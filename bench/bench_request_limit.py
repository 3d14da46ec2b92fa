"""What PLAYGROUND_USER_REQUESTS_PER_MINUTE costs a chat request: one `RequestLimiter.acquire`
(a write transaction: drop the expired rows, count the owner's minute, add one), durable, on an
SQLite file and on a throwaway PostgreSQL server (tests/support/postgres.py; skipped when Debian's
PostgreSQL is not installed), side by side.

Usage: .venv/bin/python bench/bench_request_limit.py [--requests N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _harness import load_line, machine_line, median


def timed_acquires(location, requests: int) -> list[float]:
    from playground.ratelimit import RequestLimiter
    from playground.store import Store

    store = Store(location)
    try:
        limiter = RequestLimiter(store, per_minute=requests + 1)
        times = []
        for number in range(requests):
            start = time.perf_counter()
            limiter.acquire(f"user{number % 5}")
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
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
        sides = {"SQLite file": Path(tempfile.mkdtemp(prefix="bench-limit-")) / "playground.db"}
        if server:
            sides["PostgreSQL"] = server.create_database()
        print(f"\n## One request counted, {args.requests} requests each (durable writes)")
        for label, location in sides.items():
            times = sorted(timed_acquires(location, args.requests))
            print(f"{label:12} median {median(times):5.2f} ms   p95 {times[int(0.95 * (len(times) - 1))]:5.2f} ms")
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
