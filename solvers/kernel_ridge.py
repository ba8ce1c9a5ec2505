"""Train and test MSE of kernel ridge regression in the proportional regime.

Kernel ridge on the scikit-learn convention: α = (K + nλI)⁻¹y (``KernelRidge(alpha=nλ)``), prediction
f(x) = Σ_i α_i K(x, x_i), for x_i ~ N(0, I_p) and the linear teacher y = xᵀβ + ε, ‖β‖² = r²,
ε ~ N(0, σ²) (the model of ``/v1/predictions/linear-ridge``), or x = Σ^{1/2}z with β in a uniformly
random direction.

By El Karoui's linearisation K = βG + γI + low rank + o(1) (G = XXᵀ/p, see
:mod:`solvers.kernel_spectrum`), kernel ridge is linear ridge with the effective per-sample penalty

    μ = c (γ + nλ)/β,

the kernel's nonlinear part γ acting as an implicit ridge (Liang & Rakhlin 2020, Ann. Statist. 48(3),
Sec. 3; Bartlett, Montanari & Rakhlin 2021, Acta Numerica 30, Sec. 4.3). With a linear teacher the
nonlinear part adds no error term at test points. The training residual is y − Kα = nλα, which gives
train MSE = (nλ/(γ + nλ))² × (linear-ridge training error at μ). Derivation:
docs/derivations/kernel_ridge_regression.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solvers import _validation as v
from solvers._results import Diagnostics
from solvers.exceptions import InvalidParameterError
from solvers.kernels import Kernel, kernel_profile
from solvers.linear_regression import optimal_ridge_penalty, ridge_regression_risk

__all__ = ["KernelRidgePrediction", "kernel_ridge_risk"]

REFERENCE = (
    "El Karoui (2010), Ann. Statist. 38(1), Thms 2.1-2.2 (linearisation); Liang & Rakhlin (2020), Ann. Statist. 48(3), "
    "Sec. 3, and Bartlett, Montanari & Rakhlin (2021), Acta Numerica 30, Sec. 4.3 (kernel ridge = linear ridge with "
    "the implicit penalty); Hastie, Montanari, Rosset & Tibshirani (2022), Ann. Statist. 50(2) (linear ridge); "
    "docs/derivations/kernel_ridge_regression.md"
)


@dataclass(frozen=True, slots=True)
class KernelRidgePrediction:
    """Limiting train and test MSE of kernel ridge on the grid ratio × ridge_penalty (ratio-major).

    Attributes
    ----------
    ratio, ridge_penalty
        c = p/n (G,) and λ ≥ 0 (L,), as given.
    n_samples
        n (the penalty enters as nλ).
    train_mse, test_mse
        (G, L): E(1/n)‖y − Kα‖² and E(y − f(x))² (noise included); ``nan`` where undefined (see notes).
    effective_ridge
        (G, L): μ = c(γ + nλ)/β, the linear-ridge penalty kernel ridge reduces to.
    optimal_ridge_penalty, optimal_test_mse
        (G,): λ* ≥ 0 minimising the test MSE (λ* = max(0, (βσ²/r² − γ)/n), from μ* = σ²c/r²) and the MSE there;
        ``nan`` when r² = 0 (λ → ∞ is optimal) or β ≤ 0.
    slope, shift
        β and γ of the linearisation.
    diagnostics
        Closed forms: 0 iterations.
    notes
        Remarks (a reflected or vanishing linear part, ridgeless limits).
    reference
        Papers and the derivation.
    """

    ratio: np.ndarray
    ridge_penalty: np.ndarray
    n_samples: int
    train_mse: np.ndarray
    test_mse: np.ndarray
    effective_ridge: np.ndarray
    optimal_ridge_penalty: np.ndarray
    optimal_test_mse: np.ndarray
    slope: float
    shift: float
    diagnostics: Diagnostics
    notes: tuple[str, ...]
    reference: str = REFERENCE


def _grid(name: str, values, *, allow_zero: bool) -> np.ndarray:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if array.ndim != 1 or array.size == 0:
        raise InvalidParameterError(name, f"`{name}` must be a non-empty 1-D list of numbers.")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or (not allow_zero and np.any(array == 0)):
        bound = "≥ 0" if allow_zero else "> 0"
        raise InvalidParameterError(name, f"`{name}` values must be finite and {bound}.")
    return array


def kernel_ridge_risk(
    *,
    kernel: Kernel,
    ratio,
    ridge_penalty,
    n_samples: int,
    signal_strength: float,
    noise_variance: float,
    eigenvalues=None,
    weights=None,
) -> KernelRidgePrediction:
    """Limiting train and test MSE of kernel ridge regression α = (K + nλI)⁻¹y.

    Parameters
    ----------
    kernel
        A :class:`solvers.kernels.Kernel`.
    ratio
        c = p/n > 0, 1-D.
    ridge_penalty
        λ ≥ 0 per sample (scikit-learn ``alpha`` = nλ), 1-D; 0 is the ridgeless limit λ → 0⁺.
    n_samples
        n: the penalty on K's O(1) spectrum is nλ, so the answer depends on n through nλ.
    signal_strength, noise_variance
        r² = ‖β‖² and σ².
    eigenvalues, weights
        Spectrum of the covariance Σ of x (x = Σ^{1/2}z, β in a uniformly random direction); ``None``
        for isotropic x.

    Returns
    -------
    KernelRidgePrediction

    Notes
    -----
    μ = c(γ + nλ)/β with β = ∂h/∂t, γ = h(τ,τ,τ) − h(τ,τ,0) − τβ at τ = tr Σ/p (El Karoui 2010, Thm 2.1–2.2;
    Liang & Rakhlin 2020, Sec. 3; Bartlett, Montanari & Rakhlin 2021, Sec. 4.3); test MSE = linear-ridge
    test MSE at μ (Hastie et al. 2022, ridge counterpart of Thm 1); train MSE = (nλ/(γ + nλ))² × the
    linear-ridge training error at μ. β = 0: the predictor is constant, test MSE r² + σ².
    """
    if not isinstance(kernel, Kernel):
        raise InvalidParameterError("kernel", f"`kernel` must be a Kernel, got {type(kernel).__name__}.")
    c = _grid("ratio", ratio, allow_zero=False)
    lam = _grid("ridge_penalty", ridge_penalty, allow_zero=True)
    n = v.positive_int("n_samples", n_samples)
    r2 = v.non_negative("signal_strength", signal_strength)
    s2 = v.non_negative("noise_variance", noise_variance)
    population = {}
    tau = 1.0
    if eigenvalues is not None or weights is not None:
        t = v.finite_array("eigenvalues", eigenvalues)
        w = v.finite_array("weights", weights)
        if t.size == 0 or t.size != w.size or np.any(t <= 0) or np.any(w <= 0) or abs(w.sum() - 1.0) > 1e-9:
            raise InvalidParameterError(
                "weights", "`eigenvalues` > 0 and `weights` > 0 must have the same length, weights summing to 1."
            )
        population = {"eigenvalues": t, "weights": w}
        tau = float(np.dot(w, t))
    profile = kernel_profile(kernel, tau=tau)
    beta = profile.d_inner
    gamma = profile.diagonal - profile.value - tau * beta
    notes: list[str] = []
    shape = (c.size, lam.size)
    ridge = n * lam[None, :] + gamma  # γ + nλ
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(ridge != 0, n * lam[None, :] / ridge, 1.0) * np.ones(shape)
    if gamma < 0 and np.any(ridge <= 0):
        notes.append(f"γ = {gamma:.6g} < 0: K + nλI is singular or indefinite for nλ ≤ −γ; those points are null.")
    if beta > 0:
        mu = c[:, None] * ridge / beta
        bad = mu < 0
        test = np.empty(shape)
        train = np.empty(shape)
        for i in range(c.size):  # one closed-form call per ratio, vectorised over the penalties
            linear = ridge_regression_risk(
                ratio=[c[i]], ridge_penalty=np.maximum(mu[i], 0.0), signal_strength=r2, noise_variance=s2, **population
            )
            test[i], train[i] = linear.test_mse[0], factor[i] ** 2 * linear.train_error[0]
            notes.extend(linear.notes)
        test[bad] = np.nan
        train[bad] = np.nan
        optimum = optimal_ridge_penalty(ratio=c, signal_strength=r2, noise_variance=s2, **population)
        mu_star = optimum.ridge_penalty
        lam_star = np.maximum((beta * mu_star / c - gamma) / n, 0.0)
        at = optimal_ridge_penalty_test(c, c * (gamma + n * lam_star) / beta, r2, s2, population)
        best = np.where(np.isnan(mu_star), np.nan, lam_star)
        best_mse = np.where(np.isnan(mu_star), optimum.test_mse, at)
        if np.any(beta * np.nan_to_num(mu_star, nan=np.inf) / c < gamma):
            notes.append(
                "Where the kernel's implicit penalty cγ/β already exceeds the optimal linear penalty σ²c/r², λ* = 0 (ridgeless)."
            )
    else:
        mu = np.full(shape, np.nan)
        if beta == 0:
            notes.append(
                "∂h/∂t = 0: the kernel has no linear part in this regime and the predictor is constant (test MSE r² + σ²)."
            )
            test = np.full(shape, r2 + s2)
            train = factor**2 * (r2 + s2)
            best = np.full(c.size, np.nan)
            best_mse = np.full(c.size, r2 + s2)
        else:
            notes.append(
                "∂h/∂t < 0 (e.g. a distance kernel with increasing f): K is not a ridge smoother of the data; no prediction."
            )
            test = train = np.full(shape, np.nan)
            best = best_mse = np.full(c.size, np.nan)
    if gamma < 0:
        nonpositive = ridge <= 0
        test = np.where(nonpositive, np.nan, test)
        train = np.where(nonpositive, np.nan, train)
    if np.any(lam == 0) and gamma > 0:
        notes.append(
            "λ = 0: K is invertible (γ > 0), kernel ridge interpolates (train MSE 0) with the implicit penalty cγ/β."
        )
    return KernelRidgePrediction(
        ratio=c,
        ridge_penalty=lam,
        n_samples=n,
        train_mse=train,
        test_mse=test,
        effective_ridge=mu,
        optimal_ridge_penalty=best,
        optimal_test_mse=best_mse,
        slope=beta,
        shift=gamma,
        diagnostics=Diagnostics(iterations=0, residual=0.0, converged=True),
        notes=tuple(dict.fromkeys(notes)),
    )


def optimal_ridge_penalty_test(c: np.ndarray, mu: np.ndarray, r2: float, s2: float, population: dict) -> np.ndarray:
    """Linear-ridge test MSE at per-ratio penalties μ (one penalty per ratio)."""
    out = np.empty(c.size)
    for i in range(c.size):
        if not math.isfinite(mu[i]):
            out[i] = math.nan
            continue
        out[i] = ridge_regression_risk(
            ratio=[c[i]], ridge_penalty=[mu[i]], signal_strength=r2, noise_variance=s2, **population
        ).test_mse[0, 0]
    return out
