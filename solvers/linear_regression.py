"""Limiting risk of ridge and ridgeless (min-norm) linear regression.

Conventions follow ``docs/methods/linear_ridge.md``: the design ``X`` is ``n × p`` (rows are samples),
``x = Σ^{1/2} z``, ``y = xᵀβ + ε`` with Var ε = σ² (``noise_variance``), ``r² = ‖β‖²``
(``signal_strength``), ``ratio`` γ = p/n, and the ridge estimator uses the *per-sample* penalty

    β̂_λ = ((1/n) XᵀX + λ I)⁻¹ (1/n) Xᵀ y,     β̂_0 = X⁺ y = lim_{λ→0⁺} β̂_λ

(scikit-learn ``Ridge(alpha)`` has α = nλ). This module keeps Hastie et al.'s letters: γ = p/n
(the API's ratio c) and λ (the API's ridge penalty γ). The population spectrum of Σ is the discrete law
H = Σ_k w_k δ_{t_k} (``eigenvalues``, ``weights``); ``signal_weights`` b_k is the fraction of r²
lying in the eigenspace of t_k. "risk" is Hastie et al.'s excess risk (without σ²); "test_mse"
adds σ².

Every quantity is evaluated through the *effective ridge* κ > 0, the root of
λ = κ (1 − γ Σ_k w_k t_k / (t_k + κ)) (docs/methods/linear_ridge.md §4), and the ratio λ/κ = 1 − df₁/n. With
ρ_k = κ/(t_k + κ) and τ_k = t_k/(t_k + κ) (both in [0, 1], no overflow for any λ):

    1 − df₂/n = λ/κ + γ Σ_k w_k τ_k ρ_k                  (a sum of non-negative terms)
    B = r² Σ_k b_k t_k ρ_k² / (1 − df₂/n),   V = σ² γ Σ_k w_k τ_k² / (1 − df₂/n),
    E_train = (λ/κ)² (B + V + σ²).

This is docs/methods/linear_ridge.md §4 with the denominator 1 − df₂/n rewritten with the κ equation
(df₁ − df₂ = γ Σ w τ ρ): the direct forms 1 − df₂/n, (1 + κ)² − γ or m − λm' subtract numbers of
comparable size (docs/methods/linear_ridge.md §6 measures a 3e-6 relative error of the p-side form at γ = 10,
λ = 1e-10), whereas this one never subtracts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from solvers._results import Diagnostics, combine_diagnostics
from solvers._validation import finite_array, non_negative
from solvers.exceptions import ConvergenceError, InvalidParameterError

REFERENCE = (
    "Hastie, Montanari, Rosset & Tibshirani (2022), Ann. Statist. 50(2):949-986 "
    "(arXiv:1903.08560): Thm 1 (isotropic min-norm), Thm 2 (general-Σ min-norm) and the ridge "
    "counterparts; Dobriban & Wager (2018), Ann. Statist. 46(1):247-279 (ridge risk for general Σ); "
    "formulas as in docs/methods/linear_ridge.md §2-§5"
)

OPTIMAL_REFERENCE = (
    "Dobriban & Wager (2018), Ann. Statist. 46(1):247-279 (optimal penalty γ* = cσ²/r² when β is spread "
    "like Σ's spectrum); Hastie, Montanari, Rosset & Tibshirani (2022), Ann. Statist. 50(2):949-986; "
    "docs/methods/linear_ridge.md §2 (closed form) and §4 (general Σ, numerical minimisation)"
)

_SUM_TOLERANCE = 1e-9
# κ solver (docs/methods/linear_ridge.md §6: solve in log κ with a relative tolerance).
_KAPPA_MAX_ITERATIONS = 200
_KAPPA_LOG_TOLERANCE = 1e-15
_DIVERGENT_NOTE = (
    "ridgeless limit (ridge_penalty = 0) at ratio = 1 diverges: the variance grows like "
    "σ²/(2√γ) as γ → 0⁺ (docs/methods/linear_ridge.md §2, §6), so `variance`, `risk` and `test_mse` are nan there; "
    "`bias`, `train_error` and `effective_ridge` are their finite limits (0)."
)


@dataclass(frozen=True, slots=True)
class PopulationSpectrum:
    """Validated population spectrum (``isotropic`` when Σ = I)."""

    eigenvalues: np.ndarray
    weights: np.ndarray
    signal_weights: np.ndarray
    isotropic: bool


@dataclass(frozen=True, slots=True)
class RidgeRiskPrediction:
    """Limiting risk of ridge / ridgeless regression on the grid ``ratio × ridge_penalty``.

    Every 2-D array has shape ``(len(ratio), len(ridge_penalty))`` and is ratio-major:
    entry ``[i, j]`` is for ``ratio[i]`` and ``ridge_penalty[j]``.

    Attributes
    ----------
    ratio
        γ = p/n, shape ``(G,)``, as given.
    ridge_penalty
        Per-sample penalty λ ≥ 0, shape ``(L,)``, as given; 0 means the min-norm limit λ → 0⁺.
    bias
        B = ‖E[β̂ | X] − β‖²_Σ (limit), shape ``(G, L)``.
    variance
        V = tr(Σ Cov(β̂ | X)) (limit), shape ``(G, L)``; ``nan`` where it diverges.
    risk
        Excess risk R = B + V (Hastie et al.'s "risk", without σ²), shape ``(G, L)``.
    test_mse
        R + σ², shape ``(G, L)``.
    train_error
        E_ε[(1/n)‖y − Xβ̂‖²] (limit) = (λ/κ)² (R + σ²), shape ``(G, L)``.
    effective_ridge
        κ = 1/m̲(−λ) (companion Stieltjes transform), shape ``(G, L)``; for λ = 0 it is 0 when
        γ ≤ 1 and the root κ₀ of γ Σ w t/(t + κ₀) = 1 when γ > 1.
    diagnostics
        Worst point of the κ solve: iterations (max), residual (max |1 − γΣ w t/(t+κ) − λ/κ|,
        the κ equation divided by κ), converged. The isotropic case is closed form
        (0 iterations, residual of the closed form).
    notes
        Why some entries are ``nan`` (empty when none are).
    point_notes
        Per ``[i][j]``: why the risk has no finite value there (``notes``, or "the limit diverges
        here"), ``None`` where it is finite.
    reference
        Papers and equations of the formulas.
    """

    ratio: np.ndarray
    ridge_penalty: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    risk: np.ndarray
    test_mse: np.ndarray
    train_error: np.ndarray
    effective_ridge: np.ndarray
    diagnostics: Diagnostics
    notes: tuple[str, ...]
    point_notes: tuple[tuple[str | None, ...], ...]
    reference: str = REFERENCE


@dataclass(frozen=True, slots=True)
class OptimalRidgePenalty:
    """Risk-minimising ridge penalty per ratio.

    Attributes
    ----------
    ratio
        γ = p/n, shape ``(G,)``.
    ridge_penalty
        λ* ≥ 0 minimising the limiting risk over λ ∈ [0, ∞), shape ``(G,)``. ``nan`` (with a note)
        where the infimum is only reached as λ → ∞ (``signal_strength`` = 0: β̂ = 0 is optimal).
    risk
        Excess risk at λ* (its λ → ∞ limit where λ* is ``nan``), shape ``(G,)``.
    test_mse
        ``risk`` + σ², shape ``(G,)``.
    diagnostics
        Closed form: 0 iterations. General Σ: iterations = largest number of risk evaluations of
        one bounded minimisation, residual = largest κ-equation residual, converged = every
        minimisation and κ solve succeeded.
    notes
        Special cases met (λ* = 0, λ* = ∞, any λ optimal).
    reference
        Papers and equations.
    """

    ratio: np.ndarray
    ridge_penalty: np.ndarray
    risk: np.ndarray
    test_mse: np.ndarray
    diagnostics: Diagnostics
    notes: tuple[str, ...]
    reference: str = OPTIMAL_REFERENCE


# --------------------------------------------------------------------------------------------
# validation


def _grid(name: str, values, *, allow_zero: bool) -> np.ndarray:
    """A non-empty 1-D float grid (a scalar counts as length 1), > 0 or >= 0."""
    array = finite_array(name, np.atleast_1d(np.asarray(values, dtype=np.float64)))
    if array.size == 0:
        raise InvalidParameterError(name, f"`{name}` must not be empty.")
    bad = array < 0 if allow_zero else array <= 0
    if np.any(bad):
        rule = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(name, f"`{name}` must be {rule}, got {float(array[bad][0])!r}.")
    return array


def _distribution(name: str, values, size: int, *, strictly_positive: bool) -> np.ndarray:
    """Probability weights of the given length, summing to 1 within 1e-9."""
    array = finite_array(name, np.atleast_1d(np.asarray(values, dtype=np.float64)))
    if array.size != size:
        raise InvalidParameterError(
            name, f"`{name}` must have the same length as `eigenvalues` ({size}), got {array.size}."
        )
    bad = array <= 0 if strictly_positive else array < 0
    if np.any(bad):
        rule = "> 0" if strictly_positive else ">= 0"
        raise InvalidParameterError(name, f"`{name}` must be {rule}, got {float(array[bad][0])!r}.")
    total = float(array.sum())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise InvalidParameterError(name, f"`{name}` must sum to 1 (within 1e-9), got {total!r}.")
    return array / total


def population_spectrum(eigenvalues, weights, signal_weights) -> PopulationSpectrum:
    """Validate (eigenvalues, weights, signal_weights); Σ = I when ``eigenvalues`` is None."""
    if eigenvalues is None:
        for name, value in (("weights", weights), ("signal_weights", signal_weights)):
            if value is not None:
                raise InvalidParameterError(name, f"`{name}` requires `eigenvalues` (Σ = I when they are omitted).")
        one = np.ones(1)
        return PopulationSpectrum(one, one, one, True)
    t = _grid("eigenvalues", eigenvalues, allow_zero=False)
    w = (
        np.full(t.size, 1.0 / t.size)
        if weights is None
        else _distribution("weights", weights, t.size, strictly_positive=True)
    )
    b = (
        w
        if signal_weights is None
        else _distribution("signal_weights", signal_weights, t.size, strictly_positive=False)
    )
    return PopulationSpectrum(t, w, b, False)


# --------------------------------------------------------------------------------------------
# effective ridge κ


def _kappa_isotropic(gamma: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """κ and λ/κ for Σ = I in closed form (docs/methods/linear_ridge.md §2: κ = 1/v(−λ)).

    κ is the positive root of κ² + a'κ − λ = 0, a' = 1 − γ − λ. The two algebraically equal
    root formulas are picked by the sign of a' so that nothing cancels (the v-form of docs/methods/linear_ridge.md §2):
    a' > 0: κ = 2λ/(a' + s), λ/κ = (a' + s)/2;  a' ≤ 0: κ = (s − a')/2, λ/κ = 2λ/(s − a'),
    with s = √(a'² + 4λ) evaluated by ``hypot`` (no overflow). At λ = 0 this gives κ = 0,
    λ/κ = 1 − γ for γ < 1 and κ = γ − 1, λ/κ = 0 for γ > 1; γ = 1, λ = 0 gives 0, 0/0 and is
    handled by the caller.
    """
    a = (1.0 - gamma) - lam
    s = np.hypot(a, 2.0 * np.sqrt(lam))
    positive = a > 0
    plus = np.where(positive, a + s, 1.0)  # > 0 where used
    minus = np.where(positive, 1.0, s - a)  # > 0 where used (s − a ≥ 2|a| > 0 unless a = λ = 0)
    safe_minus = np.where(minus > 0, minus, 1.0)
    kappa = np.where(positive, 2.0 * lam / plus, 0.5 * minus)
    lam_over_kappa = np.where(positive, 0.5 * plus, np.where(minus > 0, 2.0 * lam / safe_minus, 0.0))
    return kappa, lam_over_kappa


def _kappa_general(
    gamma: np.ndarray, lam: np.ndarray, spectrum: PopulationSpectrum
) -> tuple[np.ndarray, np.ndarray, Diagnostics]:
    """κ and λ/κ for a discrete spectrum, all points at once (docs/methods/linear_ridge.md §4, §6).

    Solves g(u) = (1 − γ) + γ Σ_k w_k κ/(t_k + κ) − λ/κ = 0 for u = log κ, κ = e^u: g is increasing in u
    with g' = γ Σ w t κ/(t + κ)² + λ/κ > 0. Safeguarded Newton: each point keeps a bracket
    [log lo, log hi] with g(lo) ≤ 0 ≤ g(hi) — lo = max(λ, (γ − 1) t_min) (κ > λ; κ ≥ κ₀ ≥ (γ − 1)t_min
    when γ > 1), hi = λ + γ h₁ — updated by the sign of g; a Newton step leaving the bracket is
    replaced by bisection in log κ. Points with λ = 0 and γ ≤ 1 have κ = 0 (λ/κ → 1 − γ, or 0 at γ = 1).
    """
    gamma, lam = np.broadcast_arrays(gamma, lam)
    t, w = spectrum.eigenvalues, spectrum.weights
    kappa = np.zeros(gamma.shape)
    lam_over_kappa = np.where(gamma < 1.0, 1.0 - gamma, 0.0)
    active = (lam > 0) | (gamma > 1.0)
    if not np.any(active):
        return kappa, lam_over_kappa, Diagnostics(iterations=0, residual=0.0, converged=True)

    g_act, l_act = gamma[active], lam[active]
    lo = np.maximum(l_act, np.maximum(g_act - 1.0, 0.0) * t.min())
    hi = l_act + g_act * float(np.dot(w, t))
    u_lo, u_hi = np.log(lo), np.log(hi)
    # Start from the isotropic closed form at the scale h₁ (right to O(1) in log κ for every λ),
    # so that Newton does not creep (one unit of log κ per step) across a huge bracket.
    h1 = float(np.dot(w, t))
    guess, _ = _kappa_isotropic(g_act, l_act / h1)
    u = np.clip(np.log(np.maximum(guess * h1, np.finfo(float).tiny)), u_lo, u_hi)
    done = np.zeros(u.shape, dtype=bool)

    def g_and_slope(u_values, gam, lm):
        k = np.exp(u_values)[:, None]
        tau = t / (t + k)  # t/(t+κ)
        rho = k / (t + k)  # κ/(t+κ)
        lok = lm / k[:, 0]
        # 1 − γΣ w t/(t+κ) = (1 − γ) + γΣ w κ/(t+κ): the second form for γ < 2 (1 − γ is exact
        # there and nothing of size 1 cancels when κ ≪ t, i.e. γ ≈ 1 and tiny λ), the first for
        # γ ≥ 2 (where 1 − γ and γΣ w κ/(t+κ) would cancel to O(1/γ)).
        g = np.where(gam < 2.0, (1.0 - gam) + gam * (rho @ w), 1.0 - gam * (tau @ w)) - lok
        slope = gam * ((tau * rho) @ w) + lok
        return g, slope

    iterations = 0
    for iterations in range(1, _KAPPA_MAX_ITERATIONS + 1):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            iterations -= 1
            break
        g, slope = g_and_slope(u[idx], g_act[idx], l_act[idx])
        u_lo[idx] = np.where(g < 0, u[idx], u_lo[idx])
        u_hi[idx] = np.where(g > 0, u[idx], u_hi[idx])
        newton = u[idx] - g / slope
        inside = (newton >= u_lo[idx]) & (newton <= u_hi[idx])
        new = np.where(inside, newton, 0.5 * (u_lo[idx] + u_hi[idx]))
        new = np.where(g == 0, u[idx], new)
        step = np.abs(new - u[idx])
        u[idx] = new
        # |Δ log κ| is the relative change of κ; the floor 2 eps |u| bounds the spacing of doubles at u.
        tolerance = np.maximum(_KAPPA_LOG_TOLERANCE, 2.0 * np.finfo(float).eps * np.abs(new))
        done[idx] = (step <= tolerance) | (u_hi[idx] - u_lo[idx] <= tolerance)

    g, _ = g_and_slope(u, g_act, l_act)
    residual = float(np.max(np.abs(g)))
    converged = bool(np.all(done))
    if not converged:
        raise ConvergenceError(
            "the effective-ridge equation of docs/methods/linear_ridge.md §4 did not converge.",
            iterations=iterations,
            residual=residual,
        )
    k_act = np.exp(u)
    kappa[active] = k_act
    lam_over_kappa[active] = l_act / k_act
    return kappa, lam_over_kappa, Diagnostics(iterations=iterations, residual=residual, converged=True)


# --------------------------------------------------------------------------------------------
# risk on a grid


@dataclass(frozen=True, slots=True)
class _Risk:
    bias: np.ndarray
    variance: np.ndarray
    train_error: np.ndarray
    kappa: np.ndarray
    diagnostics: Diagnostics
    divergent: np.ndarray


def _risk(gamma: np.ndarray, lam: np.ndarray, spectrum: PopulationSpectrum, r2: float, s2: float) -> _Risk:
    """Bias, variance, training error and κ on broadcast (gamma, lam) arrays (no validation)."""
    gamma, lam = np.broadcast_arrays(np.asarray(gamma, float), np.asarray(lam, float))
    singular = (lam == 0) & (gamma == 1.0)
    if spectrum.isotropic:
        kappa, lok = _kappa_isotropic(gamma, lam)
        kappa = np.where(singular, 0.0, kappa)
        lok = np.where(singular, 0.0, lok)
        tau = 1.0 / (1.0 + kappa)
        rho = kappa / (1.0 + kappa)
        residual = np.abs(1.0 - gamma * tau - lok)
        diagnostics = Diagnostics(iterations=0, residual=float(np.max(residual)), converged=True)
        # B = r²κ²/((1+κ)² − γ), V = σ²γ/((1+κ)² − γ) (docs/methods/linear_ridge.md §2), divided through by (1+κ)².
        denominator = lok + gamma * tau * rho
        bias_numerator = r2 * rho**2
        variance_numerator = s2 * gamma * tau**2
    else:
        kappa, lok, diagnostics = _kappa_general(gamma, lam, spectrum)
        t, w, b = spectrum.eigenvalues, spectrum.weights, spectrum.signal_weights
        k = kappa[..., None]
        tau = t / (t + k)
        rho = k / (t + k)
        denominator = lok + gamma * ((tau * rho) @ w)  # 1 − df₂/n
        bias_numerator = r2 * ((rho**2) @ (b * t))
        variance_numerator = s2 * gamma * ((tau**2) @ w)  # σ² df₂/n
    safe = np.where(singular, 1.0, denominator)
    bias = np.where(singular, 0.0, bias_numerator / safe)
    divergent = singular & (s2 > 0)
    variance = np.where(singular, np.where(divergent, np.nan, 0.0), variance_numerator / safe)
    finite_total = np.where(divergent, 0.0, bias + variance)
    train = np.where(singular, 0.0, lok**2 * (finite_total + s2))
    return _Risk(bias, variance, train, kappa, diagnostics, divergent)


def ridge_regression_risk(
    *,
    ratio,
    ridge_penalty,
    signal_strength: float,
    noise_variance: float,
    eigenvalues=None,
    weights=None,
    signal_weights=None,
) -> RidgeRiskPrediction:
    """Limiting bias, variance, risk and training error of ridge / min-norm regression.

    Evaluates every combination of ``ratio`` × ``ridge_penalty`` (outer product, ratio-major).
    Isotropic features (``eigenvalues`` None) use the closed forms of Hastie et al. (2022)
    (ridge counterpart of their Thm 1) as written in docs/methods/linear_ridge.md §2:
    B = r²κ²/((1+κ)² − γ), V = σ²γ/((1+κ)² − γ), E_train = (λ/κ)²(R + σ²), κ = 1/v(−λ);
    at λ = 0 they reduce to Hastie et al. Thm 1 (docs/methods/linear_ridge.md §3):
    R₀ = σ²γ/(1 − γ) for γ < 1 and r²(1 − 1/γ) + σ²/(γ − 1) for γ > 1.
    General Σ (Dobriban & Wager 2018; Hastie et al. 2022, Thm 2 for λ = 0) follows
    docs/methods/linear_ridge.md §4: κ solves λ = κ(1 − γ Σ_k w_k t_k/(t_k + κ)) and
    B = κ²r² Σ_k b_k t_k/(t_k + κ)² / (1 − df₂/n), V = σ² (df₂/n)/(1 − df₂/n),
    E_train = (1 − df₁/n)²(B + V + σ²).
    Both are evaluated in a cancellation-free form (module docstring; docs/methods/linear_ridge.md §6).

    Parameters
    ----------
    ratio
        γ = p/n > 0, 1-D (a scalar is a grid of one point).
    ridge_penalty
        Per-sample ridge penalty λ ≥ 0 (docs/methods/linear_ridge.md §1 convention; scikit-learn alpha = nλ), 1-D.
        λ = 0 is the min-norm (ridgeless) limit λ → 0⁺.
    signal_strength
        r² = ‖β‖² ≥ 0 (not βᵀΣβ).
    noise_variance
        σ² ≥ 0 of the label noise.
    eigenvalues
        Distinct (or repeated) population eigenvalues t_k > 0 of Σ; ``None`` for Σ = I.
    weights
        Fractions w_k > 0 of the p features with eigenvalue t_k, summing to 1 (within 1e-9);
        default uniform over ``eigenvalues``.
    signal_weights
        Fractions b_k ≥ 0 of r² in the eigenspace of t_k, summing to 1 (within 1e-9); default
        ``weights`` (β in a uniformly random direction).

    Returns
    -------
    RidgeRiskPrediction
        Arrays of shape ``(len(ratio), len(ridge_penalty))``. At λ = 0 and γ = 1 (no finite limit
        when σ² > 0) ``variance``, ``risk`` and ``test_mse`` are ``nan`` and ``notes`` says why.

    Raises
    ------
    InvalidParameterError
        A parameter is outside its domain (the message names it).
    ConvergenceError
        The κ equation did not converge (not expected: the solver is bracketed).
    """
    gamma = _grid("ratio", ratio, allow_zero=False)
    lam = _grid("ridge_penalty", ridge_penalty, allow_zero=True)
    r2 = non_negative("signal_strength", signal_strength)
    s2 = non_negative("noise_variance", noise_variance)
    spectrum = population_spectrum(eigenvalues, weights, signal_weights)

    result = _risk(gamma[:, None], lam[None, :], spectrum, r2, s2)
    risk = result.bias + result.variance
    notes = (_DIVERGENT_NOTE,) if np.any(result.divergent) else ()
    divergence = "; ".join(notes) or "the limit diverges here"
    point_notes = tuple(tuple(None if math.isfinite(r) else divergence for r in row) for row in risk.tolist())
    return RidgeRiskPrediction(
        ratio=gamma,
        ridge_penalty=lam,
        bias=result.bias,
        variance=result.variance,
        risk=risk,
        test_mse=risk + s2,
        train_error=result.train_error,
        effective_ridge=result.kappa,
        diagnostics=result.diagnostics,
        notes=notes,
        point_notes=point_notes,
    )


# --------------------------------------------------------------------------------------------
# optimal penalty


def _mp_stieltjes_left(gamma: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """m(−λ) of MP (σ² = 1, ratio γ) for λ > 0, cancellation-free (docs/methods/spectra.md §1.2; docs/methods/linear_ridge.md §2)."""
    a = 1.0 - gamma + lam
    s = np.hypot(a, 2.0 * np.sqrt(gamma * lam))
    positive = a > 0
    return np.where(
        positive,
        2.0 / np.where(positive, a + s, 1.0),
        (s - a) / np.where(positive, 1.0, 2.0 * gamma * lam),
    )


# Coarse search grid for the general-Σ optimum: decades around the natural scales, then a
# bounded Brent refinement in log λ between the neighbours of the best grid point.
_SEARCH_DECADES = 10
_SEARCH_POINTS_PER_DECADE = 8
_SEARCH_XATOL = 1e-10


def optimal_ridge_penalty(
    *,
    ratio,
    signal_strength: float,
    noise_variance: float,
    eigenvalues=None,
    weights=None,
    signal_weights=None,
) -> OptimalRidgePenalty:
    """Risk-minimising per-sample ridge penalty λ* ≥ 0 and the risk there, per ratio.

    Isotropic features: λ* = σ²γ/r² with R(λ*) = σ²γ m(−λ*) (Dobriban & Wager 2018; Hastie et al.
    2022; docs/methods/linear_ridge.md §2), m the Marchenko–Pastur Stieltjes transform (ratio γ, unit variance).
    General Σ: minimise the risk of docs/methods/linear_ridge.md §4 over λ ∈ [0, ∞) — a vectorised coarse grid in log λ
    (10 decades on each side of the scales t_min, t_max and σ²γ/r², 8 points per decade, plus
    λ = 0), then ``scipy.optimize.minimize_scalar(method="bounded")`` in log λ between the
    neighbours of the best grid point; λ = 0 is kept when it is at least as good.
    (When b = w the optimum is σ²γ/r² for any Σ, Dobriban & Wager 2018.)

    Special cases (both paths): r² = 0 < σ² → the infimum is reached only as λ → ∞ (β̂ = 0):
    ``ridge_penalty`` is ``nan`` with a note, ``risk`` = 0 (the limit). σ² = 0 < r² (isotropic) →
    λ* = 0 (min-norm, finite also at γ = 1). r² = σ² = 0 → every λ has risk 0; λ* = 0 is reported.

    Parameters
    ----------
    ratio
        γ = p/n > 0, 1-D.
    signal_strength, noise_variance, eigenvalues, weights, signal_weights
        As in :func:`ridge_regression_risk`.

    Returns
    -------
    OptimalRidgePenalty
        Arrays of shape ``(len(ratio),)``.
    """
    gamma = _grid("ratio", ratio, allow_zero=False)
    r2 = non_negative("signal_strength", signal_strength)
    s2 = non_negative("noise_variance", noise_variance)
    spectrum = population_spectrum(eigenvalues, weights, signal_weights)

    notes: list[str] = []
    if r2 == 0 and s2 > 0:
        notes.append(
            "`signal_strength` = 0: the risk decreases to 0 as γ → ∞ (β̂ = 0 is optimal); γ* = +∞ is reported as nan."
        )
        nan = np.full(gamma.shape, np.nan)
        return OptimalRidgePenalty(
            gamma, nan, np.zeros(gamma.shape), np.full(gamma.shape, s2), Diagnostics(0, 0.0, True), tuple(notes)
        )
    if r2 == 0 and s2 == 0:
        notes.append("`signal_strength` = `noise_variance` = 0: every γ has risk 0; γ* = 0 is reported.")
        zeros = np.zeros(gamma.shape)
        return OptimalRidgePenalty(gamma, zeros, zeros, zeros.copy(), Diagnostics(0, 0.0, True), tuple(notes))

    # σ²γ/r² beyond the float64 range (a subnormal r², or σ² ≫ r²): λ* is +∞ in floating point, as
    # for r² = 0, and the risk there is its λ → ∞ limit R(∞) = ‖β‖²_Σ = r² Σ_k b_k t_k (β̂ = 0).
    with np.errstate(over="ignore"):
        beyond = ~np.isfinite(s2 * gamma / r2)
    if beyond.any():
        notes.append(
            "λ* = σ²γ/r² exceeds the float64 range (r² ≪ σ²) at ratio "
            f"{', '.join(f'{g:g}' for g in gamma[beyond])}: reported as null; the risk there is its λ → ∞ limit r² Σ_k b_k t_k."
        )
    limit_risk = r2 * float(np.sum(spectrum.signal_weights * spectrum.eigenvalues))

    if spectrum.isotropic:
        with np.errstate(over="ignore"):
            lam_star = s2 * gamma / r2
        if s2 == 0:
            notes.append("`noise_variance` = 0: γ* = 0 (the min-norm interpolator is optimal).")
            zero = _risk(gamma, np.zeros(gamma.shape), spectrum, r2, s2)
            risk = zero.bias + zero.variance
        else:
            # λ* below 1e-200 (σ² ≪ r²): m(−λ*) ~ 1/λ* would overflow; the risk there is the noiseless
            # min-norm risk up to O(√σ²), far below rounding of r².
            tiny = lam_star < 1e-200
            safe = np.where(beyond | tiny, 1.0, lam_star)
            risk = s2 * gamma * _mp_stieltjes_left(gamma, safe)
            if tiny.any():
                noiseless = _risk(gamma, np.zeros(gamma.shape), spectrum, r2, 0.0)
                risk = np.where(tiny, noiseless.bias + noiseless.variance, risk)
            risk = np.where(beyond, limit_risk, risk)
            lam_star = np.where(beyond, np.nan, lam_star)
        return OptimalRidgePenalty(gamma, lam_star, risk, risk + s2, Diagnostics(0, 0.0, True), tuple(notes))

    # General Σ: coarse vectorised scan, then one bounded Brent search per ratio.
    t = spectrum.eigenvalues
    scales = [t.min(), t.max()]
    if s2 > 0:
        with np.errstate(over="ignore", under="ignore"):
            candidates = [s2 * gamma.min() / r2, s2 * gamma.max() / r2]
        # Only representable scales: one that under- or overflows (subnormal σ² or r²) says nothing
        # about where the optimum is (λ* ≈ 0 is the grid's λ = 0; λ* = ∞ is handled below).
        scales += [v for v in candidates if 1e-300 < v < 1e300]
    lo = max(math.log10(min(scales)) - _SEARCH_DECADES, -300.0)
    hi = min(math.log10(max(scales)) + _SEARCH_DECADES, 300.0)
    count = math.ceil((hi - lo) * _SEARCH_POINTS_PER_DECADE) + 1
    grid = np.concatenate([[0.0], np.logspace(lo, hi, count)])
    scan = _risk(gamma[:, None], grid[None, :], spectrum, r2, s2)
    scan_risk = scan.bias + scan.variance  # nan only at λ = 0, γ = 1 with σ² > 0
    residual = scan.diagnostics.residual
    iterations = 0
    converged = scan.diagnostics.converged
    lam_star = np.empty(gamma.shape)
    risk = np.empty(gamma.shape)
    zero_optimal = []
    for i, g in enumerate(gamma):  # one bounded 1-D minimisation per ratio
        row = np.where(np.isnan(scan_risk[i]), np.inf, scan_risk[i])
        j = int(np.argmin(row[1:])) + 1
        left = math.log(grid[max(j - 1, 1)])
        right = math.log(grid[min(j + 1, grid.size - 1)])

        def objective(log_lam, g=g):
            point = _risk(np.array([g]), np.array([math.exp(log_lam)]), spectrum, r2, s2)
            return float(point.bias[0] + point.variance[0])

        found = minimize_scalar(
            objective, bounds=(left, right), method="bounded", options={"xatol": _SEARCH_XATOL, "maxiter": 500}
        )
        iterations = max(iterations, int(found.nfev))
        converged = converged and bool(found.success)
        best_lam, best_risk = math.exp(found.x), float(found.fun)
        if row[j] < best_risk:
            best_lam, best_risk = grid[j], float(row[j])
        # The boundary λ = 0 (min-norm) wins ties up to rounding: the smallest grid penalty is
        # ≥ 1e-10 × the scales, so a genuine interior optimum differs from R(0) by far more.
        if row[0] <= best_risk * (1.0 + 1e-12):
            best_lam, best_risk = 0.0, float(row[0])
            zero_optimal.append(float(g))
        lam_star[i], risk[i] = best_lam, best_risk
    if zero_optimal:
        notes.append(
            "γ* = 0 (the min-norm limit is optimal over γ ≥ 0; a negative penalty might do better) "
            f"at ratio {', '.join(f'{g:g}' for g in zero_optimal)}."
        )
    lam_star = np.where(beyond, np.nan, lam_star)
    risk = np.where(beyond, limit_risk, risk)
    diagnostics = Diagnostics(iterations=iterations, residual=residual, converged=converged)
    return OptimalRidgePenalty(gamma, lam_star, risk, risk + s2, diagnostics, tuple(notes))


@dataclass(frozen=True, slots=True)
class RidgeRegressionPrediction:
    """The risk on a grid of ratios × penalties and the optimal penalty per ratio, for one model.

    Attributes
    ----------
    grid
        :func:`ridge_regression_risk` on ``ratio × ridge_penalty``.
    optimal
        :func:`optimal_ridge_penalty` per ratio.
    notes
        The notes of both, each once, grid first.
    diagnostics
        Both solves summarised (most iterations, largest residual, all converged).
    reference
        Papers and equations (those of the grid).
    """

    grid: RidgeRiskPrediction
    optimal: OptimalRidgePenalty
    notes: tuple[str, ...]
    diagnostics: Diagnostics
    reference: str = REFERENCE


def ridge_regression_prediction(
    *,
    ratio,
    ridge_penalty,
    signal_strength: float,
    noise_variance: float,
    eigenvalues=None,
    weights=None,
    signal_weights=None,
) -> RidgeRegressionPrediction:
    """:func:`ridge_regression_risk` on the grid and :func:`optimal_ridge_penalty` per ratio, in one call.

    Parameters are those of :func:`ridge_regression_risk` (the optimum ignores ``ridge_penalty``).
    Hastie, Montanari, Rosset & Tibshirani (2022); Dobriban & Wager (2018); docs/methods/linear_ridge.md.
    """
    spectrum = {"eigenvalues": eigenvalues, "weights": weights, "signal_weights": signal_weights}
    common = {"signal_strength": signal_strength, "noise_variance": noise_variance, **spectrum}
    grid = ridge_regression_risk(ratio=ratio, ridge_penalty=ridge_penalty, **common)
    optimal = optimal_ridge_penalty(ratio=ratio, **common)
    return RidgeRegressionPrediction(
        grid=grid,
        optimal=optimal,
        notes=tuple(dict.fromkeys([*grid.notes, *optimal.notes])),
        diagnostics=combine_diagnostics(grid.diagnostics, optimal.diagnostics),
        reference=grid.reference,
    )
