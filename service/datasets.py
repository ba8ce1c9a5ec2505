"""Data sets: decoding an upload (JSON or `.npz`, optionally gzip), content ids, and the store.

A data set is stored **once** per content: its id is derived from its arrays (after preprocessing),
so the same arrays sent as JSON or as `.npz`, by one key or several, are one set of files under
``RMT_DATA_DIR``. Which keys may use it is a separate table: each key sees only the data sets it
uploaded, and deleting removes only the caller's claim (the files go with the last claim).

Arrays are stored as ``.npy`` files and read back memory-mapped, so a request that refers to a
large data set costs no copy until its solver touches the rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from schemas.datasets import Dataset, DatasetReference, DatasetUpload, Preprocess
from service.jobs.store import StorageUnavailableError, unwritable
from solvers.exceptions import InvalidParameterError
from solvers.preprocessing import preprocess

#: Array names of a data set, in canonical order.
ARRAYS = ("x", "y", "x_test", "y_test")
JSON_TYPES = ("application/json",)
NPZ_TYPES = ("application/x-npz", "application/octet-stream")


@dataclass(frozen=True)
class DatasetArrays:
    """The arrays of a stored data set (read-only, memory-mapped); ``x_test``/``y_test`` may be ``None``."""

    id: str
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None


class DatasetNotFoundError(Exception):
    """A request names a data set that does not exist for its key (404 naming the field, e.g. `data.id`)."""

    def __init__(self, field: str, dataset_id: str) -> None:
        super().__init__(f"No data set {dataset_id!r} for this key; upload it with POST /v1/datasets.")
        self.field = field
        self.dataset_id = dataset_id
        self.message = str(self)


def resolve_data(model: Any, store: DatasetStore | None, *, owner: str, prefix: str = "") -> None:
    """Attach the arrays of a `{"kind": "dataset", "id"}` in ``model.data`` (if any), checking ``owner`` may use it.

    Raises
    ------
    DatasetNotFoundError
        Naming ``<prefix>data.id`` when the data set does not exist for ``owner``.
    """
    data = getattr(model, "data", None)
    if not isinstance(data, DatasetReference) or data.resolved:
        return
    arrays = None if store is None else store.arrays(data.id, owner=owner)
    if arrays is None:
        raise DatasetNotFoundError(f"{prefix}data.id", data.id)
    data.attach(arrays)


# --- decoding ------------------------------------------------------------------------------------


def decode_content(body: bytes, *, encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding: gzip`` without ever holding more than ``max_bytes`` of output (no zip bombs)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise HTTPException(415, f"Content-Encoding {encoding!r} is not supported; send `gzip` or none.")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise HTTPException(400, f"The gzip body could not be decompressed: {exc}.") from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise HTTPException(413, f"The decompressed data set exceeds {max_bytes} bytes (setting `max_dataset_bytes`).")
    if not inflater.eof:
        raise HTTPException(400, "The gzip body is truncated.")
    return data


def parse_upload(
    body: bytes, *, content_type: str, preprocess_query: Preprocess | None
) -> tuple[dict[str, np.ndarray | None], Preprocess]:
    """The arrays and preprocessing of an upload body, by media type (415 for any other)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
        # Imported here: service.strict_json answers with the exception table's problem_response, and the
        # exception table imports this module (DatasetNotFoundError).
        from service.strict_json import MalformedBody, check_json

        try:
            document = check_json(body)  # the strictness of every JSON body: one document, no repeated keys
        except MalformedBody as error:
            raise HTTPException(400, error.detail) from None
        try:
            # (the parsed document, as every request model is validated: parsing the body again cost as much
            # as the first parse, 7.9 of 14.6 ms for a 2048 × 64 upload)
            upload = DatasetUpload.model_validate(document)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]
            ) from None
        if upload.preprocess is not None and preprocess_query is not None:
            raise InvalidParameterError("preprocess", "Give `preprocess` in the body or as query parameters, not both.")
        arrays = {name: _array(name, getattr(upload, name)) for name in ARRAYS}
        return arrays, upload.preprocess or preprocess_query or Preprocess()
    if media in NPZ_TYPES:
        return _npz(body), preprocess_query or Preprocess()
    raise HTTPException(
        415, f"A data set is `application/json` or a NumPy `.npz` ({', '.join(NPZ_TYPES)}), not {media!r}."
    )


def _array(name: str, value: Any) -> np.ndarray | None:
    if value is None:
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except ValueError:  # ragged rows
        raise InvalidParameterError(name, f"`{name}` must be rectangular: every row needs the same length.") from None


def _npz(body: bytes) -> dict[str, np.ndarray | None]:
    try:
        archive = np.load(io.BytesIO(body), allow_pickle=False)
    except Exception:
        raise HTTPException(
            400, "The body is not a NumPy `.npz` archive (numpy.savez or numpy.savez_compressed)."
        ) from None
    with archive:
        unknown = sorted(set(archive.files) - set(ARRAYS))
        if unknown:
            raise InvalidParameterError(
                unknown[0], f"Unknown array `{unknown[0]}` in the .npz; allowed: {', '.join(ARRAYS)}."
            )
        arrays: dict[str, np.ndarray | None] = {}
        for name in ARRAYS:
            if name not in archive.files:
                arrays[name] = None
                continue
            try:
                array = archive[name]
            except ValueError:
                raise InvalidParameterError(
                    name, f"`{name}` in the .npz holds Python objects; only numeric arrays are accepted."
                ) from None
            if array.dtype.kind not in "biuf":
                raise InvalidParameterError(name, f"`{name}` must be numeric, got dtype {array.dtype}.")
            arrays[name] = array.astype(np.float64, copy=False)
    return arrays


def validate_arrays(arrays: dict[str, np.ndarray | None]) -> None:
    """Shapes and finiteness, each failure naming its array (422)."""
    x, y, x_test, y_test = (arrays[name] for name in ARRAYS)
    if x is None or y is None:
        raise InvalidParameterError("x" if x is None else "y", "A data set needs `x` and `y`.")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise InvalidParameterError("x", f"`x` must be an n × p matrix with n ≥ 2 rows, got shape {x.shape}.")
    for name, targets, rows in (("y", y, x.shape[0]), ("y_test", y_test, None if x_test is None else x_test.shape[0])):
        if targets is None:
            continue
        if targets.ndim not in (1, 2) or targets.shape[0] != rows or targets.size == 0:
            raise InvalidParameterError(
                name, f"`{name}` must have {rows} rows (one per sample), got shape {targets.shape}."
            )
    if (x_test is None) != (y_test is None):
        raise InvalidParameterError("y_test" if y_test is None else "x_test", "`x_test` and `y_test` come together.")
    if x_test is not None:
        if x_test.ndim != 2 or x_test.shape[1] != x.shape[1]:
            raise InvalidParameterError(
                "x_test", f"`x_test` must have p = {x.shape[1]} columns, got shape {x_test.shape}."
            )
        assert y_test is not None
        if y_test.shape[1:] != y.shape[1:]:
            raise InvalidParameterError("y_test", f"`y_test` must have the outputs of `y` ({y.shape[1:] or 'one'}).")
    for name in ARRAYS:
        array = arrays[name]
        if array is not None and not np.isfinite(array).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise InvalidParameterError(
                ".".join([name, *map(str, index)]), f"`{name}` must contain only finite numbers."
            )


def content_digest(arrays: dict[str, np.ndarray | None]) -> str:
    """SHA-256 of the arrays in canonical form: name, shape and little-endian float64 bytes, C order."""
    digest = hashlib.sha256()
    for name in ARRAYS:
        array = arrays[name]
        if array is None:
            digest.update(f"{name}:none;".encode())
            continue
        canonical = np.ascontiguousarray(array, dtype="<f8")
        digest.update(f"{name}:{'x'.join(map(str, canonical.shape))};".encode())
        digest.update(canonical.tobytes())
    return digest.hexdigest()


def prepare(
    arrays: dict[str, np.ndarray | None], options: Preprocess
) -> tuple[dict[str, np.ndarray | None], list[str]]:
    """Validate, preprocess with the training statistics, and return the arrays to store with their warnings."""
    validate_arrays(arrays)
    x, y = arrays["x"], arrays["y"]
    assert x is not None and y is not None  # validate_arrays raised otherwise
    result = preprocess(
        x=x,
        y=y,
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        standardize=options.standardize,
        scale=options.scale,
    )
    stored = {"x": result.x, "y": result.y, "x_test": result.x_test, "y_test": result.y_test}
    return stored, list(result.warnings)


# --- the store -----------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id          TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    n_samples   INTEGER NOT NULL,
    n_test      INTEGER NOT NULL,
    n_features  INTEGER NOT NULL,
    n_outputs   INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    created     TEXT NOT NULL,
    preprocess  TEXT NOT NULL,
    warnings    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dataset_owners (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    owner   TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (id, owner)
);
"""


class DatasetStore:
    """Files under ``directory/<id>/`` and metadata in ``directory/datasets.sqlite3`` (WAL). Thread-safe."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.database = self.directory / "datasets.sqlite3"
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.database, check_same_thread=False, isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageUnavailableError(self.database, str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    counts = [self._db.execute(sql, args).rowcount for sql, args in statements]
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                return counts
            except sqlite3.Error as exc:
                if unwritable(exc):
                    raise StorageUnavailableError(self.database, str(exc)) from exc
                raise

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def put(
        self, arrays: dict[str, np.ndarray | None], *, owner: str, options: Preprocess, warnings: list[str]
    ) -> tuple[Dataset, bool]:
        """Store the arrays (once per content) and record ``owner``'s claim; returns the metadata and whether it is new to ``owner``."""
        sha256 = content_digest(arrays)
        dataset_id = sha256[:32]
        folder = self.directory / dataset_id
        if not folder.exists():
            self._write_files(folder, arrays)
        x, y, x_test = arrays["x"], arrays["y"], arrays["x_test"]
        assert x is not None and y is not None
        size = sum(int(a.nbytes) for a in arrays.values() if a is not None)
        now = datetime.now(UTC).isoformat()
        _, claimed = self._write(
            [
                (
                    "INSERT OR IGNORE INTO datasets (id, sha256, n_samples, n_test, n_features, n_outputs, bytes, created, preprocess, warnings)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        dataset_id,
                        sha256,
                        x.shape[0],
                        0 if x_test is None else x_test.shape[0],
                        x.shape[1],
                        1 if y.ndim == 1 else y.shape[1],
                        size,
                        now,
                        options.model_dump_json(),
                        json.dumps(warnings),
                    ),
                ),
                (
                    "INSERT OR IGNORE INTO dataset_owners (id, owner, created) VALUES (?, ?, ?)",
                    (dataset_id, owner, now),
                ),
            ]
        )
        dataset = self.get(dataset_id, owner=owner)
        assert dataset is not None
        return dataset, claimed == 1

    def _write_files(self, folder: Path, arrays: dict[str, np.ndarray | None]) -> None:
        # Written into a temporary folder and renamed: a crash or a full disk never leaves a
        # partial data set under its id.
        try:
            staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.directory))
            try:
                for name, array in arrays.items():
                    if array is not None:
                        np.save(
                            staging / f"{name}.npy", np.ascontiguousarray(array, dtype=np.float64), allow_pickle=False
                        )
                os.replace(staging, folder)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        except OSError as exc:
            if folder.exists():  # another upload of the same content won the race
                return
            raise StorageUnavailableError(self.directory, str(exc)) from exc

    def get(self, dataset_id: str, *, owner: str) -> Dataset | None:
        """The metadata of ``owner``'s data set, or ``None`` (also for another key's)."""
        rows = self._query(
            "SELECT d.* FROM datasets d JOIN dataset_owners o ON o.id = d.id WHERE d.id = ? AND o.owner = ?",
            (dataset_id, owner),
        )
        return _dataset(rows[0]) if rows else None

    def page(self, *, owner: str, limit: int, offset: int) -> tuple[list[Dataset], int]:
        """``owner``'s data sets, newest claim first, and how many there are."""
        total = self._query("SELECT COUNT(*) FROM dataset_owners WHERE owner = ?", (owner,))[0][0]
        rows = self._query(
            "SELECT d.* FROM datasets d JOIN dataset_owners o ON o.id = d.id WHERE o.owner = ? ORDER BY o.seq DESC LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [_dataset(r) for r in rows], total

    def arrays(self, dataset_id: str, *, owner: str) -> DatasetArrays | None:
        """The arrays of ``owner``'s data set (memory-mapped, read-only), or ``None``."""
        if self.get(dataset_id, owner=owner) is None:
            return None
        folder = self.directory / dataset_id
        loaded = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            if (folder / f"{name}.npy").exists()
            else None
            for name in ARRAYS
        }
        return DatasetArrays(id=dataset_id, **loaded)  # type: ignore[arg-type]  # `loaded` holds only the array fields; mypy also checks it against `id: str`

    def delete(self, dataset_id: str, *, owner: str) -> bool:
        """Remove ``owner``'s claim; the files go with the last claim. False if ``owner`` had none."""
        (removed,) = self._write([("DELETE FROM dataset_owners WHERE id = ? AND owner = ?", (dataset_id, owner))])
        if not removed:
            return False
        (orphaned,) = self._write(
            [
                (
                    "DELETE FROM datasets WHERE id = ? AND NOT EXISTS (SELECT 1 FROM dataset_owners WHERE id = ?)",
                    (dataset_id, dataset_id),
                )
            ]
        )
        if orphaned:
            shutil.rmtree(self.directory / dataset_id, ignore_errors=True)
        return True


def _dataset(row: sqlite3.Row) -> Dataset:
    return Dataset(
        id=row["id"],
        n_samples=row["n_samples"],
        n_test=row["n_test"],
        n_features=row["n_features"],
        n_outputs=row["n_outputs"],
        sha256=row["sha256"],
        bytes=row["bytes"],
        created=datetime.fromisoformat(row["created"]),
        preprocess=Preprocess.model_validate_json(row["preprocess"]),
        warnings=json.loads(row["warnings"]),
    )
