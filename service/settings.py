"""The one configuration object of the service, read from `RMT_*` environment variables."""

from __future__ import annotations

from typing import Literal

from limits import parse
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service settings; every field can be set as ``RMT_<FIELD NAME>`` (e.g. ``RMT_MAX_POINTS``).

    The defaults run the service embedded, with nothing external to start.
    """

    model_config = SettingsConfigDict(env_prefix="RMT_", frozen=True)

    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest accepted request body; larger ones get 413."
    )
    max_points: int = Field(
        default=10_000, ge=1, le=100_000, description="Most evaluation points (`x` or `grid.num`) in one request."
    )
    max_grid_size: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Most combinations in one prediction grid (e.g. ratios × ridge penalties).",
    )
    max_samples: int = Field(
        default=2_048,
        ge=2,
        le=20_000,
        description="Most samples (n, n̂, and p of generated data) a synchronous random-features request may use: "
        "it costs an n × n eigendecomposition.",
    )
    max_population_atoms: int = Field(
        default=1_000, ge=1, le=100_000, description="Most atoms in a population spectrum."
    )
    inline_max_microseconds: float = Field(
        default=200.0,
        ge=0,
        le=1000,
        description="Solver work estimated (service/costs.py) at most this many microseconds runs on the event loop; "
        "anything more runs in the compute pool.",
    )
    request_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Time budget of one prediction request, queueing included: a request estimated above it is refused "
        "at once (422 `limit-exceeded`), one still running past it is stopped (503 `deadline-exceeded`).",
    )
    compute_workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Solver calls that run at once (one worker process, or thread, each); unset, os.cpu_count().",
    )
    compute_queue_size: int = Field(
        default=64,
        ge=0,
        le=100_000,
        description="Requests that may wait for a compute worker; past it (or past the time budget) 503 `overloaded` "
        "with Retry-After.",
    )
    max_trials: int = Field(
        default=100_000, ge=1, le=10_000_000, description="Most Monte Carlo trials in one simulation job."
    )
    max_simulation_size: int = Field(
        default=2_000,
        ge=2,
        le=100_000,
        description="Largest finite dimension (n_samples, n_features, ...) of a simulation job.",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Address of an existing Dask scheduler (e.g. `tcp://scheduler:8786`); unset, the service starts a "
        "local cluster of worker processes on the first simulation job.",
    )
    dask_workers: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="Worker processes of the local cluster (one thread each); unset, os.cpu_count().",
    )
    api_keys: str | None = Field(
        default=None,
        description="Comma-separated `name:sha256hex` API keys (the hex is the SHA-256 of the key); set, every route "
        "but the probes, `/metrics` and the docs requires `Authorization: Bearer <key>`.",
    )
    api_keys_file: str | None = Field(
        default=None,
        description="A file of `name:sha256hex` API keys, one per line (`#` starts a comment); adds to `api_keys`.",
    )
    rate_limit: str | None = Field(
        default=None,
        description="Requests allowed per key (per client address on an open service), in the `limits` notation, "
        "e.g. `600/minute`; unset, no limit.",
    )
    max_active_jobs_per_key: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Most unfinished (queued or running) simulation jobs per key; unset, no cap.",
    )
    data_dir: str = Field(
        default="rmt-data",
        description="Folder of the uploaded data sets (arrays as .npy, metadata in SQLite); created on first use.",
    )
    max_dataset_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Largest data set upload (the body, and its arrays after gzip decompression); larger ones get 413.",
    )
    max_batch: int = Field(
        default=256, ge=1, le=10_000, description="Most prediction requests in one `POST /v1/batch`."
    )
    spectral_cache_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=0,
        description="Memory for cached random-features eigendecompositions per (data set, activation), least recently "
        "used evicted first; 0 disables the cache.",
    )
    jobs_database: str = Field(
        default="rmt-jobs.sqlite3",
        description="Path of the SQLite database of simulation jobs (WAL mode; created on first use).",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Log lines on stderr: one JSON object per line (`json`, with `request_id`) or plain text (`text`).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe level logged."
    )

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str | None) -> str | None:
        # A typo here must stop the service at start-up, not silently disable the limit.
        if value is not None:
            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(
                    f"RMT_RATE_LIMIT={value!r} is not in the limits notation (e.g. `600/minute`): {exc}"
                ) from exc
        return value
