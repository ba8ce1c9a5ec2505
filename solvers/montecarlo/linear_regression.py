"""Monte Carlo simulator of ridge / min-norm linear regression (docs/methods/linear_ridge.md §1, §7).

Each draw samples a Gaussian design X = Z Σ^{1/2} (n × p, Σ diagonal — no loss of generality for
Gaussian rows) and a coefficient vector β; everything else is integrated exactly given X (docs/methods/linear_ridge.md §7):
the training noise ε and the independent test point x₀ never get sampled. One thin SVD
(1/√n) X = U diag(s) Vᵀ per draw serves every ridge penalty:

    E[β̂_λ | X] − β = −(I − VVᵀ)β − V diag(λ/(s² + λ)) Vᵀβ,
    Cov(β̂_λ | X) = (σ²/n) V diag(s²/(s² + λ)²) Vᵀ            (λ = 0: diag(1/s²), the pseudo-inverse),
    E_ε (1/n)‖y − Xβ̂_λ‖² = Σ_i (f_i s_i α_i)² + (σ²/n)(Σ_i f_i² + n − rank),   f = λ/(s² + λ), α = Vᵀβ,

so B = ‖E[β̂|X] − β‖²_Σ and V = tr(Σ Cov(β̂|X)) are exact conditional expectations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solvers._validation import finite_array, non_negative, positive_int, rng_from
from solvers.exceptions import InvalidParameterError
from solvers.linear_regression import PopulationSpectrum, population_spectrum, ridge_regression_risk
from solvers.montecarlo._statistics import mean_and_standard_error
from solvers.montecarlo.engine import SimulationPrediction, TrialDraw, at_most_points

REFERENCE = (
    "Exact conditional (given X) bias, variance and training error of ridge / min-norm least "
    "squares, Hastie, Montanari, Rosset & Tibshirani (2022), Ann. Statist. 50(2):949-986, §2 "
    "definitions; docs/methods/linear_ridge.md §1, §7"
)


@dataclass(frozen=True, slots=True)
class RidgeRegressionSimulation:
    """Per-penalty Monte Carlo means and standard errors over independent designs.

    Every quantity array has shape ``(len(ridge_penalty),)``; ``<name>_standard_error`` is the
    sample standard deviation over trials divided by √trials.

    Attributes
    ----------
    n_samples, n_features, trials
        n, p and the number of independent (X, β) draws.
    ridge_penalty
        Per-sample penalties λ (0 = min-norm interpolator / OLS via the pseudo-inverse).
    eigenvalues, feature_counts
        Population eigenvalues used and how many of the p features carry each (largest-remainder
        rounding of p · weights); ``(1.0,)`` and ``(p,)`` for Σ = I.
    bias, variance, risk, test_mse, train_error
        Means over trials of B, V, R = B + V, R + σ² and the expected training error.
    bias_standard_error, variance_standard_error, risk_standard_error, test_mse_standard_error,
    train_error_standard_error
        Their standard errors.
    seed_entropy
        ``SeedSequence.entropy`` of the generator when available (SPEC 7), else ``None``.
    reference
        What is simulated.
    """

    n_samples: int
    n_features: int
    trials: int
    ridge_penalty: np.ndarray
    eigenvalues: tuple[float, ...]
    feature_counts: tuple[int, ...]
    bias: np.ndarray
    variance: np.ndarray
    risk: np.ndarray
    test_mse: np.ndarray
    train_error: np.ndarray
    bias_standard_error: np.ndarray
    variance_standard_error: np.ndarray
    risk_standard_error: np.ndarray
    test_mse_standard_error: np.ndarray
    train_error_standard_error: np.ndarray
    seed_entropy: int | None
    reference: str = REFERENCE


def _feature_counts(n_features: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of p · w to integers summing to p."""
    exact = n_features * weights
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: n_features - counts.sum()]] += 1
    return counts


def _conditional_risks(
    scaled_design: np.ndarray,
    beta: np.ndarray,
    sigma_diagonal: np.ndarray,
    lam: np.ndarray,
    noise_variance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact E[· | X] bias, variance and training error for every λ from one SVD of X/√n."""
    n = scaled_design.shape[0]
    _, s, vt = np.linalg.svd(scaled_design, full_matrices=False)
    # Numerical rank as in numpy.linalg.pinv / matrix_rank; Gaussian designs have full rank a.s.
    keep = s > s[0] * max(scaled_design.shape) * np.finfo(float).eps
    s, vt = s[keep], vt[keep]
    rank = s.size
    s2 = s**2
    alpha = vt @ beta
    beta_perp = beta - vt.T @ alpha  # component of β in the null space of X
    sigma_vt = vt * sigma_diagonal  # Vᵀ Σ
    gram = sigma_vt @ vt.T  # Vᵀ Σ V (rank × rank)
    cross = sigma_vt @ beta_perp  # Vᵀ Σ β⊥
    null_bias = float(beta_perp @ (sigma_diagonal * beta_perp))

    lam_col = lam[:, None]
    shrink = lam_col / (s2 + lam_col)  # f_i = λ/(s_i² + λ), 0 at λ = 0
    shrunk = shrink * alpha  # (L, rank)
    bias = null_bias + 2.0 * (shrunk @ cross) + np.einsum("li,ij,lj->l", shrunk, gram, shrunk)
    gain = s2 / (s2 + lam_col) ** 2  # s²/(s² + λ)², = 1/s² at λ = 0
    variance = noise_variance / n * (gain @ np.diag(gram))
    train = np.sum((shrunk * s) ** 2, axis=1) + noise_variance / n * (np.sum(shrink**2, axis=1) + (n - rank))
    return bias, variance, train


@dataclass(frozen=True, slots=True)
class _RidgeDesign:
    """The fixed part of a draw: Σ's diagonal over the p features and the energy of β per block."""

    counts: np.ndarray
    sigma_diagonal: np.ndarray
    block_energy: np.ndarray
    block_id: np.ndarray

    @classmethod
    def of(cls, n_features: int, spectrum: PopulationSpectrum, signal_strength: float) -> _RidgeDesign:
        counts = _feature_counts(n_features, spectrum.weights)
        if np.any(counts == 0):
            raise InvalidParameterError(
                "n_features",
                f"`n_features` = {n_features} is too small to give every eigenvalue at least one feature "
                f"(counts {counts.tolist()}).",
            )
        return cls(
            counts=counts,
            sigma_diagonal=np.repeat(spectrum.eigenvalues, counts),
            block_energy=np.repeat(np.sqrt(spectrum.signal_weights * signal_strength), counts),
            block_id=np.repeat(np.arange(counts.size), counts),
        )

    def draw(
        self, generator: np.random.Generator, n_samples: int, lam: np.ndarray, noise_variance: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One draw of (Z, β): the exact conditional bias, variance and training error per λ.

        The one draw of this topic, shared by :func:`simulate_ridge_regression` and
        :func:`linear_ridge_trial` (same draws in the same order).
        """
        p = self.sigma_diagonal.size
        z = generator.standard_normal((n_samples, p))
        direction = generator.standard_normal(p)
        norms = np.sqrt(np.bincount(self.block_id, weights=direction**2))
        beta = self.block_energy * direction / norms[self.block_id]
        design = z * (np.sqrt(self.sigma_diagonal) / np.sqrt(n_samples))
        return _conditional_risks(design, beta, self.sigma_diagonal, lam, noise_variance)


def simulate_ridge_regression(
    *,
    n_samples: int,
    n_features: int,
    ridge_penalty,
    signal_strength: float,
    noise_variance: float,
    eigenvalues=None,
    weights=None,
    signal_weights=None,
    trials: int,
    rng=None,
) -> RidgeRegressionSimulation:
    """Simulate the risk of ridge / min-norm regression with exact conditional expectations.

    Model of Hastie et al. (2022) §2 / docs/methods/linear_ridge.md §1: rows x_i = Σ^{1/2} z_i with z_i standard Gaussian,
    y = Xβ + ε, Var ε = σ², β̂_λ = (XᵀX/n + λI)⁻¹Xᵀy/n, β̂_0 = X⁺y. Per draw, β has energy
    b_k r² in the eigenspace of t_k, in a uniformly random direction within it. The bias, variance
    and training error are the exact expectations over ε and x₀ given X (docs/methods/linear_ridge.md §7), so the standard
    errors only reflect the design (and β) randomness. Compare with
    :func:`solvers.linear_regression.ridge_regression_risk` at ratio = p/n.

    Parameters
    ----------
    n_samples, n_features
        n and p (positive integers).
    ridge_penalty
        Per-sample penalties λ ≥ 0, 1-D; all are evaluated on the same draws.
    signal_strength, noise_variance
        r² = ‖β‖² ≥ 0 and σ² ≥ 0.
    eigenvalues, weights, signal_weights
        Population spectrum as in :func:`solvers.linear_regression.ridge_regression_risk`;
        the p features are split by largest-remainder rounding of p · weights, and every
        eigenvalue must receive at least one feature.
    trials
        Number of independent draws (≥ 2, for the standard errors).
    rng
        Anything ``numpy.random.default_rng`` accepts (SPEC 7).

    Returns
    -------
    RidgeRegressionSimulation
        Means and standard errors per penalty, shape ``(len(ridge_penalty),)``.
    """
    n = positive_int("n_samples", n_samples)
    p = positive_int("n_features", n_features)
    lam = finite_array("ridge_penalty", np.atleast_1d(np.asarray(ridge_penalty, dtype=np.float64)))
    if lam.size == 0:
        raise InvalidParameterError("ridge_penalty", "`ridge_penalty` must not be empty.")
    if np.any(lam < 0):
        raise InvalidParameterError("ridge_penalty", f"`ridge_penalty` must be >= 0, got {float(lam[lam < 0][0])!r}.")
    r2 = non_negative("signal_strength", signal_strength)
    s2 = non_negative("noise_variance", noise_variance)
    spectrum = population_spectrum(eigenvalues, weights, signal_weights)
    trials = positive_int("trials", trials)
    if trials < 2:
        raise InvalidParameterError("trials", f"`trials` must be >= 2 for standard errors, got {trials!r}.")
    generator = rng_from(rng)

    design = _RidgeDesign.of(p, spectrum, r2)
    samples = np.empty((3, trials, lam.size))
    for trial in range(trials):  # one SVD per draw, vectorised over λ
        samples[:, trial, :] = design.draw(generator, n, lam, s2)

    bias, variance, train = samples
    risk = bias + variance

    (b_mean, b_se), (v_mean, v_se), (r_mean, r_se), (t_mean, t_se) = map(
        mean_and_standard_error, (bias, variance, risk, train)
    )
    seed_seq = getattr(generator.bit_generator, "seed_seq", None)
    entropy = getattr(seed_seq, "entropy", None)
    return RidgeRegressionSimulation(
        n_samples=n,
        n_features=p,
        trials=trials,
        ridge_penalty=lam,
        eigenvalues=tuple(float(t) for t in spectrum.eigenvalues),
        feature_counts=tuple(int(c) for c in design.counts),
        bias=b_mean,
        variance=v_mean,
        risk=r_mean,
        test_mse=r_mean + s2,
        train_error=t_mean,
        bias_standard_error=b_se,
        variance_standard_error=v_se,
        risk_standard_error=r_se,
        test_mse_standard_error=r_se.copy(),
        train_error_standard_error=t_se,
        seed_entropy=int(entropy) if isinstance(entropy, int) else None,
        reference=REFERENCE,
    )


# --- Simulation-job kind `linear_ridge` (solvers.montecarlo.engine) -----------------------------

_RIDGE_QUANTITIES = ("bias", "variance", "risk", "test_mse", "train_error")


def linear_ridge_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    ridge_penalty,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    eigenvalues=None,
    weights=None,
    signal_weights=None,
) -> TrialDraw:
    """One draw of (X, β) of :func:`simulate_ridge_regression` (its :meth:`_RidgeDesign.draw`).

    Returns, for each ridge penalty λ in order, the exact conditional (given X) bias, variance,
    risk = bias + variance, test MSE = risk + σ² and expected training error (Hastie et al. 2022 §2;
    docs/methods/linear_ridge.md §1, §7).
    """
    lam = at_most_points("ridge_penalty", ridge_penalty)
    design = _RidgeDesign.of(n_features, population_spectrum(eigenvalues, weights, signal_weights), signal_strength)
    bias, variance, train = design.draw(rng, n_samples, lam, noise_variance)
    risk = bias + variance
    values = np.stack([bias, variance, risk, risk + noise_variance, train], axis=1)  # (λ, quantity)
    return TrialDraw(values=values.reshape(-1))


def linear_ridge_prediction(
    *,
    n_features: int,
    n_samples: int,
    ridge_penalty,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    eigenvalues=None,
    weights=None,
    signal_weights=None,
) -> SimulationPrediction:
    """Limiting bias, variance, risk, test MSE and training error at γ = p/n for each λ.

    :func:`solvers.linear_regression.ridge_regression_risk` (Hastie, Montanari, Rosset & Tibshirani
    2022; Dobriban & Wager 2018; docs/methods/linear_ridge.md).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    lam = at_most_points("ridge_penalty", ridge_penalty)
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
    notes = (
        f"Predicted at the simulated ratio p/n = {n_features}/{n_samples} = {n_features / n_samples:.6g}.",
        *law.notes,
    )
    return SimulationPrediction(
        names=names, values=values.reshape(-1), cdf_grid=None, cdf=None, reference=law.reference, notes=notes
    )
