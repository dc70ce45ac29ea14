"""Real servers for the tests: a PostgreSQL cluster and a Chroma server, each in a temporary folder on 127.0.0.1.

PostgreSQL comes from the system (`initdb`, `pg_ctl`); `initdb` refuses to run as root, so as root the cluster
is made and run by the `postgres` user. Chroma is the `chroma run` command that the chromadb package ships.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install PostgreSQL (apt-get install -y postgresql, "
            "or scripts/install --dev)"
        )
    return found


class PostgresServer:
    """A throwaway PostgreSQL cluster; `new_database()` hands out an empty database URL."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="whichmodel-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "whichmodel"
        self._as_root = os.geteuid() == 0
        self._made = 0
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run([_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8"])
        # A throwaway server: no durability (fsync, synchronous commit), and room for the benchmarks' million-row
        # tables (the defaults, 128 MB of shared buffers and 4 MB per sort, are sized for a small machine;
        # max_wal_size spaces out the checkpoints a bulk load would otherwise force every 1 GB).
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 "
                   "-c synchronous_commit=off -c shared_buffers=512MB -c work_mem=32MB -c maintenance_work_mem=256MB "
                   "-c max_wal_size=4GB")  # fmt: skip
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w",
                   "start"])  # fmt: skip

    def _run(self, argv: list[str]) -> None:
        if self._as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self, hint: str = "db") -> str:
        import psycopg

        self._made += 1
        name = f"{''.join(c for c in hint.lower() if c.isalnum())[:40]}_{self._made}"
        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class ChromaServer:
    """`chroma run` on a free port; `host` is the WHICHMODEL_CHROMA_HOST value."""

    def __init__(self, path: Path) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        chroma = Path(sys.executable).with_name("chroma")
        argv = [str(chroma) if chroma.exists() else "chroma", "run", "--path", str(path), "--host", "127.0.0.1",
                "--port", str(self.port)]  # fmt: skip
        env = os.environ | {"ANONYMIZED_TELEMETRY": "False"}
        self.log = open(path.parent / f"chroma-{self.port}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.host}/api/v2/heartbeat", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma run did not start: {(path.parent / f'chroma-{self.port}.log').read_text()}")
            time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
