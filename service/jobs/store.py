"""The job store: SQLite in WAL mode, written only by the API process.

Two tables: ``jobs`` (one row per job: request, plan, status, timestamps, result or error) and
``chunks`` (one row per finished chunk of trials with its sufficient statistics), saved as each
chunk arrives so that a restart loses nothing that was computed. Every method is a short
synchronous transaction; the async caller runs them in a worker thread (``anyio.to_thread``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import jiter
import numpy as np
import pydantic_core

from solvers.montecarlo.engine import ChunkStatistics

T = TypeVar("T")

UNFINISHED = ("accepted", "running")
FINISHED = ("successful", "failed", "dismissed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    params       TEXT NOT NULL,
    trials       INTEGER NOT NULL,
    seed         TEXT NOT NULL,
    plan         TEXT NOT NULL,
    chunk_trials TEXT NOT NULL,
    trials_done  INTEGER NOT NULL DEFAULT 0,
    chunks_done  INTEGER NOT NULL DEFAULT 0,
    created      TEXT NOT NULL,
    started      TEXT,
    updated      TEXT NOT NULL,
    finished     TEXT,
    result       TEXT,
    error        TEXT,
    owner        TEXT NOT NULL DEFAULT 'anonymous'
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS chunks (
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    chunk_index INTEGER NOT NULL,
    trials      INTEGER NOT NULL,
    stats       TEXT NOT NULL,
    seconds     REAL NOT NULL,
    PRIMARY KEY (job_id, chunk_index)
);
"""


class StorageUnavailableError(Exception):
    """The store cannot be written: its disk is full or read-only, or the file cannot be opened.

    Nothing already committed is lost (SQLite rolls the transaction back); a submission is refused
    (507), and a running job keeps its computed chunks in memory and retries until space returns.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the job store {path} cannot be written: {reason}")
        self.path = path
        self.reason = reason


# SQLite's result codes for "cannot write here now" (extended codes such as SQLITE_IOERR_WRITE
# included); SQLITE_CORRUPT is deliberately not among them: that is not a transient condition.
_UNWRITABLE = {"SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN"}


def unwritable(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""  # e.g. SQLITE_FULL, SQLITE_IOERR_WRITE
    return any(name == code or name.startswith(code + "_") for code in _UNWRITABLE)


class ActiveJobsLimitError(Exception):
    """An owner already has as many unfinished jobs as ``RMT_MAX_ACTIVE_JOBS_PER_KEY`` allows."""

    def __init__(self, active: int, cap: int) -> None:
        super().__init__(f"{active} unfinished jobs, at most {cap} allowed")
        self.active = active
        self.cap = cap


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _dumps(value: Any) -> str:
    """Encode a JSON column: the inverse of :func:`_loads`, for ``params``, ``plan`` and ``chunk_trials``.

    pydantic-core's encoder writes the same values as ``json.dumps`` (floats as their shortest
    round-trip digits, ``NaN``/``Infinity`` as those constants, integers of any size) about 5× faster
    on the plan's two 1024-point grids and 10× faster on a data set's arrays sent inline in
    ``params`` (100 000 floats: 5 ms instead of 50), which are encoded at every submission.
    """
    return pydantic_core.to_json(value, inf_nan_mode="constants").decode()


def _loads(text: str) -> Any:
    """Decode a stored JSON column (``NaN``/``Infinity`` allowed, as ``json.dumps`` writes them).

    jiter parses a float to the same double as ``json.loads`` (correctly rounded), about 8× faster
    on the float arrays of a plan (two 1024-point grids) and of a chunk: the plan is decoded at
    every status poll, the chunks at the end of a resumed job.
    """
    return jiter.from_json(text.encode(), allow_inf_nan=True)


@dataclass(frozen=True, slots=True)
class JobRow:
    """One row of ``jobs``, decoded."""

    id: str
    kind: str
    status: str
    params: dict[str, Any]
    trials: int
    seed: int
    plan: dict[str, Any]
    chunk_trials: list[int]
    trials_done: int
    chunks_done: int
    created: str
    started: str | None
    updated: str
    finished: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    owner: str = "anonymous"

    @property
    def n_chunks(self) -> int:
        """How many chunks the job is split into."""
        return len(self.chunk_trials)


def _row(record: sqlite3.Row) -> JobRow:
    loads = _loads
    return JobRow(
        id=record["id"],
        kind=record["kind"],
        status=record["status"],
        params=loads(record["params"]),
        trials=record["trials"],
        seed=int(record["seed"]),
        plan=loads(record["plan"]),
        chunk_trials=loads(record["chunk_trials"]),
        trials_done=record["trials_done"],
        chunks_done=record["chunks_done"],
        created=record["created"],
        started=record["started"],
        updated=record["updated"],
        finished=record["finished"],
        result=None if record["result"] is None else loads(record["result"]),
        error=None if record["error"] is None else loads(record["error"]),
        owner=record["owner"],
    )


def encode_chunk(stats: ChunkStatistics) -> str:
    """Chunk statistics as JSON.

    Floats are written as their shortest round-trip digits, so they read back exactly; a NaN mean
    (a quantity undefined in every trial of the chunk) is written as ``NaN``, as ``json.dumps`` does,
    never as ``null``. pydantic-core's encoder, about 4× faster than ``json.dumps`` on the 1024 CDF counts.
    """
    return pydantic_core.to_json(
        {
            "count": stats.count,
            "mean": np.asarray(stats.mean, dtype=np.float64).tolist(),
            "m2": np.asarray(stats.m2, dtype=np.float64).tolist(),
            "cdf_counts": None if stats.cdf_counts is None else np.asarray(stats.cdf_counts).tolist(),
            "eigenvalues": stats.eigenvalues,
        },
        inf_nan_mode="constants",
    ).decode()


def decode_chunk(text: str, seconds: float) -> ChunkStatistics:
    """Inverse of :func:`encode_chunk` (also of the ``json.dumps`` text of earlier versions)."""
    data = _loads(text)
    return ChunkStatistics(
        count=data["count"],
        mean=np.array(data["mean"], dtype=np.float64),
        m2=np.array(data["m2"], dtype=np.float64),
        cdf_counts=None if data["cdf_counts"] is None else np.array(data["cdf_counts"], dtype=np.int64),
        eigenvalues=data["eigenvalues"],
        seconds=seconds,
    )


class JobStore:
    """SQLite store of jobs and finished chunks. Thread-safe: one connection behind a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed chunk survives a process crash (an OS crash may lose the last ones).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.Error as exc:
            if unwritable(exc):
                raise StorageUnavailableError(self.path, str(exc)) from exc
            raise

    def _migrate(self) -> None:
        """Bring a database written by an earlier version up to this schema (additive changes only)."""
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(jobs)")}
        if "owner" not in columns:
            # Jobs from before API keys belonged to everyone, i.e. to the open service's principal.
            self._db.execute("ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'anonymous'")
        self._db.execute("CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq)")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _write(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction; a disk that refuses the write raises
        :class:`StorageUnavailableError` after a rollback, so a failed write never half-happens."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    value = body(self._db)
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # SQLite may already have rolled back (e.g. SQLITE_FULL)
                        self._db.execute("ROLLBACK")
                    raise
                return value
            except sqlite3.Error as exc:
                if unwritable(exc):
                    raise StorageUnavailableError(self.path, str(exc)) from exc
                raise

    def _transaction(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> list[int]:
        return self._write(lambda db: [db.execute(sql, args).rowcount for sql, args in statements])

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # --- jobs -----------------------------------------------------------------------------------

    def create(
        self,
        *,
        job_id: str,
        kind: str,
        params: dict[str, Any],
        trials: int,
        seed: int,
        plan: dict[str, Any],
        chunk_trials: list[int],
        owner: str = "anonymous",
        max_active: int | None = None,
    ) -> JobRow:
        """Insert an ``accepted`` job of ``owner``.

        Raises
        ------
        ActiveJobsLimitError
            When ``owner`` already has ``max_active`` unfinished jobs; counted and inserted in one
            transaction, so concurrent submissions cannot overshoot the cap.
        """
        now = _now()

        def insert(db: sqlite3.Connection) -> None:
            if max_active is not None:
                (active,) = db.execute(
                    "SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('accepted', 'running')", (owner,)
                ).fetchone()
                if active >= max_active:
                    raise ActiveJobsLimitError(active, max_active)
            db.execute(
                "INSERT INTO jobs (id, kind, status, params, trials, seed, plan, chunk_trials, created, updated, owner)"
                " VALUES (?, ?, 'accepted', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    kind,
                    _dumps(params),
                    trials,
                    str(seed),
                    _dumps(plan),
                    _dumps(chunk_trials),
                    now,
                    now,
                    owner,
                ),
            )

        self._write(insert)
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> JobRow | None:
        """One job, or ``None``."""
        rows = self._query("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _row(rows[0]) if rows else None

    def page(
        self, *, statuses: Iterable[str] | None = None, limit: int = 20, offset: int = 0, owner: str | None = None
    ) -> tuple[list[JobRow], int]:
        """A page of jobs (of ``owner``, or of everyone), newest first, and the number matching the filter."""
        clauses: list[str] = []
        args: tuple[Any, ...] = ()
        statuses = tuple(statuses or ())
        if statuses:
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            args += statuses
        if owner is not None:
            clauses.append("owner = ?")
            args += (owner,)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self._query(f"SELECT COUNT(*) FROM jobs {where}", args)[0][0]
        rows = self._query(f"SELECT * FROM jobs {where} ORDER BY seq DESC LIMIT ? OFFSET ?", (*args, limit, offset))
        return [_row(r) for r in rows], total

    def status_counts(self) -> dict[str, int]:
        """How many jobs are in each status (statuses without jobs are absent)."""
        return {status: count for status, count in self._query("SELECT status, COUNT(*) FROM jobs GROUP BY status")}

    def unfinished(self) -> list[JobRow]:
        """Jobs ``accepted`` or ``running``, oldest first (to resume after a restart)."""
        return [_row(r) for r in self._query("SELECT * FROM jobs WHERE status IN ('accepted', 'running') ORDER BY seq")]

    def mark_running(self, job_id: str) -> bool:
        """``accepted`` → ``running`` (``started`` set once); False if the job is no longer unfinished."""
        now = _now()
        (count,) = self._transaction(
            [
                (
                    "UPDATE jobs SET status = 'running', started = COALESCE(started, ?), updated = ?"
                    " WHERE id = ? AND status IN ('accepted', 'running')",
                    (now, now, job_id),
                )
            ]
        )
        return count == 1

    def save_chunk(self, job_id: str, chunk_index: int, stats: ChunkStatistics) -> bool:
        """Save one finished chunk and the job's progress in one transaction; False if the job is finished."""
        return self.save_chunks(job_id, [(chunk_index, stats)])

    def save_chunks(self, job_id: str, chunks: Sequence[tuple[int, ChunkStatistics]]) -> bool:
        """Save finished ``(chunk_index, stats)`` pairs and the job's progress in one transaction.

        A chunk already saved is left as it is (its progress not counted twice). False if the job is
        finished (then nothing is saved).
        """

        def save(db: sqlite3.Connection) -> bool:
            status = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if status is None or status[0] not in UNFINISHED:
                return False
            trials = count = 0
            for chunk_index, stats in chunks:
                if db.execute(
                    "INSERT OR IGNORE INTO chunks (job_id, chunk_index, trials, stats, seconds) VALUES (?, ?, ?, ?, ?)",
                    (job_id, chunk_index, stats.count, encode_chunk(stats), stats.seconds),
                ).rowcount:
                    trials += stats.count
                    count += 1
            if count:
                db.execute(
                    "UPDATE jobs SET trials_done = trials_done + ?, chunks_done = chunks_done + ?, updated = ? WHERE id = ?",
                    (trials, count, _now(), job_id),
                )
            return True

        return self._write(save)

    def chunk_indices(self, job_id: str) -> set[int]:
        """Indices of the chunks already saved."""
        return {r[0] for r in self._query("SELECT chunk_index FROM chunks WHERE job_id = ?", (job_id,))}

    def chunks(self, job_id: str) -> list[ChunkStatistics]:
        """Every saved chunk of a job, in chunk order."""
        rows = self._query("SELECT stats, seconds FROM chunks WHERE job_id = ? ORDER BY chunk_index", (job_id,))
        return [decode_chunk(r[0], r[1]) for r in rows]

    def _finish(self, job_id: str, status: str, column: str, value: dict[str, Any]) -> bool:
        now = _now()
        (count,) = self._transaction(
            [
                (
                    f"UPDATE jobs SET status = ?, {column} = ?, finished = ?, updated = ? WHERE id = ? AND status IN ('accepted', 'running')",
                    (status, json.dumps(value, allow_nan=False), now, now, job_id),
                )
            ]
        )
        return count == 1

    def succeed(self, job_id: str, result: dict[str, Any]) -> bool:
        """``running`` → ``successful`` with its result (JSON without NaN); False if already finished."""
        return self._finish(job_id, "successful", "result", result)

    def fail(self, job_id: str, problem: dict[str, Any]) -> bool:
        """``running`` → ``failed`` with a problem+json body; False if already finished."""
        return self._finish(job_id, "failed", "error", problem)

    def dismiss(self, job_id: str) -> bool:
        """``accepted``/``running`` → ``dismissed``; False if the job is not unfinished."""
        now = _now()
        (count,) = self._transaction(
            [
                (
                    "UPDATE jobs SET status = 'dismissed', finished = ?, updated = ? WHERE id = ? AND status IN ('accepted', 'running')",
                    (now, now, job_id),
                )
            ]
        )
        return count == 1

    def delete(self, job_id: str) -> bool:
        """Remove a finished job and its chunks; False if it does not exist or is unfinished."""
        counts = self._transaction(
            [
                (
                    "DELETE FROM chunks WHERE job_id = ? AND EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status IN ('successful', 'failed', 'dismissed'))",
                    (job_id, job_id),
                ),
                ("DELETE FROM jobs WHERE id = ? AND status IN ('successful', 'failed', 'dismissed')", (job_id,)),
            ]
        )
        return counts[1] == 1

    def check(self) -> list[str]:
        """Consistency problems (empty when consistent): integrity, progress counters, chunk bounds."""
        problems = [r[0] for r in self._query("PRAGMA integrity_check") if r[0] != "ok"]
        for record in self._query(
            "SELECT j.id, j.trials, j.trials_done, j.chunks_done, j.chunk_trials, j.status,"
            " COALESCE(SUM(c.trials), 0), COUNT(c.chunk_index), COALESCE(MAX(c.chunk_index), -1)"
            " FROM jobs j LEFT JOIN chunks c ON c.job_id = j.id GROUP BY j.id"
        ):
            job_id, trials, trials_done, chunks_done, chunk_trials, status, summed, n, top = record
            if (trials_done, chunks_done) != (summed, n):
                problems.append(f"{job_id}: counters {trials_done}/{chunks_done} but chunks hold {summed}/{n}")
            if top >= len(json.loads(chunk_trials)):
                problems.append(f"{job_id}: chunk index {top} out of range")
            if status == "successful" and summed != trials:
                problems.append(f"{job_id}: successful with {summed} of {trials} trials")
        return problems
