"""Learning dynamics of gradient descent: error rates and MSE over training time.

Classification follows Liao & Couillet, ICML 2018 (arXiv:1805.11917) in the corrected real-line
form of ``docs/methods/dynamics.md`` §2 (the talk's contour version has a sign error in E_train and a
γ = 0-only V_train, docs/methods/dynamics.md §4). Regression is the same gradient flow on the linear model of
``docs/methods/linear_ridge.md``, derived in ``docs/derivations/gradient_descent_regression.md``.

Every limit is an integral of a smooth function of the spectrum of A = XXᵀ/n (Marchenko–Pastur
law μ, plus the measure ω of the classification problem). They are evaluated with
Gauss–Chebyshev nodes of the second kind and the pole subtraction of docs/methods/dynamics.md §5, vectorised over all
times at once (a nodes × times matrix per group of times with the same node count).

Node count. The time dependence enters through f_t(x + γ) = e^{-αt(x+γ)} (flow) or
(1 − α(x+γ))^k (discrete steps). In the angle variable x = centre − half·cos θ, e^{-2αt·x} has
Fourier coefficients I_n(a)/I_0(a) ≈ e^{-n²/(2a)} with a = 2αt·half, so K ≈ 4.4√a nodes resolve it to
1e-17 (a Gauss rule with K nodes integrates 2K Fourier modes). We use K = 64 + 6√a, i.e. O(√(αt))
nodes instead of the O(αt) of docs/methods/dynamics.md §5's conservative default; the tests compare with 4× more
nodes. For discrete GD every integrand is a polynomial after the pole subtraction, so K = k + 1
is exact and K never exceeds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from solvers._validation import finite_array, non_negative, positive
from solvers.exceptions import InvalidParameterError

Mode = Literal["flow", "gd"]

CLASSIFICATION_REFERENCE = (
    "Liao & Couillet (2018), The Dynamics of Learning: A Random Matrix Approach, ICML 2018, "
    "PMLR 80:3072-3081, arXiv:1805.11917, main theorem (talk eqs. 14-18), in the corrected "
    "real-line form of docs/methods/dynamics.md §2 (corrections §4, quadrature §5); "
    "Couillet & Liao (2022), Random Matrix Methods for Machine Learning, §5.2"
)
REGRESSION_REFERENCE = (
    "Gradient flow / GD on least squares as a spectral filter of ridge regression: Liao & Couillet "
    "(2018), arXiv:1805.11917, eqs. (15)-(16) of the talk (docs/methods/dynamics.md §1); "
    "Ali, Kolter & Tibshirani (2019), AISTATS, PMLR 89:1370-1378; limits as Marchenko-Pastur "
    "integrals derived in docs/derivations/gradient_descent_regression.md; t -> infinity equals "
    "Hastie, Montanari, Rosset & Tibshirani (2022), Ann. Statist. 50(2) (docs/methods/linear_ridge.md §2-§3)"
)

_BASE_NODES = 64
_NODES_PER_SQRT = 6.0
_MAX_NODES = 1 << 18
_CHUNK_ELEMENTS = 1 << 20  # nodes × times per block: 8 MB per float64 array
_SEARCH_POINTS = 161
_MAX_SEARCH_TIME = 1.0e6  # in units of αt (flow) or steps (gd)
_MIN_LEARNING_RATE = 1e-250  # the search spans αt up to 1e6: t = 1e6/α must stay finite
_V_CLIP = 1e-12  # docs/methods/dynamics.md §5: a variance ≤ 1e-12 E² is rounding noise around 0
_NEAR_UNSTABLE = 1.9  # α(λmax + γ) above this: finite-n GD is fragile (docs/methods/dynamics.md §5)


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClassificationLimit:
    """The t → ∞ limit: the ridge classifier with penalty γ (docs/methods/dynamics.md §2, "Special values").

    Attributes
    ----------
    train_error, test_error
        Q(E_train/√V_train) and Q(E_test/√V_test).
    e_train, v_train, e_test, v_test
        Mean and variance of the training scores y_i x_iᵀw and of the test score (μᵀw, ‖w‖²).
        ``nan`` where the limit is infinite (V_test at c = 1, γ = 0), with a note.
    """

    train_error: float
    test_error: float
    e_train: float
    v_train: float
    e_test: float
    v_test: float


@dataclass(frozen=True, slots=True)
class ClassificationOptimalTime:
    """The stopping time of lowest asymptotic test error over t ∈ (0, ∞).

    Attributes
    ----------
    time
        t* (a step count for ``mode="gd"``); ``0.0`` when the error is lowest as t → 0⁺;
        ``None`` when ``never_stop``.
    test_error
        The test error at t* (at t → ∞ when ``never_stop``).
    never_stop
        ``True`` when no finite time beats training to convergence (the error decreases to its
        t → ∞ limit); then ``time`` is ``None``.
    """

    time: float | None
    test_error: float
    never_stop: bool


@dataclass(frozen=True, slots=True)
class GradientDescentClassificationPrediction:
    """Asymptotic train/test misclassification rates of gradient descent over time.

    Attributes
    ----------
    time
        The times asked for (gradient-flow time t, or step count k for ``mode="gd"``).
    train_error, test_error
        Q(E_train/√V_train) and Q(E_test/√V_test) per time; ``nan`` where undefined
        (t = 0 with σ² = 0: w = 0), with a note.
    e_train, v_train, e_test, v_test
        The quantities behind the errors (docs/methods/dynamics.md §2): limits of the mean and variance of the
        training scores y_i x_iᵀw(t), of μᵀw(t) and of ‖w(t)‖².
    spike_exists
        Whether A = XXᵀ/n has an isolated eigenvalue (ρ > √c, BBP threshold).
    spike_location
        λ_s = 1 + ρ + c + c/ρ when the spike exists, else ``None``.
    limit
        The t → ∞ values (ridge classifier with penalty γ).
    optimal_time
        Best stopping time of the test error, by a bounded search over (0, ∞).
    notes
        Human-readable remarks (undefined points, divergent limits, near-unstable GD).
    reference
        Paper and equations of the formulas.
    """

    time: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    e_train: np.ndarray
    v_train: np.ndarray
    e_test: np.ndarray
    v_test: np.ndarray
    spike_exists: bool
    spike_location: float | None
    limit: ClassificationLimit
    optimal_time: ClassificationOptimalTime
    notes: tuple[str, ...]
    reference: str = CLASSIFICATION_REFERENCE


@dataclass(frozen=True, slots=True)
class RegressionLimit:
    """The t → ∞ limit: ridge regression with penalty γ (min-norm interpolation when γ = 0, c > 1).

    Attributes
    ----------
    bias, variance
        Equal to linear.md §4.2 (γ > 0) / §4.3 (γ = 0); ``nan`` where infinite (γ = 0, c = 1).
    initialization
        σ₀²(1 − 1/c)⁺ when γ = 0 (the null-space part of w₀ never moves), else 0.
    risk, test_mse
        bias + variance + initialization, and risk + σ².
    train_error
        Limit of (1/n)‖y − Xw‖².
    """

    bias: float
    variance: float
    initialization: float
    risk: float
    test_mse: float
    train_error: float


@dataclass(frozen=True, slots=True)
class RegressionOptimalTime:
    """The stopping time of lowest asymptotic test MSE over t ∈ [0, ∞).

    Attributes
    ----------
    time
        t* (a step count for ``mode="gd"``); ``None`` when ``never_stop``.
    test_mse, risk
        The test MSE and excess risk at t* (at t → ∞ when ``never_stop``).
    never_stop
        ``True`` when no finite time beats training to convergence.
    """

    time: float | None
    test_mse: float
    risk: float
    never_stop: bool


@dataclass(frozen=True, slots=True)
class GradientDescentRegressionPrediction:
    """Asymptotic bias, variance, test MSE and train error of gradient descent over time.

    Attributes
    ----------
    time
        The times asked for (t, or step count k for ``mode="gd"``).
    bias
        r² ∫ (1 − x h_t(x))² μ(dx): squared error of the noise-free, zero-initialised fit.
    variance
        σ² c ∫ x h_t(x)² μ(dx): contribution of the label noise.
    initialization
        σ₀² ∫ f_t(x + γ)² μ(dx): contribution of the random start w₀ ~ N(0, σ₀² I/p).
    risk
        bias + variance + initialization = lim E‖w(t) − β‖² (excess test MSE).
    test_mse
        risk + σ² (squared error on a fresh noisy sample).
    train_error
        Limit of (1/n)‖y − Xw(t)‖² (averaged over noise and w₀).
    limit
        The t → ∞ values (linear-ridge formulas, plus the frozen null-space part of w₀).
    optimal_time
        Best stopping time of the test MSE.
    notes
        Human-readable remarks.
    reference
        Paper and equations of the formulas.
    """

    time: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    initialization: np.ndarray
    risk: np.ndarray
    test_mse: np.ndarray
    train_error: np.ndarray
    limit: RegressionLimit
    optimal_time: RegressionOptimalTime
    notes: tuple[str, ...]
    reference: str = REGRESSION_REFERENCE


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dynamics:
    """Validated spectral and optimisation parameters shared by both problems."""

    ratio: float
    ridge_penalty: float
    learning_rate: float
    init_variance: float
    mode: str
    lower: float  # λ- of the MP bulk
    upper: float  # λ+
    centre: float
    half: float


def _mode_iv(mode: str) -> str:
    if mode not in ("flow", "gd"):
        raise InvalidParameterError("mode", f'`mode` must be "flow" or "gd", got {mode!r}.')
    return mode


def _time_iv(time, mode: str) -> np.ndarray:
    t = finite_array("time", np.atleast_1d(np.asarray(time, dtype=np.float64)))
    if t.size == 0:
        raise InvalidParameterError("time", "`time` must contain at least one value.")
    if np.any(t < 0):
        raise InvalidParameterError("time", f"`time` must be >= 0, got {float(t.min())!r}.")
    if mode == "gd" and np.any(t != np.round(t)):
        raise InvalidParameterError("time", '`time` must be integer step counts when `mode` is "gd".')
    return t


def _dynamics_iv(*, ratio, ridge_penalty, learning_rate, init_variance, mode) -> _Dynamics:
    ratio = positive("ratio", ratio)
    ridge_penalty = non_negative("ridge_penalty", ridge_penalty)
    learning_rate = positive("learning_rate", learning_rate)
    if learning_rate < _MIN_LEARNING_RATE:
        raise InvalidParameterError(
            "learning_rate",
            f"`learning_rate` must be >= {_MIN_LEARNING_RATE:g} (smaller rates overflow the time axis of "
            f"the stopping-time search), got {learning_rate!r}.",
        )
    init_variance = non_negative("init_variance", init_variance)
    mode = _mode_iv(mode)
    root = math.sqrt(ratio)
    lower, upper = (1.0 - root) ** 2, (1.0 + root) ** 2
    return _Dynamics(
        ratio,
        ridge_penalty,
        learning_rate,
        init_variance,
        mode,
        lower,
        upper,
        0.5 * (lower + upper),
        2.0 * root,
    )


def _stability_iv(d: _Dynamics, top: float, what: str) -> None:
    """Discrete GD diverges unless α(λmax + γ) < 2 (docs/methods/dynamics.md §5)."""
    if d.mode != "gd":
        return
    bound = 2.0 / (top + d.ridge_penalty)
    if d.learning_rate >= bound:
        raise InvalidParameterError(
            "learning_rate",
            f"`learning_rate` must be < 2/(λmax + γ) = {bound:.6g} for discrete gradient descent "
            f"to be stable (λmax = {top:.6g} is {what}); got {d.learning_rate!r}. "
            f"Stable range: 0 < learning_rate < {bound:.6g}.",
        )


# ------------------------------------------------------------------------------------------------
# Spectral filters and quadrature
# ------------------------------------------------------------------------------------------------


def _filters(d: _Dynamics, z, t) -> tuple[np.ndarray, np.ndarray]:
    """f_t(z) and h_t(z) = (1 − f_t(z))/z for z ≥ 0, broadcast over (z, t) (docs/methods/dynamics.md §1, §5).

    Flow: f = e^{-αtz}, h = −expm1(−αtz)/z. GD: f = (1 − αz)^k, h = −expm1(k log1p(−αz))/z where
    1 − αz > 0 (no cancellation near z = 0). At z = 0, h = αt (flow) or αk (gd).
    """
    z = np.asarray(z, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    alpha = d.learning_rate
    zero = z <= 0.0
    safe = np.where(zero, 1.0, z)
    if d.mode == "flow":
        a = -alpha * z * t
        f = np.exp(a)
        one_minus_f = -np.expm1(a)
    else:
        q = 1.0 - alpha * z
        pos = q > 0.0
        lq = np.log1p(-alpha * np.where(pos, z, 0.0))
        kl = t * lq
        f = np.where(pos, np.exp(kl), np.power(q, t))
        one_minus_f = np.where(pos, -np.expm1(kl), 1.0 - f)
    h = np.where(zero, alpha * t, one_minus_f / safe)
    return f, h


@lru_cache(maxsize=64)
def _unit_nodes(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """cos θ_k and π/(K+1)·sin² θ_k of the K-point Gauss–Chebyshev rule of the 2nd kind (docs/methods/dynamics.md §5)."""
    theta = np.arange(1, n_nodes + 1) * (np.pi / (n_nodes + 1))
    cos, weight = np.cos(theta), (np.pi / (n_nodes + 1)) * np.sin(theta) ** 2
    cos.setflags(write=False)
    weight.setflags(write=False)
    return cos, weight


def _nodes(d: _Dynamics, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """x_k, w_k with ∫ F(x)√((x − λ−)(λ+ − x)) dx ≈ Σ w_k F(x_k)."""
    cos, weight = _unit_nodes(n_nodes)
    return d.centre - d.half * cos, weight * d.half**2


def _node_counts(d: _Dynamics, t: np.ndarray, node_scale: float) -> np.ndarray:
    """Nodes needed per time (module docstring), rounded up to a ladder of 2^{j/4}."""
    if d.mode == "flow":
        a = 2.0 * d.learning_rate * t * d.half
    else:
        ends = np.abs(1.0 - d.learning_rate * (np.array([d.lower, d.upper]) + d.ridge_penalty))
        q_min = float(ends.min())
        a = np.full_like(t, np.inf) if q_min == 0.0 else 2.0 * t * d.learning_rate * d.half / q_min
    need = _BASE_NODES + node_scale * _NODES_PER_SQRT * np.sqrt(a)
    if d.mode == "gd":
        need = np.minimum(need, t + 1.0)  # exact for the polynomial integrands
    need = np.clip(need, _BASE_NODES, _MAX_NODES)
    ladder = np.ceil(2.0 ** (np.ceil(4.0 * np.log2(need)) / 4.0))
    return np.minimum(ladder, _MAX_NODES).astype(np.int64)


def _blocks(d: _Dynamics, t: np.ndarray, node_scale: float):
    """Yield (indices, n_nodes) blocks of times sharing a node count, chunked for memory."""
    counts = _node_counts(d, t, node_scale)
    for n_nodes in np.unique(counts):
        idx = np.flatnonzero(counts == n_nodes)
        step = max(1, _CHUNK_ELEMENTS // int(n_nodes))
        for start in range(0, idx.size, step):
            yield idx[start : start + step], int(n_nodes)


# ------------------------------------------------------------------------------------------------
# Classification
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Classification:
    dyn: _Dynamics
    rho: float
    sigma2: float
    spike_exists: bool
    lam_s: float  # inf when ρ = 0
    atom: float  # k × (ρ² − c)⁺/ρ: weight of the spike in kω
    subtract: bool  # pole subtraction at λ_s (docs/methods/dynamics.md §5) or direct integration


def _classification_params(
    *, ratio, mean_norm_squared, ridge_penalty, learning_rate, init_variance, mode
) -> _Classification:
    d = _dynamics_iv(
        ratio=ratio, ridge_penalty=ridge_penalty, learning_rate=learning_rate, init_variance=init_variance, mode=mode
    )
    rho = non_negative("mean_norm_squared", mean_norm_squared)
    c = d.ratio
    spike = rho * rho > c
    lam_s = 1.0 + rho + c + c / rho if rho > 0 else math.inf
    atom = (rho + c) * (rho * rho - c) / (rho * rho) if spike else 0.0
    if spike:
        _stability_iv(d, lam_s, "the isolated eigenvalue λ_s = 1 + ρ + c + c/ρ")
    else:
        _stability_iv(d, d.upper, "the MP edge (1 + √c)²")
    gap = lam_s - d.upper
    subtract = gap < 0.5 * d.half
    if subtract and d.mode == "gd" and abs(1.0 - d.learning_rate * (lam_s + d.ridge_penalty)) > 1.0:
        subtract = False  # f_k(λ_s + γ) explodes there; direct integration with more nodes below
    return _Classification(d, rho, d.init_variance, spike, lam_s, atom, subtract)


def _direct_nodes(p: _Classification) -> int:
    """Nodes for ∫ g/(λ_s − x) without subtraction: Bernstein-ellipse rate of the pole (≤ 1e-17)."""
    if p.subtract or not math.isfinite(p.lam_s):
        return _BASE_NODES
    u = (p.lam_s - p.dyn.centre) / p.dyn.half
    rate = math.log(u + math.sqrt(u * u - 1.0))
    return int(min(_MAX_NODES, max(_BASE_NODES, math.ceil(20.0 / rate))))


def _classification_moments(p: _Classification, t: np.ndarray, node_scale: float = 1.0):
    """E_train, V_train, E_test, V_test at every t (docs/methods/dynamics.md §2), vectorised over blocks of times.

    With the measure kω (k = (ρ + c)/ρ, total mass ρ + c, finite at ρ = 0):
    E_train = ∫h d(kω), E_test = ρ/(ρ+c)·E_train, V_test = ∫h² d(kω) + σ²∫f² dμ,
    V_train = ∫x h² d(kω) + σ²∫x f² dμ − E_train².
    """
    d, c, rho = p.dyn, p.dyn.ratio, p.rho
    gamma = d.ridge_penalty
    out = np.empty((4, t.size))
    extra = _direct_nodes(p)
    for idx, n_nodes in _blocks(d, t, node_scale):
        n_nodes = max(n_nodes, extra)
        x, w = _nodes(d, n_nodes)
        tt = t[idx][None, :]
        f, h = _filters(d, (x + gamma)[:, None], tt)
        f0 = _filters(d, gamma, t[idx])[0]
        f2 = f * f
        # μ, with the pole at 0 subtracted (covers the atom (1 − 1/c)⁺ at 0 for every c).
        mu_f2 = f0 * f0 + ((w / x) @ (f2 - f0 * f0)) / (2.0 * np.pi * c)
        mu_xf2 = (w @ f2) / (2.0 * np.pi * c)
        # kω: continuous density (ρ + c)√(...)/(2π D(x)), D = ρ(λ_s − x), plus the spike atom.
        denom = rho * (1.0 + rho + c - x) + c
        h2 = h * h
        g = (h, h2, x[:, None] * h2)
        if p.subtract or p.atom > 0.0:
            hs = _filters(d, p.lam_s + gamma, t[idx])[1]
            gs = (hs, hs * hs, p.lam_s * hs * hs)
        if p.subtract:
            wd = w / denom / (2.0 * np.pi)
            k_int = [(rho + c) * (wd @ (gi - gsi[None, :]) + gsi) for gi, gsi in zip(g, gs, strict=True)]
        else:
            wd = (rho + c) * w / denom / (2.0 * np.pi)
            k_int = [wd @ gi for gi in g]
            if p.atom > 0.0:
                k_int = [ki + p.atom * gsi for ki, gsi in zip(k_int, gs, strict=True)]
        e_train = k_int[0]
        out[0, idx] = e_train
        out[1, idx] = k_int[2] + p.sigma2 * mu_xf2 - e_train * e_train
        out[2, idx] = (rho / (rho + c)) * e_train
        out[3, idx] = k_int[1] + p.sigma2 * mu_f2
    return out


def _error(e: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
    """Q(E/√V) with the degenerate-variance clip of docs/methods/dynamics.md §5; nan where E = V = 0."""
    e, v = np.asarray(e, dtype=np.float64), np.asarray(v, dtype=np.float64)
    degenerate = v <= _V_CLIP * e * e
    safe_v = np.where(degenerate, 1.0, v)
    signed_inf = np.where(e > 0, np.inf, np.where(e < 0, -np.inf, 0.0))
    ratio = np.where(degenerate, signed_inf, e / np.sqrt(safe_v))
    err = ndtr(-ratio)
    return np.where(degenerate & (e == 0.0), np.nan, err)


def _shifted_stieltjes(c: float, gamma: float) -> tuple[float, float]:
    """u(−γ) and u'(−γ) for u(z) = 1 + z m(z), m the MP Stieltjes transform (ratio c, σ² = 1).

    p side for c ≤ 1 and the companion side for c > 1, where m has a pole at 0 but
    u = (1 + z m̲(z))/c is regular (linear.md §1.2, §1.5, §4.6). u' = ∞ at c = 1, γ = 0.
    """
    if c <= 1.0:
        if gamma == 0.0:
            if c == 1.0:
                return 1.0, math.inf
            return 1.0, 1.0 / (1.0 - c)
        a = 1.0 - c + gamma
        root = math.sqrt(a * a + 4.0 * c * gamma)
        m = 2.0 / (a + root) if a > 0 else (root - a) / (2.0 * c * gamma)
        dm = m * (1.0 + c * m) / root
        return 1.0 - gamma * m, m - gamma * dm
    # companion v(−γ) = lim (1/n) tr(XᵀX/n + γ)⁻¹ (n × n Gram), regular at γ = 0 when c > 1
    a = 1.0 - c - gamma
    root = math.sqrt(a * a + 4.0 * gamma)
    v = 2.0 / (root - a)  # a < 0 here
    dv = v * (1.0 + v) / root
    return (1.0 - gamma * v) / c, (v - gamma * dv) / c


def _classification_limit(p: _Classification, notes: list[str]) -> ClassificationLimit:
    """t → ∞ in closed form: ∫ dω/(x − z) = ρu/(1 + ρu), u = 1 + z m(z) (docs/methods/dynamics.md §2), at z = −γ."""
    c, rho, gamma = p.dyn.ratio, p.rho, p.dyn.ridge_penalty
    u, du = _shifted_stieltjes(c, gamma)
    k_s = (rho + c) * u / (1.0 + rho * u)  # k ∫ dω/(x + γ)
    k_ds = (rho + c) * du / (1.0 + rho * u) ** 2 if math.isfinite(du) else math.inf  # k ∫ dω/(x + γ)²
    gamma_k_ds = gamma * k_ds if math.isfinite(k_ds) else 0.0  # γ k_ds → 0 as γ → 0 at c = 1
    frozen = p.sigma2 * max(0.0, 1.0 - 1.0 / c) if gamma == 0.0 else 0.0
    e_train = k_s
    e_test = rho / (rho + c) * k_s
    v_train = max(0.0, k_s - gamma_k_ds - e_train * e_train)
    if math.isinf(k_ds):
        v_test = math.nan
        test_error = 0.5
        notes.append(
            "limit: at c = 1 with γ = 0 (or γ so small that it overflows) the norm of the ridgeless "
            "classifier diverges (V_test = ∞), so the t → ∞ test error is 1/2 and v_test is null."
        )
    else:
        v_test = k_ds + frozen
        test_error = float(_error(e_test, v_test)) if rho > 0 else 0.5
    train_error = float(_error(e_train, v_train))
    return ClassificationLimit(train_error, test_error, e_train, v_train, e_test, v_test)


def _search_grid(d: _Dynamics, horizon: float) -> np.ndarray:
    """Log-spaced times for the stopping search, up to ``horizon`` (in αt or steps)."""
    if d.mode == "flow":
        tau = np.logspace(-6.0, math.log10(horizon), _SEARCH_POINTS)
        return tau / d.learning_rate
    return np.unique(np.round(np.logspace(0.0, math.log10(horizon), _SEARCH_POINTS)))


def _horizon(d: _Dynamics, decay_rates: list[float]) -> float:
    """Time (αt or steps) after which every moving mode has decayed by e^{-45}."""
    if d.mode == "flow":
        slowest = min(decay_rates)  # decay rate per unit αt: min of x + γ over the moving modes
        h = 45.0 / slowest if slowest > 0 else math.inf
    else:
        qs = [abs(1.0 - d.learning_rate * r) for r in decay_rates]
        q = max(qs)
        h = 45.0 / -math.log(q) if 0 < q < 1 else (1.0 if q == 0 else math.inf)
    return float(min(_MAX_SEARCH_TIME, max(100.0, h)))


def _refine(d: _Dynamics, objective, grid: np.ndarray, values: np.ndarray, i: int):
    """Refine the grid minimum at index i: bounded Brent in log t (flow), integer search (gd)."""
    lo = grid[max(i - 1, 0)]
    hi = grid[min(i + 1, grid.size - 1)]
    if d.mode == "flow":
        res = minimize_scalar(
            lambda s: float(objective(np.array([math.exp(s)]))[0]),
            bounds=(math.log(lo), math.log(hi)),
            method="bounded",
            options={"xatol": 1e-9},
        )
        t_best, v_best = math.exp(res.x), float(res.fun)
        if v_best > values[i]:
            t_best, v_best = float(grid[i]), float(values[i])
        return t_best, v_best
    lo, hi = int(lo), int(hi)
    while hi - lo > 64:
        ks = np.unique(np.linspace(lo, hi, 33).round())
        vals = objective(ks)
        j = int(np.nanargmin(vals))
        lo, hi = int(ks[max(j - 1, 0)]), int(ks[min(j + 1, ks.size - 1)])
    ks = np.arange(lo, hi + 1, dtype=np.float64)
    vals = objective(ks)
    j = int(np.nanargmin(vals))
    return float(ks[j]), float(vals[j])


def _classification_decay(p: _Classification) -> list[float]:
    d = p.dyn
    rates = [d.lower + d.ridge_penalty]
    if d.ridge_penalty > 0 or d.ratio > 1:
        rates.append(d.ridge_penalty)  # the atom at 0 (c > 1) moves only through γ
    if p.spike_exists:
        rates.append(p.lam_s + d.ridge_penalty)
    rates = [r for r in rates if r > 0]  # the frozen null space (γ = 0) does not move
    return rates or [0.0]


def _classification_optimal(
    p: _Classification, limit: ClassificationLimit, notes: list[str]
) -> ClassificationOptimalTime:
    d = p.dyn

    def objective(times: np.ndarray) -> np.ndarray:
        m = _classification_moments(p, times)
        return _error(m[2], m[3])

    if p.rho == 0.0:
        notes.append("optimal_time: with ρ = 0 the test error is 1/2 at every time.")
        return ClassificationOptimalTime(None, 0.5, True)
    grid = _search_grid(d, _horizon(d, _classification_decay(p)))
    values = objective(grid)
    if np.all(np.isnan(values)):
        # E = V = 0 at every searched time: a learning rate so small that the weights stay 0 in
        # float64 over the whole horizon (fuzzing: gd at α = 1e-250). Only the limit is defined.
        notes.append(
            f"optimal_time: the test error is undefined (weights still 0: E = V = 0) at every time searched, up to "
            f"{grid[-1]:.3g}; the t → ∞ value is reported."
        )
        return ClassificationOptimalTime(None, limit.test_error, True)
    i = int(np.nanargmin(values))
    if limit.test_error <= values[i] + 1e-12:
        return ClassificationOptimalTime(None, limit.test_error, True)
    t_best, v_best = _refine(d, objective, grid, values, i)
    if d.mode == "flow" and i == 0:
        # Lowest as t → 0⁺ (σ² = 0: early iterates are the centroid classifier, docs/methods/dynamics.md §2).
        zero = float(ndtr(-p.rho / math.sqrt(p.rho + d.ratio))) if p.sigma2 == 0 else 0.5
        if zero <= v_best:
            notes.append("optimal_time: the test error is lowest as t → 0⁺ (time reported as 0).")
            return ClassificationOptimalTime(0.0, zero, False)
    return ClassificationOptimalTime(t_best, v_best, False)


def gradient_descent_classification(
    *,
    ratio: float,
    mean_norm_squared: float,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time,
    mode: Mode = "flow",
) -> GradientDescentClassificationPrediction:
    """Train and test misclassification rates of a linear classifier trained by gradient descent.

    Two-class Gaussian mixture x_i = y_i μ + z_i (z_i ~ N(0, I_p), y_i = ±1, ‖μ‖² → ρ, p/n → c),
    squared loss (1/2n)‖y − Xᵀw‖² + (γ/2)‖w‖², w₀ ~ N(0, σ²I_p/p), gradient flow
    w(t) = f_t(A + γ)w₀ + (I − f_t(A + γ))(A + γ)⁻¹Xy/n with f_t(z) = e^{−αtz}, or k discrete steps
    with f_k(z) = (1 − αz)^k. Then (Liao & Couillet, ICML 2018, arXiv:1805.11917, main theorem;
    talk eqs. 14-18; corrected real-line form of ``docs/methods/dynamics.md`` §2):

        test error  → Q(E_test/√V_test),   E_test = ∫ h_t dω,
                      V_test = k ∫ h_t² dω + σ² ∫ f_t(x + γ)² μ(dx),
        train error → Q(E_train/√V_train), E_train = k E_test,
                      V_train = k ∫ x h_t² dω + σ² ∫ x f_t(x + γ)² μ(dx) − E_train²,

    with h_t(x) = (1 − f_t(x + γ))/(x + γ), k = (ρ + c)/ρ, μ the Marchenko–Pastur law (eq. 17) and
    ω the measure of eq. (18). The integrals use Gauss–Chebyshev nodes with the pole subtraction
    of docs/methods/dynamics.md §5; the t → ∞ limit uses the closed Stieltjes form ∫ dω/(x − z) = ρu/(1 + ρu).

    Parameters
    ----------
    ratio
        c = p/n > 0.
    mean_norm_squared
        ρ = ‖μ‖² ≥ 0 (ρ = 0: no signal, test error 1/2; the train error is still predicted).
    ridge_penalty
        γ ≥ 0 (per-sample normalised, as in the loss above).
    learning_rate
        α > 0. For ``mode="gd"`` it must satisfy α(λmax + γ) < 2 with λmax = λ_s when the spike
        exists (ρ > √c) and (1 + √c)² otherwise.
    init_variance
        σ² ≥ 0 of w₀ ~ N(0, σ²I_p/p).
    time
        1-d array of times t ≥ 0 (``mode="flow"``) or integer step counts k ≥ 0 (``mode="gd"``).
    mode
        ``"flow"`` (gradient flow) or ``"gd"`` (discrete gradient descent).

    Returns
    -------
    GradientDescentClassificationPrediction

    Raises
    ------
    InvalidParameterError
        Non-finite or out-of-domain input, negative or non-integer (gd) times, unstable GD.
    """
    p = _classification_params(
        ratio=ratio,
        mean_norm_squared=mean_norm_squared,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        mode=mode,
    )
    t = _time_iv(time, p.dyn.mode)
    notes: list[str] = []
    m = _classification_moments(p, t)
    e_train, v_train, e_test, v_test = m
    v_train = np.where(v_train <= _V_CLIP * e_train * e_train, np.maximum(v_train, 0.0), v_train)
    train_error = _error(e_train, v_train)
    test_error = _error(e_test, v_test)
    if p.rho == 0.0:
        test_error = np.where(np.isnan(test_error), np.nan, 0.5)
    if np.any(np.isnan(test_error)):
        notes.append("time = 0 with init_variance = 0: w(0) = 0, so both error rates are undefined (null).")
    top = p.lam_s if p.spike_exists else p.dyn.upper
    if p.dyn.mode == "gd" and p.dyn.learning_rate * (top + p.dyn.ridge_penalty) > _NEAR_UNSTABLE:
        notes.append(
            "learning_rate is close to the stability bound 2/(λmax + γ): at finite n the top "
            "eigenvalue fluctuates and GD may oscillate or diverge (docs/methods/dynamics.md §5)."
        )
    limit = _classification_limit(p, notes)
    optimal = _classification_optimal(p, limit, notes)
    return GradientDescentClassificationPrediction(
        time=t,
        train_error=train_error,
        test_error=test_error,
        e_train=e_train,
        v_train=v_train,
        e_test=e_test,
        v_test=v_test,
        spike_exists=p.spike_exists,
        spike_location=p.lam_s if p.spike_exists else None,
        limit=limit,
        optimal_time=optimal,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------------------------------
# Regression
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Regression:
    dyn: _Dynamics
    r2: float
    noise: float


def _regression_params(
    *, ratio, signal_strength, noise_variance, ridge_penalty, learning_rate, init_variance, mode
) -> _Regression:
    d = _dynamics_iv(
        ratio=ratio, ridge_penalty=ridge_penalty, learning_rate=learning_rate, init_variance=init_variance, mode=mode
    )
    r2 = non_negative("signal_strength", signal_strength)
    noise = non_negative("noise_variance", noise_variance)
    _stability_iv(d, d.upper, "the MP edge (1 + √c)²")
    return _Regression(d, r2, noise)


def _regression_moments(p: _Regression, t: np.ndarray, node_scale: float = 1.0) -> np.ndarray:
    """bias, variance, initialization, train error at every t (derivation §3-§4), MP integrals.

    ∫ g dμ = g(0) + (1/2πc) ∫ (g(x) − g(0))/x √(...) dx (docs/methods/dynamics.md §5), with 1 − x h = (γ + x f)/(x + γ),
    (1 − x h)² − 1 = −x h (1 + (1 − x h)).
    """
    d, c = p.dyn, p.dyn.ratio
    gamma = d.ridge_penalty
    out = np.empty((4, t.size))
    two_pi = 2.0 * np.pi
    for idx, n_nodes in _blocks(d, t, node_scale):
        x, w = _nodes(d, n_nodes)
        xc = x[:, None]
        f, h = _filters(d, (x + gamma)[:, None], t[idx][None, :])
        f0 = _filters(d, gamma, t[idx])[0]
        omx = (gamma + xc * f) / (xc + gamma)
        hsum = w @ (h * (1.0 + omx))
        f2 = f * f
        bias = 1.0 - hsum / (two_pi * c)
        variance = (w @ (h * h)) / two_pi
        init = f0 * f0 + ((w / x) @ (f2 - f0 * f0)) / (two_pi * c)
        train = (
            p.r2 * (w @ (omx * omx)) / (two_pi * c)
            + p.noise * (1.0 - hsum / two_pi)
            + d.init_variance * (w @ f2) / (two_pi * c)
        )
        out[0, idx] = p.r2 * bias
        out[1, idx] = p.noise * variance
        out[2, idx] = d.init_variance * init
        out[3, idx] = train
    # Sums of squares: a value of −1e-16 is rounding around an exact 0 (e.g. interpolation).
    return np.maximum(out, 0.0)


def _regression_limit(p: _Regression, notes: list[str]) -> RegressionLimit:
    """Linear-ridge closed forms (linear.md §4.2 κ form, §4.3 ridgeless) plus the frozen w₀ part."""
    c, gamma, r2, s2 = p.dyn.ratio, p.dyn.ridge_penalty, p.r2, p.noise
    if gamma > 0:
        a = 1.0 - c - gamma
        root = math.sqrt(a * a + 4.0 * gamma)
        kappa = 2.0 * gamma / (a + root) if a > 0 else 0.5 * (root - a)
        denom = (1.0 - c) + kappa * (2.0 + kappa)  # (1 + κ)² − c without cancellation as κ → 0
        bias = r2 * kappa**2 / denom
        variance = s2 * c / denom
        init = 0.0
        train = (gamma / kappa) ** 2 * (bias + variance + s2)
    elif c < 1:
        bias, variance, init, train = 0.0, s2 * c / (1.0 - c), 0.0, s2 * (1.0 - c)
    elif c > 1:
        bias = r2 * (1.0 - 1.0 / c)
        variance = s2 / (c - 1.0)
        init = p.dyn.init_variance * (1.0 - 1.0 / c)
        train = 0.0
    else:
        bias, init, train = 0.0, 0.0, 0.0
        variance = math.nan if s2 > 0 else 0.0
        if s2 > 0:
            notes.append(
                "limit: at c = 1 with γ = 0 the ridgeless variance is infinite (linear.md §4.3); "
                "variance, risk and test_mse of the limit are null."
            )
    risk = bias + variance + init
    return RegressionLimit(bias, variance, init, risk, risk + s2, train)


def _regression_optimal(p: _Regression, limit: RegressionLimit) -> RegressionOptimalTime:
    d = p.dyn

    def objective(times: np.ndarray) -> np.ndarray:
        return _regression_moments(p, times)[:3].sum(axis=0)

    rates = [d.lower + d.ridge_penalty]
    if d.ridge_penalty > 0 or d.ratio > 1:
        rates.append(d.ridge_penalty)
    rates = [r for r in rates if r > 0] or [0.0]
    grid = _search_grid(d, _horizon(d, rates))
    values = objective(grid)
    i = int(np.nanargmin(values))
    at_zero = p.r2 + d.init_variance
    lim = limit.risk if math.isfinite(limit.risk) else math.inf
    if lim <= min(values[i], at_zero) + 1e-12:
        return RegressionOptimalTime(None, limit.test_mse, limit.risk, True)
    t_best, v_best = _refine(d, objective, grid, values, i)
    if at_zero <= v_best:
        return RegressionOptimalTime(0.0, at_zero + p.noise, at_zero, False)
    return RegressionOptimalTime(t_best, v_best + p.noise, v_best, False)


def gradient_descent_regression(
    *,
    ratio: float,
    signal_strength: float,
    noise_variance: float,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time,
    mode: Mode = "flow",
) -> GradientDescentRegressionPrediction:
    """Bias, variance, test MSE and train error of least squares trained by gradient descent.

    Model (``docs/methods/linear_ridge.md`` §1, isotropic): X ∈ R^{n×p} with i.i.d. N(0, 1) entries,
    y = Xβ + ε, ‖β‖² = r², ε ~ N(0, σ²I_n), loss (1/2n)‖y − Xw‖² + (γ/2)‖w‖², w₀ ~ N(0, σ₀²I/p),
    gradient flow (f_t(z) = e^{−αtz}) or k GD steps (f_k(z) = (1 − αz)^k): as in Liao & Couillet,
    ICML 2018 (arXiv:1805.11917), talk eqs. (15)-(16) (``docs/methods/dynamics.md`` §1),
    w(t) = f_t(Σ̂ + γ)w₀ + h_t(Σ̂)Xᵀy/n with Σ̂ = XᵀX/n, h_t(x) = (1 − f_t(x + γ))/(x + γ).
    With μ the Marchenko–Pastur law of Σ̂ (ratio c, atom (1 − 1/c)⁺ at 0), as n, p → ∞
    (derivation in ``docs/derivations/gradient_descent_regression.md``, eqs. (B), (V), (I), (T)):

        bias           = r² ∫ (1 − x h_t(x))² μ(dx)
        variance       = σ² c ∫ x h_t(x)² μ(dx)
        initialization = σ₀² ∫ f_t(x + γ)² μ(dx)
        risk = bias + variance + initialization,  test_mse = risk + σ²
        train_error    = r² ∫ x(1 − x h_t)² dμ + σ²[(1 − c) + c ∫ (1 − x h_t)² dμ] + σ₀² ∫ x f_t² dμ

    At t → ∞ these are the ridge formulas of Hastie et al. (2022) (linear.md §4.2; §4.3 for γ = 0)
    plus σ₀²(1 − 1/c)⁺ when γ = 0 (the component of w₀ in the null space of X never moves); see
    Ali, Kolter & Tibshirani (AISTATS 2019) for gradient flow as a spectral filter of ridge.

    Parameters
    ----------
    ratio
        c = p/n > 0.
    signal_strength
        r² = ‖β‖² ≥ 0.
    noise_variance
        σ² ≥ 0 of the label noise.
    ridge_penalty
        γ ≥ 0.
    learning_rate
        α > 0; for ``mode="gd"``, α((1 + √c)² + γ) < 2.
    init_variance
        σ₀² ≥ 0 of w₀ ~ N(0, σ₀²I_p/p).
    time
        1-d array of t ≥ 0 (flow) or integer step counts k ≥ 0 (gd).
    mode
        ``"flow"`` or ``"gd"``.

    Returns
    -------
    GradientDescentRegressionPrediction

    Raises
    ------
    InvalidParameterError
        Non-finite or out-of-domain input, negative or non-integer (gd) times, unstable GD.
    """
    p = _regression_params(
        ratio=ratio,
        signal_strength=signal_strength,
        noise_variance=noise_variance,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        mode=mode,
    )
    t = _time_iv(time, p.dyn.mode)
    notes: list[str] = []
    bias, variance, init, train = _regression_moments(p, t)
    risk = bias + variance + init
    if p.dyn.mode == "gd" and p.dyn.learning_rate * (p.dyn.upper + p.dyn.ridge_penalty) > _NEAR_UNSTABLE:
        notes.append(
            "learning_rate is close to the stability bound 2/((1 + √c)² + γ): at finite n the top "
            "eigenvalue fluctuates and GD may oscillate or diverge."
        )
    limit = _regression_limit(p, notes)
    optimal = _regression_optimal(p, limit)
    return GradientDescentRegressionPrediction(
        time=t,
        bias=bias,
        variance=variance,
        initialization=init,
        risk=risk,
        test_mse=risk + p.noise,
        train_error=train,
        limit=limit,
        optimal_time=optimal,
        notes=tuple(notes),
    )
