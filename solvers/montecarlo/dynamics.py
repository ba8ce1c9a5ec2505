"""Monte Carlo simulators of gradient-descent dynamics (``docs/methods/dynamics.md`` §6).

Each draw needs one symmetric eigendecomposition, of the smaller of XXᵀ/n and XᵀX/n: in the
eigenbasis U of the data covariance, gradient flow (or k GD steps) from w₀ is exact,

    w(t) = U[f(λ + γ) ⊙ Uᵀw₀ + h(λ) ⊙ Uᵀb] + f(γ)(I − UUᵀ)w₀,   h(λ) = (1 − f(λ + γ))/(λ + γ),

with f(z) = e^{−αtz} (flow) or (1 − αz)^k (gd) and b = Xy/n; the last term is the component of w₀
in the null space of the data covariance (p > n), which moves only through the ridge penalty.
All times are evaluated at once from the same factorisation.

The simulators are independent of :mod:`solvers.dynamics` (they share no code), so that the tests
compare two computations. (docs/methods/dynamics.md §6 measured 3–30× slower eigensolvers with multi-threaded BLAS on 2
shared cores: the callers pin BLAS threads — ``bin/test`` for the tests, Dask's worker environment for
jobs — rather than a pure function changing process-wide state.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from solvers._validation import finite_array, non_negative, positive, positive_int, rng_from
from solvers.dynamics import gradient_descent_classification, gradient_descent_regression
from solvers.exceptions import InvalidParameterError
from solvers.montecarlo.engine import SimulationPrediction, TrialDraw, at_most_points, ratio_note

CLASSIFICATION_REFERENCE = (
    "Exact gradient flow / GD through one eigendecomposition per draw, docs/methods/dynamics.md §6; "
    "model of Liao & Couillet (2018), ICML, arXiv:1805.11917, eqs. (14)-(16) of the talk"
)
REGRESSION_REFERENCE = (
    "Exact gradient flow / GD through one eigendecomposition per draw (docs/methods/dynamics.md §6) "
    "on the linear model of docs/methods/linear_ridge.md §1; docs/derivations/gradient_descent_regression.md"
)


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GradientDescentClassificationSimulation:
    """Monte Carlo means and standard errors (over ``trials`` draws) per time.

    Attributes
    ----------
    time
        Times (t, or step counts k for ``mode="gd"``).
    n_samples, n_features, trials
        Sizes n, p and number of independent draws of (X, y, w₀).
    train_error, train_error_se
        Fraction of training points with y_i x_iᵀw(t) < 0 (ties count 1/2), mean and standard error.
    test_error, test_error_se
        Q(μᵀw/‖w‖), the exact error on a fresh test point given w (1/2 when w = 0).
    e_train, e_train_se, v_train, v_train_se
        Empirical mean and variance of the training scores y_i x_iᵀw(t).
    e_test, e_test_se, v_test, v_test_se
        μᵀw(t) and ‖w(t)‖².
    reference
        What is simulated.
    """

    time: np.ndarray
    n_samples: int
    n_features: int
    trials: int
    train_error: np.ndarray
    train_error_se: np.ndarray
    test_error: np.ndarray
    test_error_se: np.ndarray
    e_train: np.ndarray
    e_train_se: np.ndarray
    v_train: np.ndarray
    v_train_se: np.ndarray
    e_test: np.ndarray
    e_test_se: np.ndarray
    v_test: np.ndarray
    v_test_se: np.ndarray
    reference: str = CLASSIFICATION_REFERENCE


@dataclass(frozen=True, slots=True)
class GradientDescentRegressionSimulation:
    """Monte Carlo means and standard errors (over ``trials`` draws) per time.

    Attributes
    ----------
    time
        Times (t, or step counts k for ``mode="gd"``).
    n_samples, n_features, trials
        Sizes n, p and number of independent draws of (X, β direction, ε, w₀).
    risk, risk_se
        ‖w(t) − β‖² of the sampled run (excess test MSE for x₀ ~ N(0, I), exact given w).
    test_mse, test_mse_se
        risk + σ².
    train_error, train_error_se
        (1/n)‖y − Xw(t)‖² of the sampled run.
    bias, bias_se, variance, variance_se, initialization, initialization_se
        The same decomposition conditional on X and β, averaged analytically over ε and w₀:
        ‖(I − h(Σ̂)Σ̂)β‖², (σ²/n) tr(h(Σ̂)²Σ̂), (σ₀²/p) tr f(Σ̂ + γ)².
    reference
        What is simulated.
    """

    time: np.ndarray
    n_samples: int
    n_features: int
    trials: int
    risk: np.ndarray
    risk_se: np.ndarray
    test_mse: np.ndarray
    test_mse_se: np.ndarray
    train_error: np.ndarray
    train_error_se: np.ndarray
    bias: np.ndarray
    bias_se: np.ndarray
    variance: np.ndarray
    variance_se: np.ndarray
    initialization: np.ndarray
    initialization_se: np.ndarray
    reference: str = REGRESSION_REFERENCE


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def _iv(*, n_samples, n_features, ridge_penalty, learning_rate, init_variance, time, mode, trials):
    n = positive_int("n_samples", n_samples)
    p = positive_int("n_features", n_features)
    gamma = non_negative("ridge_penalty", ridge_penalty)
    alpha = positive("learning_rate", learning_rate)
    s0 = non_negative("init_variance", init_variance)
    trials = positive_int("trials", trials)
    if mode not in ("flow", "gd"):
        raise InvalidParameterError("mode", f'`mode` must be "flow" or "gd", got {mode!r}.')
    t = finite_array("time", np.atleast_1d(np.asarray(time, dtype=np.float64)))
    if t.size == 0 or np.any(t < 0):
        raise InvalidParameterError("time", "`time` must be a non-empty array of values >= 0.")
    if mode == "gd" and np.any(t != np.round(t)):
        raise InvalidParameterError("time", '`time` must be integer step counts when `mode` is "gd".')
    return n, p, gamma, alpha, s0, t, trials


def _filter(z: np.ndarray, t: np.ndarray, alpha: float, mode: str):
    """f(z) and (1 − f(z))/z on (z, t) for z > 0 (a direct, literal evaluation)."""
    zz, tt = z[:, None], t[None, :]
    if mode == "flow":
        one_minus_f = -np.expm1(-alpha * tt * zz)
        f = 1.0 - one_minus_f
    else:
        f = np.power(1.0 - alpha * zz, tt)
        one_minus_f = 1.0 - f
    return f, one_minus_f / zz


def _null_filter(gamma: float, t: np.ndarray, alpha: float, mode: str) -> np.ndarray:
    if mode == "flow":
        return np.exp(-alpha * gamma * t)
    return np.power(1.0 - alpha * gamma, t)


def _eigenbasis(data: np.ndarray, n: int):
    """Eigenvalues λ > 0 and orthonormal U (p × r) of (1/n)·data·dataᵀ, data p × n (docs/methods/dynamics.md §6).

    Factorises the smaller of the p × p and n × n Gram matrices; for p > n, U = data·V/√(nλ).
    """
    p = data.shape[0]
    if p <= n:
        lam, u = np.linalg.eigh(data @ data.T / n)
        return np.maximum(lam, 0.0), u
    lam, v = np.linalg.eigh(data.T @ data / n)
    lam = np.maximum(lam, 0.0)
    u = data @ (v / np.sqrt(n * np.where(lam > 0, lam, np.inf)))
    return lam, u


def _mean_se(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = samples.mean(axis=0)
    if samples.shape[0] < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])


# ------------------------------------------------------------------------------------------------
# Classification
# ------------------------------------------------------------------------------------------------


def simulate_gradient_descent_classification(
    *,
    n_samples: int,
    n_features: int,
    mean_norm_squared: float,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time,
    mode: str = "flow",
    trials: int = 10,
    rng=None,
) -> GradientDescentClassificationSimulation:
    """Simulate gradient descent on the two-class Gaussian mixture of Liao & Couillet (ICML 2018).

    Data x_i = y_i μ + z_i, z_i ~ N(0, I_p), y_i = ±1 with probability 1/2, ‖μ‖² = ρ; loss
    (1/2n)‖y − Xᵀw‖² + (γ/2)‖w‖²; w₀ ~ N(0, σ²I_p/p); exact flow / k GD steps, talk eqs. (15)-(16)
    (arXiv:1805.11917; ``docs/methods/dynamics.md`` §1, §6).

    Parameters
    ----------
    n_samples, n_features
        n and p.
    mean_norm_squared
        ρ = ‖μ‖² ≥ 0.
    ridge_penalty, learning_rate, init_variance
        γ ≥ 0, α > 0, σ² ≥ 0 (as in :func:`solvers.dynamics.gradient_descent_classification`).
    time
        Times t ≥ 0, or integer step counts for ``mode="gd"``.
    mode
        ``"flow"`` or ``"gd"``.
    trials
        Number of independent draws.
    rng
        Anything ``np.random.default_rng`` accepts (SPEC 7).

    Returns
    -------
    GradientDescentClassificationSimulation
    """
    n, p, gamma, alpha, s0, t, trials = _iv(
        n_samples=n_samples,
        n_features=n_features,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        time=time,
        mode=mode,
        trials=trials,
    )
    rho = non_negative("mean_norm_squared", mean_norm_squared)
    gen = rng_from(rng)
    mu = np.zeros(p)
    mu[0] = np.sqrt(rho)  # the noise is isotropic: the direction of μ does not matter
    names = ("train", "test", "e_train", "v_train", "e_test", "v_test")
    samples = {k: np.empty((trials, t.size)) for k in names}
    null_f = _null_filter(gamma, t, alpha, mode)
    for i in range(trials):
        y = np.where(gen.random(n) < 0.5, -1.0, 1.0)
        x = gen.standard_normal((p, n)) + np.outer(mu, y)
        w0 = gen.standard_normal(p) * np.sqrt(s0 / p)
        lam, u = _eigenbasis(x, n)
        keep = lam > 0
        lam, u = lam[keep], u[:, keep]
        f, h = _filter(lam + gamma, t, alpha, mode)
        coef = f * (u.T @ w0)[:, None] + h * (u.T @ (x @ y / n))[:, None]
        w0_perp = w0 - u @ (u.T @ w0)
        mu_w = (u.T @ mu) @ coef + null_f * (mu @ w0_perp)
        norm2 = np.sum(coef * coef, axis=0) + null_f**2 * (w0_perp @ w0_perp)
        scores = y[:, None] * (x.T @ (u @ coef))  # Xᵀ kills the null-space part
        samples["train"][i] = np.mean(scores < 0, axis=0) + 0.5 * np.mean(scores == 0, axis=0)
        positive_norm = norm2 > 0
        ratio = np.divide(mu_w, np.sqrt(norm2), out=np.zeros_like(mu_w), where=positive_norm)
        samples["test"][i] = ndtr(-ratio)
        samples["e_train"][i] = scores.mean(axis=0)
        samples["v_train"][i] = scores.var(axis=0)
        samples["e_test"][i] = mu_w
        samples["v_test"][i] = norm2
    stats = {k: _mean_se(v) for k, v in samples.items()}
    return GradientDescentClassificationSimulation(
        time=t,
        n_samples=n,
        n_features=p,
        trials=trials,
        train_error=stats["train"][0],
        train_error_se=stats["train"][1],
        test_error=stats["test"][0],
        test_error_se=stats["test"][1],
        e_train=stats["e_train"][0],
        e_train_se=stats["e_train"][1],
        v_train=stats["v_train"][0],
        v_train_se=stats["v_train"][1],
        e_test=stats["e_test"][0],
        e_test_se=stats["e_test"][1],
        v_test=stats["v_test"][0],
        v_test_se=stats["v_test"][1],
    )


# ------------------------------------------------------------------------------------------------
# Regression
# ------------------------------------------------------------------------------------------------


def simulate_gradient_descent_regression(
    *,
    n_samples: int,
    n_features: int,
    signal_strength: float,
    noise_variance: float,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time,
    mode: str = "flow",
    trials: int = 10,
    rng=None,
) -> GradientDescentRegressionSimulation:
    """Simulate gradient descent on least squares y = Xβ + ε (``docs/methods/linear_ridge.md`` §1).

    X ∈ R^{n×p} with N(0, 1) entries (rows are samples), β uniform on the sphere of radius r,
    ε ~ N(0, σ²I_n), w₀ ~ N(0, σ₀²I_p/p); loss (1/2n)‖y − Xw‖² + (γ/2)‖w‖² trained by exact
    gradient flow or k GD steps as in Liao & Couillet, ICML 2018 (arXiv:1805.11917), talk eqs.
    (15)-(16) (``docs/methods/dynamics.md`` §1, §6); theory in
    ``docs/derivations/gradient_descent_regression.md``.

    Parameters
    ----------
    n_samples, n_features
        n and p.
    signal_strength
        r² = ‖β‖² ≥ 0.
    noise_variance
        σ² ≥ 0 of ε.
    ridge_penalty, learning_rate, init_variance
        γ ≥ 0, α > 0, σ₀² ≥ 0.
    time
        Times t ≥ 0, or integer step counts for ``mode="gd"``.
    mode
        ``"flow"`` or ``"gd"``.
    trials
        Number of independent draws.
    rng
        Anything ``np.random.default_rng`` accepts (SPEC 7).

    Returns
    -------
    GradientDescentRegressionSimulation
    """
    n, p, gamma, alpha, s0, t, trials = _iv(
        n_samples=n_samples,
        n_features=n_features,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        time=time,
        mode=mode,
        trials=trials,
    )
    r2 = non_negative("signal_strength", signal_strength)
    s2 = non_negative("noise_variance", noise_variance)
    gen = rng_from(rng)
    names = ("risk", "train", "bias", "variance", "init")
    samples = {k: np.empty((trials, t.size)) for k in names}
    null_f = _null_filter(gamma, t, alpha, mode)
    for i in range(trials):
        x = gen.standard_normal((n, p))
        beta = gen.standard_normal(p)
        beta *= np.sqrt(r2) / np.linalg.norm(beta)
        y = x @ beta + np.sqrt(s2) * gen.standard_normal(n)
        w0 = gen.standard_normal(p) * np.sqrt(s0 / p)
        lam, u = _eigenbasis(x.T, n)  # eigenbasis of Σ̂ = XᵀX/n (p × p)
        keep = lam > 0
        lam, u = lam[keep], u[:, keep]
        rank = lam.size
        f, h = _filter(lam + gamma, t, alpha, mode)
        beta_u = u.T @ beta
        w0_u = u.T @ w0
        coef = f * w0_u[:, None] + h * (u.T @ (x.T @ y / n))[:, None]
        beta_perp = beta - u @ beta_u
        w0_perp = w0 - u @ w0_u
        resid_perp = null_f**2 * (w0_perp @ w0_perp) - 2.0 * null_f * (w0_perp @ beta_perp) + beta_perp @ beta_perp
        samples["risk"][i] = np.sum((coef - beta_u[:, None]) ** 2, axis=0) + resid_perp
        residual = y[:, None] - x @ (u @ coef)  # X kills the null-space part of w
        samples["train"][i] = np.mean(residual**2, axis=0)
        shrink = 1.0 - lam[:, None] * h
        samples["bias"][i] = np.sum((shrink * beta_u[:, None]) ** 2, axis=0) + beta_perp @ beta_perp
        samples["variance"][i] = s2 / n * np.sum(lam[:, None] * h * h, axis=0)
        samples["init"][i] = s0 / p * (np.sum(f * f, axis=0) + (p - rank) * null_f**2)
    stats = {k: _mean_se(v) for k, v in samples.items()}
    test = _mean_se(samples["risk"] + s2)
    return GradientDescentRegressionSimulation(
        time=t,
        n_samples=n,
        n_features=p,
        trials=trials,
        risk=stats["risk"][0],
        risk_se=stats["risk"][1],
        test_mse=test[0],
        test_mse_se=test[1],
        train_error=stats["train"][0],
        train_error_se=stats["train"][1],
        bias=stats["bias"][0],
        bias_se=stats["bias"][1],
        variance=stats["variance"][0],
        variance_se=stats["variance"][1],
        initialization=stats["init"][0],
        initialization_se=stats["init"][1],
    )


# --- Simulation-job kinds `gradient_descent_*` (solvers.montecarlo.engine) ----------------------
# `time` is the endpoint's times (grid points already rounded to step counts for `gd`).

_CLASSIFICATION_QUANTITIES = ("train_error", "test_error")
_REGRESSION_QUANTITIES = ("bias", "variance", "initialization", "risk", "test_mse", "train_error")


def gradient_descent_classification_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    mean_norm_squared: float,
    ridge_penalty: float = 0.0,
    learning_rate: float = 1.0,
    init_variance: float = 0.0,
    time,
    mode: str = "flow",
) -> TrialDraw:
    """One draw of (X, y, w₀) of :func:`simulate_gradient_descent_classification`.

    For each time in order: the fraction of misclassified training points and the exact test
    error Q(μᵀw/‖w‖) given w(t) (Liao & Couillet 2018; docs/methods/dynamics.md §6).
    """
    simulation = simulate_gradient_descent_classification(
        n_samples=n_samples,
        n_features=n_features,
        mean_norm_squared=mean_norm_squared,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        time=at_most_points("time", time),
        mode=mode,
        trials=1,
        rng=rng,
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
    time,
    mode: str = "flow",
) -> SimulationPrediction:
    """Limiting train and test error rates at each time, at the simulated p/n.

    :func:`solvers.dynamics.gradient_descent_classification` (Liao & Couillet, ICML 2018;
    docs/methods/dynamics.md §2). At t = 0 with w₀ = 0 both rates are undefined (``nan``).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    times = at_most_points("time", time)
    law = gradient_descent_classification(
        ratio=n_features / n_samples,
        mean_norm_squared=mean_norm_squared,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        time=times,
        mode=mode,  # type: ignore[arg-type]  # validated by the solver
    )
    values = np.stack([law.train_error, law.test_error], axis=1)
    names = tuple(f"{q}[time={t:g}]" for t in times.tolist() for q in _CLASSIFICATION_QUANTITIES)
    return SimulationPrediction(
        names=names,
        values=values.reshape(-1),
        cdf_grid=None,
        cdf=None,
        reference=law.reference,
        notes=(ratio_note(n_features, n_samples), *law.notes),
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
    time,
    mode: str = "flow",
) -> TrialDraw:
    """One draw of (X, β, ε, w₀) of :func:`simulate_gradient_descent_regression`.

    For each time in order: the conditional (given X, β) bias, variance and initialization terms,
    the sampled excess risk ‖w(t) − β‖², test MSE = risk + σ² and training error
    (docs/derivations/gradient_descent_regression.md; docs/methods/dynamics.md §6).
    """
    s = simulate_gradient_descent_regression(
        n_samples=n_samples,
        n_features=n_features,
        signal_strength=signal_strength,
        noise_variance=noise_variance,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        time=at_most_points("time", time),
        mode=mode,
        trials=1,
        rng=rng,
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
    time,
    mode: str = "flow",
) -> SimulationPrediction:
    """Limiting bias, variance, initialization, risk, test MSE and train error at each time.

    :func:`solvers.dynamics.gradient_descent_regression` at the simulated p/n (Liao & Couillet 2018;
    Ali, Kolter & Tibshirani 2019; docs/derivations/gradient_descent_regression.md).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    times = at_most_points("time", time)
    law = gradient_descent_regression(
        ratio=n_features / n_samples,
        signal_strength=signal_strength,
        noise_variance=noise_variance,
        ridge_penalty=ridge_penalty,
        learning_rate=learning_rate,
        init_variance=init_variance,
        time=times,
        mode=mode,  # type: ignore[arg-type]  # validated by the solver
    )
    values = np.stack([np.asarray(getattr(law, q), dtype=np.float64) for q in _REGRESSION_QUANTITIES], axis=1)
    names = tuple(f"{q}[time={t:g}]" for t in times.tolist() for q in _REGRESSION_QUANTITIES)
    return SimulationPrediction(
        names=names,
        values=values.reshape(-1),
        cdf_grid=None,
        cdf=None,
        reference=law.reference,
        notes=(ratio_note(n_features, n_samples), *law.notes),
    )
