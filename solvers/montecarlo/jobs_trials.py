"""Trial functions and chunk statistics of the simulation jobs (pure numpy; no web, no pydantic).

A simulation *kind* checks one prediction by Monte Carlo. It is two pure functions of keyword
arguments named as in the HTTP contract (``ratio``, ``variance``, ``n_samples``, ...):

* a **trial** ``trial(*, rng, **problem) -> TrialDraw``: one independent draw at finite size, giving
  one scalar per predicted quantity (and, for spectra, the eigenvalues of that draw);
* a **prediction** ``prediction(*, **problem) -> SimulationPrediction``: the names of the
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

from solvers._validation import positive, positive_int
from solvers.exceptions import InvalidParameterError
from solvers.linear_regression import _spectrum, ridge_regression_risk
from solvers.marchenko_pastur import marchenko_pastur, mp_edges
from solvers.montecarlo.linear_regression import _conditional_risks, _feature_counts

#: Points of the grid on which the predicted and empirical spectral CDFs are compared.
CDF_GRID_POINTS = 1024
#: The grid extends this far past the right edge λ₊ (finite-n top eigenvalues overshoot it).
_GRID_OVERSHOOT = 1.25
#: Seconds between two looks at the cancellation flag inside a chunk.
STOP_CHECK_INTERVAL = 0.2


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
        A trial function of this module (``trial(*, rng, **problem)``).
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
        if counts is not None and draw.spectrum is not None:
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


def merge_chunks(chunks: Sequence[ChunkStatistics], *, cdf: Sequence[float] | np.ndarray | None = None) -> MergedStatistics:
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


# --- Marchenko–Pastur ---------------------------------------------------------------------------


def marchenko_pastur_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    variance: float = 1.0,
    matrix: str = "covariance",
    n_moments: int = 4,
) -> TrialDraw:
    """One draw of S = (1/n)XXᵀ (or (1/n)XᵀX) for X p × n with i.i.d. N(0, σ²) entries.

    Returns the spectral moments M_k = (1/dim) tr Sᵏ, k = 1..n_moments, and the eigenvalues.
    Only the smaller Gram matrix is diagonalised; the other has the same non-zero eigenvalues
    plus |p − n| exact zeros (Bai & Silverstein 2010, §3.1; spec linear.md §1.5).
    """
    x = rng.standard_normal((n_features, n_samples))
    gram = x @ x.T if n_features <= n_samples else x.T @ x
    # Clamp: S is positive semi-definite, rounding can only make tiny eigenvalues negative.
    eigenvalues = np.maximum(np.linalg.eigvalsh(gram * (variance / n_samples)), 0.0)
    dim = n_features if matrix == "covariance" else n_samples
    spectrum = np.concatenate([np.zeros(dim - eigenvalues.size), eigenvalues])
    powers = eigenvalues[None, :] ** np.arange(1, n_moments + 1)[:, None]
    return TrialDraw(values=powers.sum(axis=1) / dim, spectrum=spectrum)


def marchenko_pastur_prediction(
    *,
    n_features: int,
    n_samples: int,
    variance: float = 1.0,
    matrix: str = "covariance",
    n_moments: int = 4,
) -> SimulationPrediction:
    """Marchenko–Pastur moments and CDF at the finite ratio c = p/n of the simulation.

    Marchenko & Pastur (1967); Bai & Silverstein (2010), Thm 3.6 and Lemma 3.1; spec linear.md §1.
    The CDF is given on ``CDF_GRID_POINTS`` points from 0 (the atom) to 1.25 λ₊.
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    variance = positive("variance", variance)
    ratio = n_features / n_samples
    _, upper = mp_edges(ratio=ratio, variance=variance)
    grid = np.linspace(0.0, _GRID_OVERSHOOT * upper, CDF_GRID_POINTS)
    law = marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, x=grid, n_moments=n_moments)  # type: ignore[arg-type]
    return SimulationPrediction(
        names=tuple(f"moment_{k}" for k in range(1, n_moments + 1)),
        values=law.moments,
        cdf_grid=grid,
        cdf=law.cdf,
        reference=law.reference,
        notes=(f"Predicted at the simulated ratio p/n = {n_features}/{n_samples} = {ratio:.6g}.",),
    )


# --- Ridge / min-norm linear regression ----------------------------------------------------------

_RIDGE_QUANTITIES = ("bias", "variance", "risk", "test_mse", "train_error")


def _points(values: Any) -> np.ndarray:
    """A float, a list, or a grid ``{"start", "stop", "num"}`` (the contract's forms) as a 1-D array."""
    if isinstance(values, Mapping):
        num = int(values["num"])
        if num == 1:
            return np.array([float(values["start"])])
        step = (float(values["stop"]) - float(values["start"])) / (num - 1)
        return np.array([float(values["start"]) + i * step for i in range(num - 1)] + [float(values["stop"])])
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def _population(population: Mapping[str, Any] | None) -> tuple[Any, Any]:
    return (None, None) if population is None else (population["eigenvalues"], population["weights"])


def linear_ridge_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    ridge_penalty: Any,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    population: Mapping[str, Any] | None = None,
    signal_weights: Sequence[float] | None = None,
) -> TrialDraw:
    """One draw of (X, β) of :func:`solvers.montecarlo.linear_regression.simulate_ridge_regression`.

    Returns, for each ridge penalty λ in order, the exact conditional (given X) bias, variance,
    risk = bias + variance, test MSE = risk + σ² and expected training error (Hastie et al. 2022 §2;
    spec linear.md §4.1, §6).
    """
    lam = _points(ridge_penalty)
    spectrum = _spectrum(*_population(population), signal_weights)
    counts = _feature_counts(n_features, spectrum.weights)
    if np.any(counts == 0):
        raise InvalidParameterError("n_features", f"`n_features` = {n_features} is too small to give every eigenvalue a feature.")
    sigma_diagonal = np.repeat(spectrum.eigenvalues, counts)
    block_id = np.repeat(np.arange(counts.size), counts)
    block_energy = np.repeat(np.sqrt(spectrum.signal_weights * signal_strength), counts)
    # Same draws, in the same order, as simulate_ridge_regression.
    z = rng.standard_normal((n_samples, n_features))
    direction = rng.standard_normal(n_features)
    norms = np.sqrt(np.bincount(block_id, weights=direction**2))
    beta = block_energy * direction / norms[block_id]
    design = z * (np.sqrt(sigma_diagonal) / np.sqrt(n_samples))
    bias, variance, train = _conditional_risks(design, beta, sigma_diagonal, lam, noise_variance)
    risk = bias + variance
    values = np.stack([bias, variance, risk, risk + noise_variance, train], axis=1)  # (λ, quantity)
    return TrialDraw(values=values.reshape(-1))


def linear_ridge_prediction(
    *,
    n_features: int,
    n_samples: int,
    ridge_penalty: Any,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    population: Mapping[str, Any] | None = None,
    signal_weights: Sequence[float] | None = None,
) -> SimulationPrediction:
    """Limiting bias, variance, risk, test MSE and training error at γ = p/n for each λ.

    :func:`solvers.linear_regression.ridge_regression_risk` (Hastie, Montanari, Rosset & Tibshirani
    2022; Dobriban & Wager 2018; spec linear.md §4).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    lam = _points(ridge_penalty)
    eigenvalues, weights = _population(population)
    law = ridge_regression_risk(
        ratio=[n_features / n_samples],
        ridge_penalty=lam,
        signal_strength=signal_strength,
        noise_variance=noise_variance,
        eigenvalues=eigenvalues,
        weights=weights,
        signal_weights=signal_weights,
    )
    values = np.stack([np.asarray(getattr(law, q), dtype=np.float64).reshape(-1) for q in _RIDGE_QUANTITIES], axis=1)
    names = tuple(f"{q}[ridge_penalty={penalty:g}]" for penalty in lam.tolist() for q in _RIDGE_QUANTITIES)
    notes = (f"Predicted at the simulated ratio p/n = {n_features}/{n_samples} = {n_features / n_samples:.6g}.", *law.notes)
    return SimulationPrediction(names=names, values=values.reshape(-1), cdf_grid=None, cdf=None, reference=law.reference, notes=notes)


__all__ = [
    "CDF_GRID_POINTS",
    "ChunkStatistics",
    "MergedStatistics",
    "SimulationPrediction",
    "TrialDraw",
    "chunk_seed",
    "chunk_sizes",
    "linear_ridge_prediction",
    "linear_ridge_trial",
    "marchenko_pastur_prediction",
    "marchenko_pastur_trial",
    "merge_chunks",
    "simulate_chunk",
]
