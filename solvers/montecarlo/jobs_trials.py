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

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solvers._validation import positive, positive_int
from solvers.activations import Activation, make_activation
from solvers.conjugate_kernel import conjugate_kernel_spectrum
from solvers.dynamics import gradient_descent_classification, gradient_descent_regression
from solvers.exceptions import InvalidParameterError
from solvers.linear_regression import _spectrum, ridge_regression_risk
from solvers.marchenko_pastur import marchenko_pastur, mp_edges
from solvers.montecarlo.conjugate_kernel import simulate_conjugate_kernel, simulate_one_step_gradient
from solvers.montecarlo.dynamics import simulate_gradient_descent_classification, simulate_gradient_descent_regression
from solvers.montecarlo.linear_regression import _conditional_risks, _feature_counts
from solvers.montecarlo.random_features import _one_trial
from solvers.montecarlo.spectra import _allocate, simulate_sample_covariance_spectrum, simulate_spiked_covariance
from solvers.one_step_gradient import one_step_gradient_spike
from solvers.random_features import _inputs, _targets, deterministic_equivalent, gaussian_mixture, random_features_ridge
from solvers.sample_covariance import sample_covariance_spectrum
from solvers.spiked_covariance import spiked_covariance

#: Points of the grid on which the predicted and empirical spectral CDFs are compared.
CDF_GRID_POINTS = 1024
#: The grid extends this far past the right edge λ₊ (finite-n top eigenvalues overshoot it).
_GRID_OVERSHOOT = 1.25
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
    plus |p − n| exact zeros (Bai & Silverstein 2010, §3.1; docs/methods/spectra.md §1.5).
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

    Marchenko & Pastur (1967); Bai & Silverstein (2010), Thm 3.6 and Lemma 3.1; docs/methods/spectra.md §1.
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
    """A float, a list, or a grid ``{"start", "stop", "num", "scale"}`` (the contract's forms) as a 1-D array.

    A grid gives exactly the floats of the schema's ``Grid.points()`` (linear, or geometric for
    ``"scale": "log"``), so the simulated points are the ones the prediction endpoint answers at.
    """
    if isinstance(values, Mapping):
        num = int(values["num"])
        start, stop = float(values["start"]), float(values["stop"])
        if num == 1:
            return np.array([start])
        if values.get("scale", "linear") == "log":
            low, high = math.log(start), math.log(stop)
            step = (high - low) / (num - 1)
            return np.array([start] + [math.exp(low + i * step) for i in range(1, num - 1)] + [stop])
        step = (stop - start) / (num - 1)
        return np.array([start + i * step for i in range(num - 1)] + [stop])
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
    docs/methods/linear_ridge.md §1, §7).
    """
    lam = _at_most("ridge_penalty", _points(ridge_penalty))
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
    2022; Dobriban & Wager 2018; docs/methods/linear_ridge.md).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    lam = _at_most("ridge_penalty", _points(ridge_penalty))
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


def _ratio_note(n_features: int, n_samples: int) -> str:
    return f"Predicted at the simulated ratio p/n = {n_features}/{n_samples} = {n_features / n_samples:.6g}."


def _at_most(name: str, values: np.ndarray) -> np.ndarray:
    if values.size > MAX_SIMULATED_POINTS:
        raise InvalidParameterError(
            name,
            f"`{name}` has {values.size} points; a simulation job reports at most {MAX_SIMULATED_POINTS} "
            "(each is simulated in every trial): ask for fewer points.",
        )
    return values


# --- Generalized Marchenko–Pastur (sample covariance with a population spectrum) -----------------

#: M₁..M₃: the moments the generalized MP solver returns in closed form (docs/methods/spectra.md §2).
_SAMPLE_COVARIANCE_MOMENTS = 3


def _realised_population(population: Mapping[str, Any], n_features: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The population spectrum a p = ``n_features`` simulation really has: (t_k, counts_k/p, changed).

    :func:`solvers.montecarlo.spectra.simulate_sample_covariance_spectrum` gives t_k to round(w_k p)
    coordinates (largest remainder); atoms that get no coordinate are absent from the simulation.
    """
    t = np.asarray(population["eigenvalues"], dtype=np.float64)
    w = np.asarray(population["weights"], dtype=np.float64)
    counts = _allocate(w, n_features)
    keep = counts > 0
    realised = counts[keep] / n_features
    changed = bool(not keep.all() or np.max(np.abs(realised - w[keep])) > 1e-12)
    return t[keep], realised, changed


def sample_covariance_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    population: Mapping[str, Any],
) -> TrialDraw:
    """One draw of S = (1/n)Σ^½ZZᵀΣ^½ by :func:`~solvers.montecarlo.spectra.simulate_sample_covariance_spectrum`.

    Returns M_k = (1/p) tr Sᵏ, k = 1..3, and the p eigenvalues (with the p − n exact zeros when
    p > n; rounding negatives clamped to 0 as S is positive semi-definite). Silverstein (1995);
    docs/methods/spectra.md §2, §4.
    """
    simulation = simulate_sample_covariance_spectrum(
        n_samples=n_samples,
        n_features=n_features,
        trials=1,
        rng=rng,
        eigenvalues=population["eigenvalues"],
        weights=population["weights"],
    )
    eigenvalues = np.maximum(simulation.eigenvalues[0], 0.0)
    powers = eigenvalues[None, :] ** np.arange(1, _SAMPLE_COVARIANCE_MOMENTS + 1)[:, None]
    return TrialDraw(values=powers.mean(axis=1), spectrum=eigenvalues)


def sample_covariance_prediction(*, n_features: int, n_samples: int, population: Mapping[str, Any]) -> SimulationPrediction:
    """Generalized MP moments M₁..M₃ and CDF at the simulated p/n and the simulated population.

    :func:`solvers.sample_covariance.sample_covariance_spectrum` (Silverstein 1995, eq. (1.4);
    Silverstein & Choi 1995; docs/methods/spectra.md §2), evaluated at c = p/n and at the weights
    round(w_k p)/p the simulation has. The CDF is given on ``CDF_GRID_POINTS`` points from 0 to
    1.25 × the right edge of the support.
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    eigenvalues, weights, changed = _realised_population(population, n_features)
    ratio = n_features / n_samples
    support = sample_covariance_spectrum(ratio=ratio, eigenvalues=eigenvalues, weights=weights, x=[0.0]).support_intervals
    grid = np.linspace(0.0, _GRID_OVERSHOOT * support[-1][1], CDF_GRID_POINTS)
    law = sample_covariance_spectrum(ratio=ratio, eigenvalues=eigenvalues, weights=weights, x=grid)
    notes = [_ratio_note(n_features, n_samples)]
    if changed:
        notes.append(
            f"Predicted at the population of the simulated Σ: round(w_k p)/p of the p = {n_features} coordinates "
            f"per eigenvalue, weights {np.round(weights, 6).tolist()} for eigenvalues {eigenvalues.tolist()}."
        )
    return SimulationPrediction(
        names=tuple(f"moment_{k}" for k in range(1, _SAMPLE_COVARIANCE_MOMENTS + 1)),
        values=np.asarray(law.moments, dtype=np.float64),
        cdf_grid=grid,
        cdf=law.cdf,
        reference=law.reference,
        notes=(*notes, *law.notes),
    )


# --- Spiked covariance (BBP) ---------------------------------------------------------------------

_SPIKE_QUANTITIES = ("eigenvalue", "alignment", "sample_side_alignment")


def spiked_covariance_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    spikes: Sequence[float],
    variance: float = 1.0,
) -> TrialDraw:
    """One draw of :func:`~solvers.montecarlo.spectra.simulate_spiked_covariance`.

    For each spike ℓ_k in the order given: the sample eigenvalue of the same rank among the top
    K, |⟨û_k, u_k⟩|² and |⟨v̂_k, Zᵀu_k/‖Zᵀu_k‖⟩|² (Baik & Silverstein 2006; Paul 2007; docs/methods/spectra.md §3).
    """
    simulation = simulate_spiked_covariance(
        n_samples=n_samples, n_features=n_features, spikes=spikes, trials=1, rng=rng, variance=variance
    )
    values = np.stack([simulation.eigenvalue[0], simulation.alignment[0], simulation.sample_side_alignment[0]], axis=1)
    return TrialDraw(values=values.reshape(-1))


def spiked_covariance_prediction(
    *, n_features: int, n_samples: int, spikes: Sequence[float], variance: float = 1.0
) -> SimulationPrediction:
    """BBP outlier eigenvalue and both alignments of each spike at the simulated p/n.

    :func:`solvers.spiked_covariance.spiked_covariance` (Baik, Ben Arous & Péché 2005; Baik &
    Silverstein 2006, Thm 1.1; Paul 2007, Thm 4; docs/methods/spectra.md §3).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    if len(spikes) > min(n_features, n_samples):
        raise InvalidParameterError(
            "spikes", f"`spikes` has {len(spikes)} values, more than min(p, n) = {min(n_features, n_samples)} of the simulation."
        )
    law = spiked_covariance(ratio=n_features / n_samples, spikes=spikes, variance=variance)
    values = np.stack([law.eigenvalue, law.alignment, law.sample_side_alignment], axis=1)
    names = tuple(f"{q}[spikes[{k}]={ell:g}]" for k, ell in enumerate(spikes) for q in _SPIKE_QUANTITIES)
    notes = [_ratio_note(n_features, n_samples)]
    if not np.all(law.separated):
        notes.append(
            "Spikes at or below the threshold √c stay in the bulk: their predicted eigenvalue is the edge λ₊, "
            "approached from below like n^(-2/3) (Tracy–Widom), and their alignments are 0, approached like 1/n; "
            "their z-scores grow with the number of trials at fixed n."
        )
    return SimulationPrediction(
        names=names, values=values.reshape(-1), cdf_grid=None, cdf=None, reference=law.reference, notes=(*notes, *law.notes)
    )


# --- Gradient-descent dynamics -------------------------------------------------------------------

_CLASSIFICATION_QUANTITIES = ("train_error", "test_error")
_REGRESSION_QUANTITIES = ("bias", "variance", "initialization", "risk", "test_mse", "train_error")


def _simulated_times(time: Any, mode: str) -> np.ndarray:
    """The times of the request as the endpoint answers them (grid points rounded to steps for `gd`)."""
    values = _points(time)
    return _at_most("time", np.round(values) if mode == "gd" else values)


def gradient_descent_classification_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    mean_norm_squared: float,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time: Any,
    mode: str = "flow",
) -> TrialDraw:
    """One draw of (X, y, w₀) of :func:`~solvers.montecarlo.dynamics.simulate_gradient_descent_classification`.

    For each time in order: the fraction of misclassified training points and the exact test
    error Q(μᵀw/‖w‖) given w(t) (Liao & Couillet 2018; docs/methods/dynamics.md §6).
    """
    simulation = simulate_gradient_descent_classification(
        n_samples=n_samples, n_features=n_features, mean_norm_squared=mean_norm_squared, ridge_penalty=ridge_penalty,
        learning_rate=learning_rate, init_variance=init_variance, time=_simulated_times(time, mode), mode=mode,
        trials=1, rng=rng,
    )
    return TrialDraw(values=np.stack([simulation.train_error, simulation.test_error], axis=1).reshape(-1))


def gradient_descent_classification_prediction(
    *,
    n_features: int,
    n_samples: int,
    mean_norm_squared: float,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time: Any,
    mode: str = "flow",
) -> SimulationPrediction:
    """Limiting train and test error rates at each time, at the simulated p/n.

    :func:`solvers.dynamics.gradient_descent_classification` (Liao & Couillet, ICML 2018;
    docs/methods/dynamics.md §2). At t = 0 with w₀ = 0 both rates are undefined (``nan``).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    times = _simulated_times(time, mode)
    law = gradient_descent_classification(
        ratio=n_features / n_samples, mean_norm_squared=mean_norm_squared, ridge_penalty=ridge_penalty,
        learning_rate=learning_rate, init_variance=init_variance, time=times, mode=mode,  # type: ignore[arg-type]
    )
    values = np.stack([law.train_error, law.test_error], axis=1)
    names = tuple(f"{q}[time={t:g}]" for t in times.tolist() for q in _CLASSIFICATION_QUANTITIES)
    return SimulationPrediction(
        names=names, values=values.reshape(-1), cdf_grid=None, cdf=None, reference=law.reference,
        notes=(_ratio_note(n_features, n_samples), *law.notes),
    )


def gradient_descent_regression_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time: Any,
    mode: str = "flow",
) -> TrialDraw:
    """One draw of (X, β, ε, w₀) of :func:`~solvers.montecarlo.dynamics.simulate_gradient_descent_regression`.

    For each time in order: the conditional (given X, β) bias, variance and initialization terms,
    the sampled excess risk ‖w(t) − β‖², test MSE = risk + σ² and training error
    (docs/derivations/gradient_descent_regression.md; docs/methods/dynamics.md §6).
    """
    s = simulate_gradient_descent_regression(
        n_samples=n_samples, n_features=n_features, signal_strength=signal_strength, noise_variance=noise_variance,
        ridge_penalty=ridge_penalty, learning_rate=learning_rate, init_variance=init_variance,
        time=_simulated_times(time, mode), mode=mode, trials=1, rng=rng,
    )
    values = np.stack([s.bias, s.variance, s.initialization, s.risk, s.test_mse, s.train_error], axis=1)
    return TrialDraw(values=values.reshape(-1))


def gradient_descent_regression_prediction(
    *,
    n_features: int,
    n_samples: int,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time: Any,
    mode: str = "flow",
) -> SimulationPrediction:
    """Limiting bias, variance, initialization, risk, test MSE and train error at each time.

    :func:`solvers.dynamics.gradient_descent_regression` at the simulated p/n (Liao & Couillet 2018;
    Ali, Kolter & Tibshirani 2019; docs/derivations/gradient_descent_regression.md).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    times = _simulated_times(time, mode)
    law = gradient_descent_regression(
        ratio=n_features / n_samples, signal_strength=signal_strength, noise_variance=noise_variance,
        ridge_penalty=ridge_penalty, learning_rate=learning_rate, init_variance=init_variance, time=times, mode=mode,  # type: ignore[arg-type]
    )
    values = np.stack([np.asarray(getattr(law, q), dtype=np.float64) for q in _REGRESSION_QUANTITIES], axis=1)
    names = tuple(f"{q}[time={t:g}]" for t in times.tolist() for q in _REGRESSION_QUANTITIES)
    return SimulationPrediction(
        names=names, values=values.reshape(-1), cdf_grid=None, cdf=None, reference=law.reference,
        notes=(_ratio_note(n_features, n_samples), *law.notes),
    )


# --- Random features (Louart, Liao & Couillet 2018) ----------------------------------------------


def _activation(activation: Mapping[str, Any]) -> Activation:
    """The activation of the request's ``{"name", <parameters>}`` (unset parameters take the catalogue defaults)."""
    parameters = {k: v for k, v in activation.items() if k != "name" and v is not None}
    return make_activation(activation["name"], **parameters)


def _data(data: Mapping[str, Any]) -> tuple[np.ndarray, Any, Any, Any]:
    """(x, y, x_test, y_test), rows are samples: inline as given, or the mixture drawn from its own `seed`.

    The same arrays as the endpoint's: the data are fixed (the theorem is conditional on them) and
    only the first layer W is random, so every trial recomputes them bit for bit.
    """
    if data["kind"] == "inline":
        return np.asarray(data["x"], dtype=np.float64), data.get("y"), data.get("x_test"), data.get("y_test")
    drawn = gaussian_mixture(
        n_samples=data["n_samples"],
        n_test=data["n_test"],
        n_features=data["n_features"],
        n_classes=data["n_classes"],
        means=None if data.get("means") is None else np.asarray(data["means"], dtype=np.float64),
        mean_norm=data["mean_norm"],
        noise_variance=data["noise_variance"],
        proportions=data.get("proportions"),
        rng=data["seed"],
    )
    return drawn.x, drawn.y, drawn.x_test, drawn.y_test


def _ridge_data(data: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y, x_test, y_test = _data(data)
    x, x_test = _inputs(x, x_test)
    if x_test is None or y is None or y_test is None:
        raise InvalidParameterError("data", "`data` needs `y`, `x_test` and `y_test` for the ridge errors.")
    y = _targets("y", y, x.shape[0], "x")
    return x, y, x_test, _targets("y_test", y_test, x_test.shape[0], "x_test")


def random_features_ridge_trial(
    *,
    rng: np.random.Generator,
    activation: Mapping[str, Any],
    data: Mapping[str, Any],
    n_neurons: int,
    ridge_penalty: Any,
) -> TrialDraw:
    """One draw of W (N × p, i.i.d. N(0, 1)) of :func:`~solvers.montecarlo.random_features.simulate_random_features_ridge`.

    For each ridge penalty γ in order: E_train = (1/n)‖y − Σᵀβ‖² and E_test = (1/n̂)‖ŷ − Σ̂ᵀβ‖² of
    β = (1/n)Σ((1/n)ΣᵀΣ + γI)⁻¹y, Σ = σ(WX), on the fixed data (Louart, Liao & Couillet 2018,
    Eq. (1) and Sec. 3.2; docs/methods/random_features.md §0, §4).
    """
    x, y, x_test, y_test = _ridge_data(data)
    sigma = _activation(activation)
    gammas = _at_most("ridge_penalty", _points(ridge_penalty))
    w = rng.standard_normal((n_neurons, x.shape[1]))
    train, test = _one_trial(sigma(w @ x.T), sigma(w @ x_test.T), y, y_test, gammas)
    return TrialDraw(values=np.stack([train, test], axis=1).reshape(-1))


def random_features_ridge_prediction(
    *,
    activation: Mapping[str, Any],
    data: Mapping[str, Any],
    n_neurons: int,
    ridge_penalty: Any,
) -> SimulationPrediction:
    """Deterministic-equivalent train and test MSE for the job's N and each γ, on the same data.

    :func:`solvers.random_features.random_features_ridge` (Louart, Liao & Couillet 2018, Thm. 2–3;
    docs/methods/random_features.md §3).
    """
    n_neurons = positive_int("n_neurons", n_neurons)
    x, y, x_test, y_test = _ridge_data(data)
    gammas = _at_most("ridge_penalty", _points(ridge_penalty))
    law = random_features_ridge(
        activation=_activation(activation), x=x, y=y, x_test=x_test, y_test=y_test,
        n_neurons=[n_neurons], ridge_penalty=gammas, optimize=False,
    )
    values = np.stack([law.train_mse[0], law.test_mse[0]], axis=1)
    names = tuple(f"{q}[ridge_penalty={g:g}]" for g in gammas.tolist() for q in ("train_mse", "test_mse"))
    notes = (f"N = {n_neurons} random features on the request's data (n = {x.shape[0]}, p = {x.shape[1]}, "
             f"n_test = {x_test.shape[0]}); only W is redrawn per trial.",)
    return SimulationPrediction(
        names=names, values=values.reshape(-1), cdf_grid=None, cdf=None, reference=law.reference,
        notes=(*notes, *law.warnings, *law.notes),
    )


def random_features_resolvent_trial(
    *,
    rng: np.random.Generator,
    activation: Mapping[str, Any],
    data: Mapping[str, Any],
    n_neurons: int,
    ridge_penalty: float,
) -> TrialDraw:
    """One draw of W: the normalized trace (1/n) tr Q of Q = ((1/n)ΣᵀΣ + γI_n)⁻¹, Σ = σ(WX).

    From the eigenvalues of the smaller Gram matrix; when N < n the n − N zero eigenvalues of
    (1/n)ΣᵀΣ add (n − N)/γ (Louart, Liao & Couillet 2018, Thm. 1; docs/methods/random_features.md §2).
    """
    x, _ = _inputs(_data(data)[0], None)
    n = x.shape[0]
    w = rng.standard_normal((n_neurons, x.shape[1]))
    features = _activation(activation)(w @ x.T)  # N × n
    gram = (features.T @ features if n_neurons >= n else features @ features.T) / n
    eigenvalues = np.maximum(np.linalg.eigvalsh(gram), 0.0)
    trace = (np.sum(1.0 / (eigenvalues + ridge_penalty)) + max(n - n_neurons, 0) / ridge_penalty) / n
    return TrialDraw(values=np.array([trace]))


def random_features_resolvent_prediction(
    *,
    activation: Mapping[str, Any],
    data: Mapping[str, Any],
    n_neurons: int,
    ridge_penalty: float,
) -> SimulationPrediction:
    """(1/n) tr Q̄ of the deterministic equivalent, on the same data.

    :func:`solvers.random_features.deterministic_equivalent` (Louart, Liao & Couillet 2018, Thm. 1;
    docs/methods/random_features.md §2.1).
    """
    law = deterministic_equivalent(
        activation=_activation(activation), x=_data(data)[0], n_neurons=n_neurons, ridge_penalty=ridge_penalty
    )
    notes = (f"N = {n_neurons} random features on the request's data; only W is redrawn per trial.",)
    return SimulationPrediction(
        names=("normalized_trace",), values=np.array([law.normalized_trace]), cdf_grid=None, cdf=None,
        reference=law.reference, notes=(*notes, *law.warnings),
    )


# --- Conjugate kernel (Pennington & Worah 2017) and the one-step spike (Ba et al. 2022) -----------

#: Prefix of the name of every quantity whose prediction the endpoint marks `validity: "heuristic"`.
HEURISTIC = "heuristic_"
#: Eigenvalues below this fraction of the largest are numerical zeros (docs/methods/conjugate_kernel.md §3 pitfall iv).
_ZERO_SNAP = 1e-9


def _ck_law(
    activation: Mapping[str, Any],
    n_features: int,
    n_samples: int,
    n_neurons: int,
    matrix: str,
    weight_distribution: str,
    data_distribution: str,
    subtract_mean: bool,
    x: np.ndarray | list[float] = (),
) -> Any:
    """:func:`solvers.conjugate_kernel.conjugate_kernel_spectrum` at the simulated φ = p/n and r = N/n."""
    return conjugate_kernel_spectrum(
        activation=_activation(activation), ratio=n_features / n_samples, neurons_per_sample=n_neurons / n_samples,
        matrix=matrix, x=x, weight_distribution=weight_distribution, data_distribution=data_distribution,  # type: ignore[arg-type]
        subtract_mean=subtract_mean, n_neurons=n_neurons, with_cdf=len(x) > 0,
    )


@functools.lru_cache(maxsize=64)
def _ck_outlier_sources(activation: tuple[tuple[str, Any], ...], *dimensions: Any) -> tuple[str, ...]:
    """The sources of the outliers the law predicts (cached: every trial of a job asks; the law is cached too)."""
    return tuple(o.source for o in _ck_law(dict(activation), *dimensions).outliers)


def _ck_grid(edge: float) -> np.ndarray:
    """``CDF_GRID_POINTS`` points from 0 to 1.25 × the edge: uniform, plus a geometric eighth in (0, 0.02 × edge].

    With N > p and θ1 − θ2 small (tanh, erf) a mass up to 1 − p/N sits in a narrow bulk near 0
    (docs/methods/conjugate_kernel.md §3 "Caution"); a uniform grid would step over it, and the KS resolution with it.
    """
    fine = CDF_GRID_POINTS // 8
    uniform = np.linspace(0.0, _GRID_OVERSHOOT * edge, CDF_GRID_POINTS - fine)
    geometric = np.geomspace(1e-6 * edge, 0.02 * edge, fine)
    return np.sort(np.concatenate([uniform, geometric]))


def conjugate_kernel_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    n_neurons: int,
    activation: Mapping[str, Any],
    matrix: str = "gram",
    weight_distribution: str = "gaussian",
    data_distribution: str = "gaussian",
    subtract_mean: bool = False,
) -> TrialDraw:
    """One draw of (W, X) of :func:`~solvers.montecarlo.conjugate_kernel.simulate_conjugate_kernel`.

    With m the number of outliers the law predicts (docs/methods/conjugate_kernel.md §4, §2): M_k = (1/dim) Σ λᵏ,
    k = 1, 2, over all eigenvalues but the mean outlier (≈ (E σ)² N, when σ is not centred); the m
    largest eigenvalues; the (m + 1)-th largest (the top of the bulk); and every eigenvalue of the
    matrix (numerical zeros snapped to 0, docs/methods/conjugate_kernel.md §3 pitfall iv) for the pooled ESD.
    """
    simulation = simulate_conjugate_kernel(
        activation=_activation(activation), n_samples=n_samples, n_features=n_features, n_neurons=n_neurons,
        matrix=matrix, weight_distribution=weight_distribution, data_distribution=data_distribution,
        subtract_mean=subtract_mean, trials=1, n_top=1, rng=rng,
    )
    eigenvalues = simulation.eigenvalues[0].copy()  # type: ignore[index]  # ascending
    eigenvalues[eigenvalues < _ZERO_SNAP * eigenvalues[-1]] = 0.0
    key = tuple(sorted((k, v) for k, v in activation.items() if v is not None))
    sources = _ck_outlier_sources(
        key, n_features, n_samples, n_neurons, matrix, weight_distribution, data_distribution, subtract_mean
    )
    # The mean outlier ≈ (E σ)² N of a non-centred σ is not part of the bulk: the moments leave it out.
    bulk = eigenvalues[: eigenvalues.size - sources.count("mean")]
    moments = [float(np.sum(bulk**k)) / eigenvalues.size for k in (1, 2)]
    top = eigenvalues[::-1][: len(sources) + 1]
    return TrialDraw(values=np.array([*moments, *top]), spectrum=eigenvalues)


def conjugate_kernel_prediction(
    *,
    n_features: int,
    n_samples: int,
    n_neurons: int,
    activation: Mapping[str, Any],
    matrix: str = "gram",
    weight_distribution: str = "gaussian",
    data_distribution: str = "gaussian",
    subtract_mean: bool = False,
) -> SimulationPrediction:
    """The conjugate-kernel law at the simulated φ = p/n, r = N/n: bulk moments, outliers, upper edge, CDF.

    :func:`solvers.conjugate_kernel.conjugate_kernel_spectrum` (Pennington & Worah 2017, Thm 1;
    Benigni & Péché 2021; outliers docs/methods/conjugate_kernel.md §4). The moments of K_N = (1/n)ΣΣᵀ are those of
    the Gaussian equivalent of docs/methods/conjugate_kernel.md §3, a sample covariance with population C = θ2WWᵀ/p + (θ1 − θ2)I:
    M₁ = θ1, M₂ = θ1²(1 + r) + θ2² r/φ (Bai & Silverstein 2010, Lemma 3.1); those of K_n are r times
    them. Outliers keep the endpoint's validity: a ``heuristic`` one is named ``heuristic_outlier_*``.
    The CDF is given on ``CDF_GRID_POINTS`` points from 0 to 1.25 × the upper edge.
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    n_neurons = positive_int("n_neurons", n_neurons)
    dimensions = (n_features, n_samples, n_neurons, matrix, weight_distribution, data_distribution, subtract_mean)
    shape = _ck_law(activation, *dimensions)
    if not shape.support:
        raise InvalidParameterError("activation", "The law has no continuous part to compare a spectrum with.")
    edge = shape.support[-1][1]
    grid = _ck_grid(edge)
    law = _ck_law(activation, *dimensions, x=grid)
    phi, r = n_features / n_samples, n_neurons / n_samples
    scale = r if matrix == "gram" else 1.0
    moments = [scale * law.theta1, scale * (law.theta1**2 * (1.0 + r) + law.theta2**2 * r / phi)]
    outliers = sorted(law.outliers, key=lambda o: -o.location)
    names = ["moment_1", "moment_2"]
    values = [*moments]
    heuristic = []
    for i, outlier in enumerate(outliers, start=1):
        name = f"outlier_{i}[source={outlier.source}]"
        if outlier.validity != "verified":
            name = HEURISTIC + name
            heuristic.append(f"`{name}`: {outlier.caveat}")
        names.append(name)
        values.append(outlier.location)
    m = len(outliers)
    dim = n_samples if matrix == "gram" else n_neurons
    if dim <= m:
        name = "n_samples" if matrix == "gram" else "n_neurons"
        raise InvalidParameterError(name, f"`{name}` = {dim} leaves no bulk eigenvalue besides the {m} predicted outliers.")
    names.append("top_eigenvalue[upper_edge]" if m == 0 else f"eigenvalue_{m + 1}[upper_edge]")
    values.append(edge)
    notes = [
        f"Predicted at the simulated ratios p/n = {n_features}/{n_samples} = {phi:.6g} and N/n = {n_neurons}/{n_samples} = {r:.6g} "
        f"({'K_n = (1/n)ΣᵀΣ' if matrix == 'gram' else 'K_N = (1/n)ΣΣᵀ'}, {dim} eigenvalues per trial; the request's `x`/`grid` "
        "are not used: the ESD is compared on the job's own grid).",
        f"moment_k = (1/{dim}) Σ λᵏ over the eigenvalues"
        + (" but the mean outlier" if any(o.source == "mean" for o in outliers) else "")
        + ", against the law's M₁ = θ1, M₂ = θ1²(1 + r) + θ2² r/φ"
        + (" times r = N/n (K_n)" if matrix == "gram" else "")
        + " (docs/methods/conjugate_kernel.md §3, Gaussian equivalent); outliers of O(1) shift them by O(1/N).",
        f"The top of the bulk ({'the largest eigenvalue' if m == 0 else f'eigenvalue {m + 1} from the top'}) lies below the upper "
        "edge by O(N^(-2/3)) at finite size (Tracy–Widom; docs/methods/conjugate_kernel.md §3 measured up to 2 % below at N = 1500, i.e. 2.6·N^(-2/3)): "
        "its z-score grows with "
        "the number of trials at fixed size.",
    ]
    if heuristic:
        notes.append(
            "Quantities named heuristic_* compare with predictions the endpoint marks `validity: \"heuristic\"`: they are not "
            "verified, and their differences and z-scores test no established result. " + " ".join(heuristic)
        )
    return SimulationPrediction(
        names=tuple(names), values=np.array(values, dtype=np.float64), cdf_grid=grid, cdf=law.cdf,
        reference=law.reference, notes=(*notes, *law.notes),
    )


_ONE_STEP_QUANTITIES = ("top_singular_value", HEURISTIC + "alignment")


def _learning_rates(learning_rate: Any) -> np.ndarray:
    return _at_most("learning_rate", _points(learning_rate))


def one_step_gradient_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    n_neurons: int,
    activation: Mapping[str, Any],
    teacher: Mapping[str, Any],
    learning_rate: Any,
) -> TrialDraw:
    """One draw of (W₀, β₀, X, β*, ε) of :func:`~solvers.montecarlo.conjugate_kernel.simulate_one_step_gradient`.

    The realised slope ϑ/η = |μ₁|‖β₀‖‖Xy‖/n, then for each η in order: s₁(W₁) of W₁ = W₀ + √N η G₀
    (full gradient G₀) and |⟨v̂₁, β*⟩|² (Ba et al. 2022; docs/methods/conjugate_kernel.md §5).
    """
    simulation = simulate_one_step_gradient(
        activation=_activation(activation), link=_activation(teacher["link"]), noise_variance=teacher.get("noise_variance", 0.0),
        n_samples=n_samples, n_features=n_features, n_neurons=n_neurons, learning_rate=_learning_rates(learning_rate),
        trials=1, rng=rng,
    )
    per_step = np.stack([simulation.top_singular_value[0], simulation.alignment[0]], axis=1).reshape(-1)
    return TrialDraw(values=np.concatenate([simulation.realized_slope, per_step]))


def one_step_gradient_prediction(
    *,
    n_features: int,
    n_samples: int,
    n_neurons: int,
    activation: Mapping[str, Any],
    teacher: Mapping[str, Any],
    learning_rate: Any,
) -> SimulationPrediction:
    """Limits of ϑ/η, of s₁(W₁) and (heuristic) of the alignment per η, at the simulated p/n and N/n.

    :func:`solvers.one_step_gradient.one_step_gradient_spike` (Ba et al. 2022, talk eq. (21);
    Benaych-Georges & Nadakuditi 2012; docs/methods/conjugate_kernel.md §5). The endpoint marks the alignment
    heuristic: it is named ``heuristic_alignment[...]``.
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    n_neurons = positive_int("n_neurons", n_neurons)
    eta = _learning_rates(learning_rate)
    law = one_step_gradient_spike(
        activation=_activation(activation), link=_activation(teacher["link"]), noise_variance=teacher.get("noise_variance", 0.0),
        ratio=n_features / n_samples, neurons_per_sample=n_neurons / n_samples, learning_rate=eta,
    )
    values = np.concatenate([[law.slope], np.stack([law.top_singular_value, law.alignment], axis=1).reshape(-1)])
    names = ("spike_slope", *(f"{q}[learning_rate={e:g}]" for e in eta.tolist() for q in _ONE_STEP_QUANTITIES))
    c = n_neurons / n_features
    notes = (
        f"Predicted at the simulated ratios p/n = {n_features}/{n_samples} = {n_features / n_samples:.6g} and N/n = "
        f"{n_neurons}/{n_samples} = {n_neurons / n_samples:.6g} (c = N/p = {c:.6g}); spike_slope is the realised ϑ/η = "
        "|μ₁|‖β₀‖‖Xy‖/n against its limit.",
        f"Below η_c = {law.threshold:.6g} s₁(W₁) sits below the bulk edge 1 + √c = {law.bulk_edge:.6g} by O(N^(-2/3)) "
        "(docs/methods/conjugate_kernel.md §5: 1.989 vs 2 at N = 1024); near η_c the transition is smoothed over the BBP window, O(N^(-1/3)); above "
        "it Monte Carlo is 0.35–1 % below the prediction at the realised ϑ at N = 1024 (docs/methods/conjugate_kernel.md §5), and the limit used here "
        "also ignores the ~1/√(2N) per-trial fluctuation of ϑ: z-scores grow with the number of trials at fixed size.",
        "Quantities named heuristic_alignment[...] compare with the alignment the endpoint marks `alignment_validity: "
        "\"heuristic\"`: not verified, their differences and z-scores test no established result. " + law.alignment_caveat,
    )
    return SimulationPrediction(
        names=names, values=values, cdf_grid=None, cdf=None, reference=law.reference, notes=(*notes, *law.notes)
    )


__all__ = [
    "CDF_GRID_POINTS",
    "ChunkStatistics",
    "MergedStatistics",
    "SimulationPrediction",
    "TrialDraw",
    "HEURISTIC",
    "MAX_SIMULATED_POINTS",
    "chunk_seed",
    "chunk_sizes",
    "conjugate_kernel_prediction",
    "conjugate_kernel_trial",
    "gradient_descent_classification_prediction",
    "gradient_descent_classification_trial",
    "gradient_descent_regression_prediction",
    "gradient_descent_regression_trial",
    "linear_ridge_prediction",
    "linear_ridge_trial",
    "marchenko_pastur_prediction",
    "marchenko_pastur_trial",
    "merge_chunks",
    "one_step_gradient_prediction",
    "one_step_gradient_trial",
    "random_features_resolvent_prediction",
    "random_features_resolvent_trial",
    "random_features_ridge_prediction",
    "random_features_ridge_trial",
    "sample_covariance_prediction",
    "sample_covariance_trial",
    "simulate_chunk",
    "spiked_covariance_prediction",
    "spiked_covariance_trial",
]
