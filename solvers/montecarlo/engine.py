"""The Monte Carlo chunk engine of the simulation jobs: seeding, chunking, merging, statistics.

A simulation *kind* checks one prediction by Monte Carlo with two pure functions of solver
arguments (numpy arrays, floats, :class:`~solvers.activations.Activation` objects), which live
beside the simulator of their topic (``solvers/montecarlo/<topic>.py``):

* a **trial** ``trial(*, rng, **problem) -> TrialDraw``: one independent draw at finite size, giving
  one scalar per predicted quantity (and, for spectra, the eigenvalues of that draw);
* a **prediction** ``prediction(**problem) -> SimulationPrediction``: the names of the
  quantities, their predicted values at the same finite dimensions, and for spectra the predicted
  CDF on a grid (for the Kolmogorov–Smirnov distance of the pooled empirical spectral distribution).

A job runs its trials in chunks (:func:`simulate_chunk`), each chunk seeded by its own child of one
``SeedSequence`` (SPEC 7) and summarised by mergeable sufficient statistics
(:class:`ChunkStatistics`: count, mean and centred sum of squares per quantity, counts of
eigenvalues at or below each grid point). :func:`merge_chunks` combines them in chunk order, so the
result is bit-identical however the chunks were scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solvers._validation import positive_int
from solvers.exceptions import InvalidParameterError

#: Points of the grid on which the predicted and empirical spectral CDFs are compared.
CDF_GRID_POINTS = 1024
#: The grid extends this far past the right edge λ₊ (finite-n top eigenvalues overshoot it).
GRID_OVERSHOOT = 1.25
#: Seconds between two looks at the cancellation flag inside a chunk.
STOP_CHECK_INTERVAL = 0.2
#: Most evaluation points (training times, ridge penalties) one job reports: every point is one or
#: more quantities stored per chunk, so a job's result stays small whatever grid the endpoint accepts.
MAX_SIMULATED_POINTS = 16


@dataclass(frozen=True, slots=True)
class TrialDraw:
    """One Monte Carlo trial.

    Attributes
    ----------
    values
        One float per predicted quantity, in the order of ``SimulationPrediction.names``.
    spectrum
        For spectra kinds, the eigenvalues of the simulated matrix (pooled into the empirical
        spectral distribution); ``None`` otherwise.
    """

    values: np.ndarray
    spectrum: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class SimulationPrediction:
    """What a simulation is compared with.

    Attributes
    ----------
    names
        Name of each scalar quantity a trial returns.
    values
        Predicted value of each quantity (``nan`` where the prediction does not exist).
    cdf_grid, cdf
        For spectra kinds, points x and the predicted CDF F(x) there; ``None`` otherwise.
    reference
        Paper and equation of the prediction.
    notes
        Remarks, e.g. which finite dimensions the prediction was evaluated at.
    """

    names: tuple[str, ...]
    values: np.ndarray
    cdf_grid: np.ndarray | None
    cdf: np.ndarray | None
    reference: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChunkStatistics:
    """Mergeable sufficient statistics of one chunk of trials.

    Attributes
    ----------
    count
        Trials in the chunk (0 if it was stopped before its first trial).
    mean
        Mean over the chunk of each quantity.
    m2
        Sum over the chunk of squared deviations from ``mean`` (Chan et al. 1979), per quantity.
    cdf_counts
        For spectra kinds, how many eigenvalues of the chunk are ``<=`` each grid point.
    eigenvalues
        How many eigenvalues the chunk pooled (0 for non-spectra kinds).
    seconds
        Wall-clock time of the chunk.
    completed
        ``False`` when ``should_stop`` interrupted the chunk (its statistics are then partial).
    """

    count: int
    mean: np.ndarray
    m2: np.ndarray
    cdf_counts: np.ndarray | None
    eigenvalues: int
    seconds: float
    completed: bool = True


@dataclass(frozen=True, slots=True)
class MergedStatistics:
    """All chunks of a job combined.

    Attributes
    ----------
    count
        Total trials.
    mean, standard_error
        Per quantity: mean over trials, and sample standard deviation (ddof = 1) / √count
        (``nan`` when count < 2).
    ks_distance
        max over the grid of |F_emp(x) − F(x)| for the pooled eigenvalues (``None`` when not spectra).
    ks_resolution
        Largest predicted mass between two consecutive grid points: the most the grid can miss
        of the supremum over all x.
    eigenvalues
        Number of pooled eigenvalues.
    """

    count: int
    mean: np.ndarray
    standard_error: np.ndarray
    ks_distance: float | None
    ks_resolution: float | None
    eigenvalues: int


def chunk_sizes(trials: int, *, max_chunks: int = 64) -> list[int]:
    """Split ``trials`` into at most ``max_chunks`` chunks, as evenly as possible (the first are larger).

    Depends on ``trials`` only, never on the number of workers, so the seeds and the chunk
    boundaries — hence the result — are the same on any cluster.
    """
    trials = positive_int("trials", trials)
    n_chunks = min(trials, positive_int("max_chunks", max_chunks))
    base, extra = divmod(trials, n_chunks)
    return [base + 1 if i < extra else base for i in range(n_chunks)]


def chunk_seed(entropy: int, chunk_index: int) -> np.random.SeedSequence:
    """The seed of chunk ``chunk_index``: child ``chunk_index`` of ``SeedSequence(entropy)`` (SPEC 7).

    Equal to ``SeedSequence(entropy).spawn(n)[chunk_index]`` for any ``n > chunk_index``, without
    spawning the others.
    """
    return np.random.SeedSequence(entropy, spawn_key=(chunk_index,))


def simulate_chunk(
    trial: Callable[..., TrialDraw],
    *,
    problem: Mapping[str, Any],
    seed: np.random.SeedSequence | int,
    trials: int,
    cdf_grid: Sequence[float] | np.ndarray | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ChunkStatistics:
    """Run ``trials`` independent trials with one generator seeded by ``seed`` and summarise them.

    Parameters
    ----------
    trial
        A trial function (``solvers/montecarlo/<topic>.py``) (``trial(*, rng, **problem)``).
    problem
        Its keyword arguments (finite dimensions and model parameters).
    seed
        Seed of the chunk's generator (see :func:`chunk_seed`).
    trials
        Number of trials.
    cdf_grid
        Grid on which to count the pooled eigenvalues (spectra kinds only).
    should_stop
        Called between trials at most every ``STOP_CHECK_INTERVAL`` seconds; when it returns
        ``True`` the chunk ends early with ``completed=False``.
    """
    trials = positive_int("trials", trials)
    rng = np.random.default_rng(seed)
    grid = None if cdf_grid is None else np.asarray(cdf_grid, dtype=np.float64)
    started = last_check = time.perf_counter()
    rows: list[np.ndarray] = []
    counts = None if grid is None else np.zeros(grid.shape, dtype=np.int64)
    eigenvalues = 0
    completed = True
    for _ in range(trials):
        if should_stop is not None and time.perf_counter() - last_check >= STOP_CHECK_INTERVAL:
            last_check = time.perf_counter()
            if should_stop():
                completed = False
                break
        draw = trial(rng=rng, **problem)
        rows.append(np.asarray(draw.values, dtype=np.float64).reshape(-1))
        if counts is not None and grid is not None and draw.spectrum is not None:
            spectrum = np.sort(np.asarray(draw.spectrum, dtype=np.float64).reshape(-1))
            counts += np.searchsorted(spectrum, grid, side="right")
            eigenvalues += spectrum.size
    if rows:
        values = np.array(rows, dtype=np.float64)
        mean = values.mean(axis=0)
        m2 = ((values - mean) ** 2).sum(axis=0)
    else:  # stopped before the first trial
        mean = m2 = np.zeros(0)
    return ChunkStatistics(
        count=len(rows),
        mean=mean,
        m2=m2,
        cdf_counts=counts,
        eigenvalues=eigenvalues,
        seconds=time.perf_counter() - started,
        completed=completed,
    )


def merge_chunks(
    chunks: Sequence[ChunkStatistics], *, cdf: Sequence[float] | np.ndarray | None = None
) -> MergedStatistics:
    """Combine chunk statistics **in the given order** (Chan, Golub & LeVeque 1979 pairwise update).

    The floating-point result depends on the order only, so callers pass the chunks sorted by index.
    ``cdf`` is the predicted CDF on the grid the chunks counted on (spectra kinds).
    """
    if not chunks:
        raise InvalidParameterError("chunks", "`chunks` must contain at least one chunk.")
    count = 0
    mean = np.zeros_like(np.asarray(chunks[0].mean, dtype=np.float64))
    m2 = np.zeros_like(mean)
    counts = None
    eigenvalues = 0
    for chunk in chunks:
        n_b = chunk.count
        if n_b == 0:
            continue
        total = count + n_b
        delta = np.asarray(chunk.mean) - mean
        mean = mean + delta * (n_b / total)
        m2 = m2 + np.asarray(chunk.m2) + delta**2 * (count * n_b / total)
        count = total
        if chunk.cdf_counts is not None:
            counts = np.asarray(chunk.cdf_counts, dtype=np.int64) + (0 if counts is None else counts)
            eigenvalues += chunk.eigenvalues
    with np.errstate(divide="ignore", invalid="ignore"):
        standard_error = np.sqrt(m2 / (count - 1) / count) if count > 1 else np.full_like(mean, np.nan)
    ks_distance = ks_resolution = None
    if counts is not None and cdf is not None and eigenvalues > 0:
        predicted = np.asarray(cdf, dtype=np.float64)
        ks_distance = float(np.max(np.abs(counts / eigenvalues - predicted)))
        ks_resolution = float(np.max(np.diff(predicted))) if predicted.size > 1 else 1.0
    return MergedStatistics(
        count=count,
        mean=mean,
        standard_error=standard_error,
        ks_distance=ks_distance,
        ks_resolution=ks_resolution,
        eigenvalues=eigenvalues,
    )


#: Prefix of the name of every quantity whose prediction the endpoint marks `validity: "heuristic"`.
HEURISTIC = "heuristic_"


def at_most_points(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` as a 1-D float array, refused when a job would report more than ``MAX_SIMULATED_POINTS`` of them."""
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if array.size > MAX_SIMULATED_POINTS:
        raise InvalidParameterError(
            name,
            f"`{name}` has {array.size} points; a simulation job reports at most {MAX_SIMULATED_POINTS} "
            "(each is simulated in every trial): ask for fewer points.",
        )
    return array


def ratio_note(n_features: int, n_samples: int) -> str:
    """The note of a prediction evaluated at the simulated ratio p/n."""
    return f"Predicted at the simulated ratio p/n = {n_features}/{n_samples} = {n_features / n_samples:.6g}."


__all__ = [
    "CDF_GRID_POINTS",
    "GRID_OVERSHOOT",
    "HEURISTIC",
    "MAX_SIMULATED_POINTS",
    "STOP_CHECK_INTERVAL",
    "ChunkStatistics",
    "MergedStatistics",
    "SimulationPrediction",
    "TrialDraw",
    "at_most_points",
    "chunk_seed",
    "chunk_sizes",
    "merge_chunks",
    "ratio_note",
    "simulate_chunk",
]
