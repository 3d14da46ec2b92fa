"""A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries, run as
the `postgres` user (initdb refuses root) in a temporary directory, on a free port, with its
unix socket in that directory too; `stop()` ends it and removes the directory."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

MISSING = ("PostgreSQL's server binaries are not installed (no /usr/lib/postgresql/*/bin/initdb): "
           "run `make test`, which installs Debian's postgresql package (or `make postgres`).")


def bin_dir() -> Path:
    """The newest installed version's bin directory; RuntimeError saying how to install one."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError(MISSING)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, *, fsync: bool = False):
        """`fsync=False` (tests): a committed write is not flushed to disk, which only matters in a
        power cut; benchmarks of durable writes pass True."""
        self.bin = bin_dir()
        as_root = os.geteuid() == 0
        self._run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
        self.directory = Path(tempfile.mkdtemp(prefix="playground-postgres-"))
        if as_root:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        try:
            self._pg("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                     "--locale=C.UTF-8", "--no-sync")
            self._start(fsync)
        except BaseException:
            self.stop()
            raise

    def _pg(self, program: str, *args: object) -> None:
        result = subprocess.run([*self._run_as, self.bin / program, *map(str, args)], capture_output=True,
                                text=True, timeout=120, cwd=self.directory, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr}{result.stdout}\n{log}")

    def _start(self, fsync: bool) -> None:
        settings = [f"-k {self.directory}", "-c listen_addresses=127.0.0.1", "-c max_connections=200",
                    "-c shared_buffers=32MB", f"-c fsync={'on' if fsync else 'off'}"]
        if not fsync:
            settings += ["-c full_page_writes=off", "-c synchronous_commit=off"]
        for attempt in range(5):  # another process may take the free port before the server does
            self.port = _free_port()
            try:
                self._pg("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", self.log,
                         "-o", " ".join([f"-p {self.port}", *settings]))
                return
            except RuntimeError:
                if attempt == 4:
                    raise

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"test_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", self.data)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
