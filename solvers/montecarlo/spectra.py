"""Monte Carlo simulators of sample-covariance spectra and spiked models (docs/methods/spectra.md §1–§3, §4).

Gaussian data Y = Σ^{1/2} Z (p × n, columns are samples, Z i.i.d. N(0, 1)) with a diagonal Σ:
for Gaussian Z the spectrum of S = (1/n) Y Yᵀ is invariant under rotations of Σ, so a diagonal
Σ (and canonical spike directions u_k = e_k) loses no generality. Eigenproblems are solved on the
smaller side (p × p or n × n); the |p − n| structural zeros are appended exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg

from solvers._validation import finite_array, positive, positive_int, rng_from
from solvers.exceptions import InvalidParameterError
from solvers.marchenko_pastur import marchenko_pastur, mp_edges
from solvers.montecarlo._statistics import mean_and_standard_error
from solvers.montecarlo.engine import CDF_GRID_POINTS, GRID_OVERSHOOT, SimulationPrediction, TrialDraw, ratio_note
from solvers.sample_covariance import sample_covariance_spectrum
from solvers.spiked_covariance import spiked_covariance

Matrix = Literal["covariance", "gram"]

REFERENCE_SPECTRUM = (
    "Direct simulation of S = (1/n) Σ^{1/2} Z Zᵀ Σ^{1/2} with Gaussian Z; limits in "
    "Marchenko & Pastur (1967), Silverstein (1995) eq. (1.4); docs/methods/spectra.md §1-§2, §4"
)
REFERENCE_SPIKED = (
    "Direct simulation of the spiked model Σ = σ²(I + Σ ℓ_k e_k e_kᵀ); limits in Baik & Silverstein "
    "(2006) Thm 1.1 and Paul (2007) Thm 4; docs/methods/spectra.md §3, §4"
)


def ks_distance(eigenvalues, cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """Kolmogorov–Smirnov distance sup_x |F_n(x) − F(x)| between a sample and a law.

    The supremum of |F_n − F| for a monotone F is attained at the jumps of the empirical CDF,
    from the left or from the right; F's left limit is taken as F(nextafter(x, −∞)), which is
    exact for a law whose atoms sit at sample values (the atom at 0 of S when c > 1, matched by
    the p − n exact zeros of the simulation).

    Parameters
    ----------
    eigenvalues
        One sample (1-D), e.g. the eigenvalues of one trial.
    cdf
        Vectorised CDF of the limiting law, e.g.
        ``lambda x: sample_covariance_spectrum(..., x=x).cdf``.

    Returns
    -------
    float
        The distance, in [0, 1]. docs/methods/spectra.md §4: for one ESD it scales like 1/p
        (1.7e-3–2.8e-3 at the largest sizes measured).
    """
    sample = np.sort(finite_array("eigenvalues", eigenvalues))
    if sample.size == 0:
        raise InvalidParameterError("eigenvalues", "`eigenvalues` must not be empty.")
    values, counts = np.unique(sample, return_counts=True)
    after = np.cumsum(counts) / sample.size
    before = after - counts / sample.size
    at = np.asarray(cdf(values), dtype=np.float64)
    left = np.asarray(cdf(np.nextafter(values, -np.inf)), dtype=np.float64)
    return float(max(np.max(np.abs(after - at)), np.max(np.abs(before - left))))


def _allocate(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts ≈ w_k · total summing to total (largest-remainder / Hamilton method)."""
    exact = weights * total
    counts = np.floor(exact).astype(np.int64)
    missing = total - int(counts.sum())
    if missing > 0:
        # Ties broken by index (stable sort) so the allocation is deterministic.
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:missing]] += 1
    return counts


def _population_diagonal(n_features: int, eigenvalues, weights, variance: float, spikes) -> np.ndarray:
    """Diagonal of Σ: round(w_k p) copies of σ² t_k, then + σ² ℓ_k on the first K coordinates."""
    if eigenvalues is None:
        if weights is not None:
            raise InvalidParameterError("weights", "`weights` requires `eigenvalues`.")
        diag = np.ones(n_features)
    else:
        t = finite_array("eigenvalues", eigenvalues)
        if t.size == 0 or np.any(t <= 0):
            raise InvalidParameterError("eigenvalues", "`eigenvalues` must be non-empty and > 0.")
        if weights is None:
            w = np.full(t.size, 1.0 / t.size)
        else:
            w = finite_array("weights", weights)
            if w.shape != t.shape or np.any(w <= 0) or abs(float(w.sum()) - 1.0) > 1e-9:
                raise InvalidParameterError(
                    "weights", "`weights` must be > 0, match `eigenvalues` in length and sum to 1."
                )
        diag = np.repeat(t, _allocate(w, n_features))
    if spikes is not None:
        ell = finite_array("spikes", spikes)
        if np.any(ell <= 0):
            raise InvalidParameterError("spikes", "`spikes` must be > 0.")
        if ell.size > n_features:
            raise InvalidParameterError("spikes", "`spikes` must not outnumber `n_features`.")
        diag = diag.copy()
        diag[: ell.size] += ell
    return variance * diag


def _draw(rng: np.random.Generator, scale: np.ndarray, n_samples: int) -> np.ndarray:
    """Y = Σ^{1/2} Z for diagonal Σ, with 1/√n folded in so that S = Y Yᵀ."""
    z = rng.standard_normal((scale.size, n_samples))
    return z * (np.sqrt(scale) / np.sqrt(n_samples))[:, None]


@dataclass(frozen=True, slots=True)
class SpectrumSimulation:
    """Eigenvalues of independent draws of S (``"covariance"``) or its Gram matrix (``"gram"``).

    Attributes
    ----------
    n_samples, n_features, trials
        n, p and the number of independent draws.
    matrix
        ``"covariance"`` (p × p, S = (1/n) Y Yᵀ) or ``"gram"`` (n × n, (1/n) Yᵀ Y).
    ratio
        c = p/n.
    population
        Diagonal of Σ used (variance, eigenvalue allocation and spikes applied).
    eigenvalues
        ``(trials, dim)`` ascending eigenvalues per trial, dim = p or n; the |p − n| structural
        zeros are exact.
    largest, smallest_nonzero
        ``(trials,)`` extreme eigenvalues (smallest of the min(n, p) non-structural ones).
    reference
        What was simulated and which limits it checks.
    """

    n_samples: int
    n_features: int
    trials: int
    matrix: str
    ratio: float
    population: np.ndarray
    eigenvalues: np.ndarray
    largest: np.ndarray
    smallest_nonzero: np.ndarray
    reference: str = REFERENCE_SPECTRUM

    @property
    def pooled(self) -> np.ndarray:
        """All eigenvalues of all trials, sorted."""
        return np.sort(self.eigenvalues.ravel())

    def histogram(self, bins=50, range=None) -> tuple[np.ndarray, np.ndarray]:
        """Density-normalised histogram of the pooled eigenvalues: (density, bin edges)."""
        return np.histogram(self.eigenvalues.ravel(), bins=bins, range=range, density=True)

    def empirical_cdf(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Mean over trials of F_n(x) = #{λ ≤ x}/dim and its standard error."""
        xv = finite_array("x", x)
        per_trial = np.stack([np.searchsorted(row, xv, side="right") / row.size for row in self.eigenvalues])
        return mean_and_standard_error(per_trial)

    def moments(self, n_moments: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Means and standard errors of (1/dim) tr Mᵏ, k = 1..n_moments (docs/methods/spectra.md §1.3 / §2)."""
        k = np.arange(1, positive_int("n_moments", n_moments) + 1)
        per_trial = np.mean(self.eigenvalues[:, :, None] ** k, axis=1)
        return mean_and_standard_error(per_trial)

    def stieltjes(self, z) -> tuple[np.ndarray, np.ndarray]:
        """Means and standard errors of (1/dim) Σ 1/(λ − z) (complex; SE per real/imag part)."""
        zz = np.asarray(z, dtype=np.complex128).ravel()
        if np.any(zz.imag == 0) and np.any(np.isin(zz.real, self.eigenvalues)):
            raise InvalidParameterError("z", "`z` must not coincide with a sample eigenvalue.")
        per_trial = np.mean(1.0 / (self.eigenvalues[:, :, None] - zz), axis=1)
        mean, se_re = mean_and_standard_error(per_trial.real)
        mean_im, se_im = mean_and_standard_error(per_trial.imag)
        return mean + 1j * mean_im, se_re + 1j * se_im

    def ks_distances(self, cdf: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Per-trial Kolmogorov–Smirnov distance of the ESD to ``cdf`` (see :func:`ks_distance`)."""
        return np.array([ks_distance(row, cdf) for row in self.eigenvalues])


def simulate_sample_covariance_spectrum(
    *,
    n_samples: int,
    n_features: int,
    trials: int,
    rng,
    eigenvalues=None,
    weights=None,
    variance: float = 1.0,
    matrix: Matrix = "covariance",
    spikes=None,
) -> SpectrumSimulation:
    """Simulate the spectrum of S = (1/n) Σ^{1/2} Z Zᵀ Σ^{1/2} (or of its Gram matrix).

    Checks the Marchenko–Pastur law (Marchenko & Pastur 1967; docs/methods/spectra.md §1), its generalisation
    (Silverstein 1995, eq. (1.4); docs/methods/spectra.md §2) and, with ``spikes``, the bulk of the spiked model
    (docs/methods/spectra.md §3). Σ = σ² diag(d) with round(w_k p) entries equal to t_k (largest-remainder
    rounding so that they sum to p), then ℓ_k added to the first K entries.

    Parameters
    ----------
    n_samples, n_features
        n and p (positive integers).
    trials
        Number of independent draws.
    rng
        Anything ``np.random.default_rng`` accepts (SPEC 7).
    eigenvalues, weights
        Population spectrum (default: identity). ``weights`` default to uniform.
    variance
        σ² > 0 multiplying Σ.
    matrix
        ``"covariance"`` for the p × p matrix S, ``"gram"`` for the n × n (1/n) Yᵀ Y.
    spikes
        Optional spike strengths ℓ_k > 0 added on the first coordinates.

    Returns
    -------
    SpectrumSimulation
    """
    n = positive_int("n_samples", n_samples)
    p = positive_int("n_features", n_features)
    trials = positive_int("trials", trials)
    sigma2 = positive("variance", variance)
    if matrix not in ("covariance", "gram"):
        raise InvalidParameterError("matrix", f"`matrix` must be 'covariance' or 'gram', got {matrix!r}.")
    generator = rng_from(rng)
    diag = _population_diagonal(p, eigenvalues, weights, sigma2, spikes)
    dim = p if matrix == "covariance" else n
    small = min(n, p)
    out = np.zeros((trials, dim))
    for i in range(trials):
        y = _draw(generator, diag, n)
        # Same non-zero eigenvalues on both sides: solve the smaller one.
        gram_small = y @ y.T if p <= n else y.T @ y
        out[i, dim - small :] = np.linalg.eigvalsh(gram_small)
    for array in (out, diag):
        array.setflags(write=False)
    return SpectrumSimulation(
        n_samples=n,
        n_features=p,
        trials=trials,
        matrix=matrix,
        ratio=p / n,
        population=diag,
        eigenvalues=out,
        largest=out[:, -1].copy(),
        smallest_nonzero=out[:, dim - small].copy(),
    )


@dataclass(frozen=True, slots=True)
class SpikedCovarianceSimulation:
    """Top sample eigenvalues and eigenvector alignments of simulated spiked covariances.

    Spike k is matched with the sample eigenvalue of the same rank among the spikes (the
    largest spike with the largest eigenvalue, ...); arrays are in the order of ``spikes``.

    Attributes
    ----------
    n_samples, n_features, trials, ratio, variance
        Sizes, c = p/n and σ².
    spikes
        ℓ_k as given.
    eigenvalue, alignment, sample_side_alignment
        ``(trials, K)``: λ̂_k, |⟨û_k, e_k⟩|² and |⟨v̂_k, Zᵀe_k/‖Zᵀe_k‖⟩|² per trial.
    eigenvalue_mean, eigenvalue_standard_error, alignment_mean, alignment_standard_error,
    sample_side_alignment_mean, sample_side_alignment_standard_error
        ``(K,)`` means over trials and their standard errors (std/√trials).
    reference
        What was simulated and which limits it checks.
    """

    n_samples: int
    n_features: int
    trials: int
    ratio: float
    variance: float
    spikes: np.ndarray
    eigenvalue: np.ndarray
    alignment: np.ndarray
    sample_side_alignment: np.ndarray
    eigenvalue_mean: np.ndarray
    eigenvalue_standard_error: np.ndarray
    alignment_mean: np.ndarray
    alignment_standard_error: np.ndarray
    sample_side_alignment_mean: np.ndarray
    sample_side_alignment_standard_error: np.ndarray
    reference: str = REFERENCE_SPIKED


def simulate_spiked_covariance(
    *,
    n_samples: int,
    n_features: int,
    spikes,
    trials: int,
    rng,
    variance: float = 1.0,
) -> SpikedCovarianceSimulation:
    """Simulate the spiked model Σ = σ²(I + Σ_k ℓ_k e_k e_kᵀ) and measure the BBP quantities.

    Checks Baik & Silverstein (2006), Thm 1.1 (outliers) and Paul (2007), Thm 4 (alignments);
    docs/methods/spectra.md §3. With Y = Σ^{1/2} Z, û_k and v̂_k are the k-th left/right singular vectors of Y;
    the sample-side target direction is Zᵀe_k/‖Zᵀe_k‖ (docs/methods/spectra.md §3 table).

    Parameters
    ----------
    n_samples, n_features
        n and p; need K ≤ min(n, p).
    spikes
        ℓ_k > 0.
    trials
        Number of independent draws.
    rng
        Anything ``np.random.default_rng`` accepts (SPEC 7).
    variance
        σ² > 0.

    Returns
    -------
    SpikedCovarianceSimulation
    """
    n = positive_int("n_samples", n_samples)
    p = positive_int("n_features", n_features)
    trials = positive_int("trials", trials)
    sigma2 = positive("variance", variance)
    ell = finite_array("spikes", spikes)
    if ell.size == 0 or np.any(ell <= 0):
        raise InvalidParameterError("spikes", "`spikes` must be non-empty and > 0.")
    k = ell.size
    if k > min(n, p):
        raise InvalidParameterError("spikes", "`spikes` must not outnumber min(`n_samples`, `n_features`).")
    generator = rng_from(rng)
    diag = sigma2 * np.concatenate([1.0 + ell, np.ones(p - k)])
    # rank[j] = position of spike j among the spikes sorted in decreasing order.
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(-ell, kind="stable")] = np.arange(k)
    eig = np.empty((trials, k))
    align = np.empty((trials, k))
    side = np.empty((trials, k))
    for i in range(trials):
        z = generator.standard_normal((p, n))
        y = z * (np.sqrt(diag) / np.sqrt(n))[:, None]
        # Only the top K eigenpairs are needed: LAPACK's MRRR subset driver skips the rest.
        small = y @ y.T if p <= n else y.T @ y
        d = small.shape[0]
        values, vectors = scipy.linalg.eigh(small, subset_by_index=[d - k, d - 1], driver="evr")
        lam = values[::-1]
        top = vectors[:, ::-1]
        if p <= n:
            u_hat = top
            v_hat = y.T @ top / np.sqrt(lam)  # unit: ‖Yᵀû‖² = λ
        else:
            v_hat = top
            u_hat = y @ v_hat / np.sqrt(lam)
        u_hat, v_hat, lam = u_hat[:, rank], v_hat[:, rank], lam[rank]
        eig[i] = lam
        align[i] = u_hat[np.arange(k), np.arange(k)] ** 2  # ⟨û_j, e_j⟩ = j-th coordinate
        target = z[:k]  # rows of Z are Zᵀ e_j
        target = target / np.linalg.norm(target, axis=1, keepdims=True)
        side[i] = np.einsum("nj,jn->j", v_hat, target) ** 2
    e_mean, e_se = mean_and_standard_error(eig)
    a_mean, a_se = mean_and_standard_error(align)
    s_mean, s_se = mean_and_standard_error(side)
    for array in (ell, eig, align, side, e_mean, e_se, a_mean, a_se, s_mean, s_se):
        array.setflags(write=False)
    return SpikedCovarianceSimulation(
        n_samples=n,
        n_features=p,
        trials=trials,
        ratio=p / n,
        variance=sigma2,
        spikes=ell,
        eigenvalue=eig,
        alignment=align,
        sample_side_alignment=side,
        eigenvalue_mean=e_mean,
        eigenvalue_standard_error=e_se,
        alignment_mean=a_mean,
        alignment_standard_error=a_se,
        sample_side_alignment_mean=s_mean,
        sample_side_alignment_standard_error=s_se,
    )


# --- Simulation-job kinds: one trial and one prediction per kind (solvers.montecarlo.engine) -----


def marchenko_pastur_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    variance: float = 1.0,
    matrix: Matrix = "covariance",
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
    matrix: Matrix = "covariance",
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
    grid = np.linspace(0.0, GRID_OVERSHOOT * upper, CDF_GRID_POINTS)
    law = marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, x=grid, n_moments=n_moments)
    return SimulationPrediction(
        names=tuple(f"moment_{k}" for k in range(1, n_moments + 1)),
        values=law.moments,
        cdf_grid=grid,
        cdf=law.cdf,
        reference=law.reference,
        notes=(f"Predicted at the simulated ratio p/n = {n_features}/{n_samples} = {ratio:.6g}.",),
    )


#: M₁..M₃: the moments the generalized MP solver returns in closed form (docs/methods/spectra.md §2).
_SAMPLE_COVARIANCE_MOMENTS = 3


def _realised_population(eigenvalues, weights, n_features: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The population spectrum a p = ``n_features`` simulation really has: (t_k, counts_k/p, changed).

    :func:`simulate_sample_covariance_spectrum` gives t_k to round(w_k p) coordinates (largest
    remainder); atoms that get no coordinate are absent from the simulation.
    """
    t = np.asarray(eigenvalues, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    counts = _allocate(w, n_features)
    keep = counts > 0
    realised = counts[keep] / n_features
    changed = bool(not keep.all() or np.max(np.abs(realised - w[keep])) > 1e-12)
    return t[keep], realised, changed


def sample_covariance_trial(
    *, rng: np.random.Generator, n_features: int, n_samples: int, eigenvalues, weights
) -> TrialDraw:
    """One draw of S = (1/n)Σ^½ZZᵀΣ^½ by :func:`simulate_sample_covariance_spectrum`.

    Returns M_k = (1/p) tr Sᵏ, k = 1..3, and the p eigenvalues (with the p − n exact zeros when
    p > n; rounding negatives clamped to 0 as S is positive semi-definite). Silverstein (1995);
    docs/methods/spectra.md §2, §4.
    """
    simulation = simulate_sample_covariance_spectrum(
        n_samples=n_samples, n_features=n_features, trials=1, rng=rng, eigenvalues=eigenvalues, weights=weights
    )
    values = np.maximum(simulation.eigenvalues[0], 0.0)
    powers = values[None, :] ** np.arange(1, _SAMPLE_COVARIANCE_MOMENTS + 1)[:, None]
    return TrialDraw(values=powers.mean(axis=1), spectrum=values)


def sample_covariance_prediction(*, n_features: int, n_samples: int, eigenvalues, weights) -> SimulationPrediction:
    """Generalized MP moments M₁..M₃ and CDF at the simulated p/n and the simulated population.

    :func:`solvers.sample_covariance.sample_covariance_spectrum` (Silverstein 1995, eq. (1.4);
    Silverstein & Choi 1995; docs/methods/spectra.md §2), evaluated at c = p/n and at the weights
    round(w_k p)/p the simulation has. The CDF is given on ``CDF_GRID_POINTS`` points from 0 to
    1.25 × the right edge of the support.
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    t, w, changed = _realised_population(eigenvalues, weights, n_features)
    ratio = n_features / n_samples
    support = sample_covariance_spectrum(ratio=ratio, eigenvalues=t, weights=w, x=[0.0]).support_intervals
    grid = np.linspace(0.0, GRID_OVERSHOOT * support[-1][1], CDF_GRID_POINTS)
    law = sample_covariance_spectrum(ratio=ratio, eigenvalues=t, weights=w, x=grid)
    notes = [ratio_note(n_features, n_samples)]
    if changed:
        notes.append(
            f"Predicted at the population of the simulated Σ: round(w_k p)/p of the p = {n_features} coordinates "
            f"per eigenvalue, weights {np.round(w, 6).tolist()} for eigenvalues {t.tolist()}."
        )
    return SimulationPrediction(
        names=tuple(f"moment_{k}" for k in range(1, _SAMPLE_COVARIANCE_MOMENTS + 1)),
        values=np.asarray(law.moments, dtype=np.float64),
        cdf_grid=grid,
        cdf=law.cdf,
        reference=law.reference,
        notes=(*notes, *law.notes),
    )


_SPIKE_QUANTITIES = ("eigenvalue", "alignment", "sample_side_alignment")


def spiked_covariance_trial(
    *, rng: np.random.Generator, n_features: int, n_samples: int, spikes, variance: float = 1.0
) -> TrialDraw:
    """One draw of :func:`simulate_spiked_covariance`.

    For each spike ℓ_k in the order given: the sample eigenvalue of the same rank among the top
    K, |⟨û_k, u_k⟩|² and |⟨v̂_k, Zᵀu_k/‖Zᵀu_k‖⟩|² (Baik & Silverstein 2006; Paul 2007; docs/methods/spectra.md §3).
    """
    simulation = simulate_spiked_covariance(
        n_samples=n_samples, n_features=n_features, spikes=spikes, trials=1, rng=rng, variance=variance
    )
    values = np.stack([simulation.eigenvalue[0], simulation.alignment[0], simulation.sample_side_alignment[0]], axis=1)
    return TrialDraw(values=values.reshape(-1))


def spiked_covariance_prediction(
    *, n_features: int, n_samples: int, spikes, variance: float = 1.0
) -> SimulationPrediction:
    """BBP outlier eigenvalue and both alignments of each spike at the simulated p/n.

    :func:`solvers.spiked_covariance.spiked_covariance` (Baik, Ben Arous & Péché 2005; Baik &
    Silverstein 2006, Thm 1.1; Paul 2007, Thm 4; docs/methods/spectra.md §3).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    if len(spikes) > min(n_features, n_samples):
        raise InvalidParameterError(
            "spikes",
            f"`spikes` has {len(spikes)} values, more than min(p, n) = {min(n_features, n_samples)} of the simulation.",
        )
    law = spiked_covariance(ratio=n_features / n_samples, spikes=spikes, variance=variance)
    values = np.stack([law.eigenvalue, law.alignment, law.sample_side_alignment], axis=1)
    names = tuple(f"{q}[spikes[{k}]={ell:g}]" for k, ell in enumerate(spikes) for q in _SPIKE_QUANTITIES)
    notes = [ratio_note(n_features, n_samples)]
    if not np.all(law.separated):
        notes.append(
            "Spikes at or below the threshold √c stay in the bulk: their predicted eigenvalue is the edge λ₊, "
            "approached from below like n^(-2/3) (Tracy–Widom), and their alignments are 0, approached like 1/n; "
            "their z-scores grow with the number of trials at fixed n."
        )
    return SimulationPrediction(
        names=names,
        values=values.reshape(-1),
        cdf_grid=None,
        cdf=None,
        reference=law.reference,
        notes=(*notes, *law.notes),
    )
