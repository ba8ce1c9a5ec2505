"""Monte Carlo simulator of random-features ridge regression (docs/methods/random_features.md §4).

The network of Louart, Liao & Couillet (2018) is simulated directly: for fixed data, each trial
draws W (N × p, i.i.d. N(0, 1)), forms Σ = σ(W X) (N × n) and Σ̂ = σ(W X̂), trains
β = (1/n) Σ((1/n)ΣᵀΣ + γI_n)⁻¹ y and records E_train = (1/n)‖y − Σᵀβ‖² and
E_test = (1/n̂)‖ŷ − Σ̂ᵀβ‖². Per trial, the smaller Gram matrix ((1/n)ΣᵀΣ if N ≥ n, (1/n)ΣΣᵀ
otherwise) is factorised once per ridge penalty (Cholesky), or eigendecomposed once for many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg

from solvers._validation import positive_int, rng_from
from solvers.activations import Activation, as_activation
from solvers.exceptions import InvalidParameterError
from solvers.montecarlo.engine import SimulationPrediction, TrialDraw, at_most_points
from solvers.random_features import (
    deterministic_equivalent,
    random_features_ridge,
    training_data,
    training_inputs,
    validate_grid,
)

REFERENCE = (
    "Direct simulation of the random-features ridge regression of Louart, Liao & Couillet "
    "(2018), Ann. Appl. Probab. 28(2), Eq. (1) (β, E_train) and Sec. 3.2 (E_test); "
    "docs/methods/random_features.md §0, §4"
)


@dataclass(frozen=True, slots=True)
class RandomFeaturesSimulation:
    """Monte Carlo train/test MSE of random-features ridge regression, per ridge penalty.

    Arrays indexed by penalty have shape ``(len(ridge_penalty),)``; per-trial arrays have
    shape ``(trials, len(ridge_penalty))``. Standard errors are the sample standard deviation
    over trials (ddof = 1) divided by √trials.

    Attributes
    ----------
    n_neurons
        N.
    ridge_penalty
        γ values.
    trials
        Number of independent draws of W (data fixed).
    train_mse, test_mse
        Means over trials of E_train and E_test.
    train_mse_standard_error, test_mse_standard_error
        Their standard errors.
    train_mse_median, test_mse_median
        Medians over trials (the test error is heavy-tailed near N = n, docs/methods/random_features.md §6 pitfall 9).
    train_mse_trials, test_mse_trials
        Per-trial values.
    seed_entropy
        ``SeedSequence.entropy`` when ``rng`` was a seed (SPEC 7), else ``None``.
    reference
        What is simulated.
    """

    n_neurons: int
    ridge_penalty: np.ndarray
    trials: int
    train_mse: np.ndarray
    test_mse: np.ndarray
    train_mse_standard_error: np.ndarray
    test_mse_standard_error: np.ndarray
    train_mse_median: np.ndarray
    test_mse_median: np.ndarray
    train_mse_trials: np.ndarray
    test_mse_trials: np.ndarray
    seed_entropy: int | None
    reference: str = REFERENCE


def _one_trial(sig, sig_test, y, y_test, gammas):
    """Errors of one draw of W for every γ (docs/methods/random_features.md §5 cost model).

    Works with the smaller Gram matrix ((1/n)ΣᵀΣ, n × n, if N ≥ n; else (1/n)ΣΣᵀ, N × N, by the
    push-through identity). Up to four penalties: one Cholesky factorisation each (m³/3 flops);
    more: one eigendecomposition shared by all.
    """
    n_neurons, n = sig.shape
    n_test = y_test.shape[0]
    wide = n_neurons >= n
    # N ≥ n: α = ((1/n)ΣᵀΣ + γI)⁻¹ y, β = Σα/n, and the train residual y − (1/n)ΣᵀΣα = γα exactly.
    # N < n: β = ((1/n)ΣΣᵀ + γI_N)⁻¹ (1/n)Σy.
    gram = (sig.T @ sig if wide else sig @ sig.T) / n
    rhs = y if wide else sig @ y / n
    if gammas.size <= 4:
        solutions = []
        for g in gammas:
            shifted = gram.copy()
            shifted.flat[:: gram.shape[0] + 1] += g
            solutions.append(linalg.cho_solve(linalg.cho_factor(shifted, lower=True, check_finite=False), rhs))
    else:
        lam, vec = np.linalg.eigh(gram)
        proj = vec.T @ rhs
        solutions = [vec @ (proj / (np.maximum(lam, 0.0) + g)[:, None]) for g in gammas]
    train = np.empty(gammas.size)
    test = np.empty(gammas.size)
    for i, (g, sol) in enumerate(zip(gammas, solutions, strict=True)):
        if wide:
            beta = sig @ sol / n
            train[i] = g * g * np.sum(sol * sol) / n
        else:
            beta = sol
            resid = y - sig.T @ beta
            train[i] = np.sum(resid * resid) / n
        resid_t = y_test - sig_test.T @ beta
        test[i] = np.sum(resid_t * resid_t) / n_test
    return train, test


def draw_ridge_errors(
    generator: np.random.Generator,
    activation: Activation,
    xt: np.ndarray,
    xt_test: np.ndarray,
    y: np.ndarray,
    y_test: np.ndarray,
    n_neurons: int,
    gammas: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One draw of W (N × p, i.i.d. N(0, 1)): train and test MSE per γ on the fixed data (p × n inputs).

    The one draw of this topic, shared by :func:`simulate_random_features_ridge` and
    :func:`random_features_ridge_trial`.
    """
    w = generator.standard_normal((n_neurons, xt.shape[0]))
    return _one_trial(activation(w @ xt), activation(w @ xt_test), y, y_test, gammas)


def simulate_random_features_ridge(
    *,
    activation: Activation | str,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    n_neurons: int,
    ridge_penalty: Any,
    trials: int,
    rng: np.random.Generator | int | np.random.SeedSequence | None = None,
) -> RandomFeaturesSimulation:
    """Simulate train/test MSE of random-features ridge regression over draws of W.

    Parameters
    ----------
    activation
        Activation σ.
    x, x_test
        Inputs (n × p, n_test × p), one sample per row (held fixed over trials).
    y, y_test
        Targets (n,) / (n_test,) or (n, d) / (n_test, d).
    n_neurons
        N ≥ 1.
    ridge_penalty
        γ > 0, a number or a 1-D list; all use the same draws of W.
    trials
        Independent draws of W (≥ 2 for standard errors).
    rng
        Anything ``numpy.random.default_rng`` accepts (SPEC 7). W of trial t is drawn after
        those of trials 0..t−1 from one stream, so a seed reproduces every trial.

    Returns
    -------
    RandomFeaturesSimulation

    Notes
    -----
    Simulates Louart, Liao & Couillet (2018), Ann. Appl. Probab., Eq. (1) (β and E_train) and
    Sec. 3.2 (E_test) in the conventions of docs/methods/random_features.md §0; compare with
    :func:`solvers.random_features.random_features_ridge` (docs/methods/random_features.md §4 for measured agreement).
    """
    activation = as_activation(activation)
    x, y, x_test, y_test = training_data(x, y, x_test, y_test)
    n_neurons = positive_int("n_neurons", n_neurons)
    gammas = validate_grid("ridge_penalty", ridge_penalty, integer=False)
    trials = positive_int("trials", trials)
    if trials < 2:
        raise InvalidParameterError("trials", f"`trials` must be >= 2 for standard errors, got {trials!r}.")
    seed_entropy = None
    if not isinstance(rng, np.random.Generator):
        seq = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(rng)
        seed_entropy = int(seq.entropy) if isinstance(seq.entropy, int) else None
        rng = seq
    generator = rng_from(rng)

    xt = x.T  # paper convention X = xᵀ (p × n)
    xt_test = x_test.T
    train = np.empty((trials, gammas.size))
    test = np.empty((trials, gammas.size))
    for t in range(trials):  # one draw of W and one eigendecomposition per trial
        train[t], test[t] = draw_ridge_errors(generator, activation, xt, xt_test, y, y_test, n_neurons, gammas)
    root = np.sqrt(trials)
    return RandomFeaturesSimulation(
        n_neurons=n_neurons,
        ridge_penalty=gammas,
        trials=trials,
        train_mse=train.mean(axis=0),
        test_mse=test.mean(axis=0),
        train_mse_standard_error=train.std(axis=0, ddof=1) / root,
        test_mse_standard_error=test.std(axis=0, ddof=1) / root,
        train_mse_median=np.median(train, axis=0),
        test_mse_median=np.median(test, axis=0),
        train_mse_trials=train,
        test_mse_trials=test,
        seed_entropy=seed_entropy,
    )


# --- Simulation-job kinds `random_features_*` (solvers.montecarlo.engine) -----------------------
# The data are fixed (the theorems are conditional on them): only the first layer W is random.


def random_features_ridge_trial(
    *,
    rng: np.random.Generator,
    activation: Activation,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    n_neurons: int,
    ridge_penalty,
) -> TrialDraw:
    """One draw of W of :func:`simulate_random_features_ridge` (its :func:`draw_ridge_errors`).

    For each ridge penalty γ in order: E_train = (1/n)‖y − Σᵀβ‖² and E_test = (1/n̂)‖ŷ − Σ̂ᵀβ‖² of
    β = (1/n)Σ((1/n)ΣᵀΣ + γI)⁻¹y, Σ = σ(WX), on the fixed data (Louart, Liao & Couillet 2018,
    Eq. (1) and Sec. 3.2; docs/methods/random_features.md §0, §4).
    """
    x, y, x_test, y_test = training_data(x, y, x_test, y_test)
    gammas = at_most_points("ridge_penalty", ridge_penalty)
    train, test = draw_ridge_errors(rng, as_activation(activation), x.T, x_test.T, y, y_test, n_neurons, gammas)
    return TrialDraw(values=np.stack([train, test], axis=1).reshape(-1))


def random_features_ridge_prediction(
    *,
    activation: Activation,
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    n_neurons: int,
    ridge_penalty,
) -> SimulationPrediction:
    """Deterministic-equivalent train and test MSE for the job's N and each γ, on the same data.

    :func:`solvers.random_features.random_features_ridge` (Louart, Liao & Couillet 2018, Thm. 2–3;
    docs/methods/random_features.md §3).
    """
    n_neurons = positive_int("n_neurons", n_neurons)
    x, y, x_test, y_test = training_data(x, y, x_test, y_test)
    gammas = at_most_points("ridge_penalty", ridge_penalty)
    law = random_features_ridge(
        activation=activation,
        x=x,
        y=y,
        x_test=x_test,
        y_test=y_test,
        n_neurons=[n_neurons],
        ridge_penalty=gammas,
        optimize=False,
    )
    values = np.stack([law.train_mse[0], law.test_mse[0]], axis=1)
    names = tuple(f"{q}[ridge_penalty={g:g}]" for g in gammas.tolist() for q in ("train_mse", "test_mse"))
    notes = (
        f"N = {n_neurons} random features on the request's data (n = {x.shape[0]}, p = {x.shape[1]}, "
        f"n_test = {x_test.shape[0]}); only W is redrawn per trial.",
    )
    return SimulationPrediction(
        names=names,
        values=values.reshape(-1),
        cdf_grid=None,
        cdf=None,
        reference=law.reference,
        notes=(*notes, *law.warnings, *law.notes),
    )


def random_features_resolvent_trial(
    *, rng: np.random.Generator, activation: Activation, x: np.ndarray, n_neurons: int, ridge_penalty: float
) -> TrialDraw:
    """One draw of W: the normalized trace (1/n) tr Q of Q = ((1/n)ΣᵀΣ + γI_n)⁻¹, Σ = σ(WX).

    From the eigenvalues of the smaller Gram matrix; when N < n the n − N zero eigenvalues of
    (1/n)ΣᵀΣ add (n − N)/γ (Louart, Liao & Couillet 2018, Thm. 1; docs/methods/random_features.md §2).
    """
    x, _ = training_inputs(x, None)
    n = x.shape[0]
    w = rng.standard_normal((n_neurons, x.shape[1]))
    features = as_activation(activation)(w @ x.T)  # N × n
    gram = (features.T @ features if n_neurons >= n else features @ features.T) / n
    eigenvalues = np.maximum(np.linalg.eigvalsh(gram), 0.0)
    trace = (np.sum(1.0 / (eigenvalues + ridge_penalty)) + max(n - n_neurons, 0) / ridge_penalty) / n
    return TrialDraw(values=np.array([trace]))


def random_features_resolvent_prediction(
    *, activation: Activation, x: np.ndarray, n_neurons: int, ridge_penalty: float
) -> SimulationPrediction:
    """(1/n) tr Q̄ of the deterministic equivalent, on the same data.

    :func:`solvers.random_features.deterministic_equivalent` (Louart, Liao & Couillet 2018, Thm. 1;
    docs/methods/random_features.md §2.1).
    """
    law = deterministic_equivalent(activation=activation, x=x, n_neurons=n_neurons, ridge_penalty=ridge_penalty)
    notes = (f"N = {n_neurons} random features on the request's data; only W is redrawn per trial.",)
    return SimulationPrediction(
        names=("normalized_trace",),
        values=np.array([law.normalized_trace]),
        cdf_grid=None,
        cdf=None,
        reference=law.reference,
        notes=(*notes, *law.warnings),
    )
