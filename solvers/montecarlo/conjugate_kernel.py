"""Monte Carlo simulators of the conjugate kernel and of the one-step gradient spike (docs/methods/conjugate_kernel.md §3–§5).

Pure numpy/scipy: W (N × p) with unit-variance entries, X (p × n) with variance-1/p entries (docs/methods/conjugate_kernel.md §1),
Σ = σ(WX), K_N = (1/n)ΣΣᵀ, K_n = (1/n)ΣᵀΣ; eigenproblems are solved on the smaller side and the
structural zeros appended exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import LinearOperator, eigsh

from solvers import _validation as v
from solvers.activations import Activation, _as_activation, activation_moments
from solvers.exceptions import InvalidParameterError
from solvers.montecarlo._statistics import mean_and_standard_error
from solvers.one_step_gradient import DISCONTINUOUS

__all__ = ["ConjugateKernelSimulation", "OneStepGradientSimulation", "simulate_conjugate_kernel", "simulate_one_step_gradient"]

REFERENCE_CK = (
    "Direct simulation of (1/n)σ(WX)ᵀσ(WX); limits in Pennington & Worah (2017) Thm 1, Benigni & Péché (2021, 2022); "
    "docs/methods/conjugate_kernel.md §3-§4"
)
REFERENCE_ONE_STEP = "Direct simulation of one full gradient step; limit in Ba et al. (2022), talk eq. (21); docs/methods/conjugate_kernel.md §5"


def _draw(rng: np.random.Generator, shape: tuple[int, int], law: str, axis: int, variance: float) -> np.ndarray:
    """Entries of variance ``variance``: Gaussian, Rademacher, or Gaussian normalised along ``axis`` (spherical)."""
    if law == "rademacher":
        return np.sqrt(variance) * (2.0 * rng.integers(0, 2, size=shape) - 1.0)
    z = rng.standard_normal(shape)
    if law == "spherical":
        length = shape[axis]
        z *= np.sqrt(length / np.sum(z * z, axis=axis, keepdims=True))
    return np.sqrt(variance) * z


@dataclass(frozen=True, slots=True)
class ConjugateKernelSimulation:
    """Eigenvalues of the conjugate kernel over independent trials.

    Attributes
    ----------
    eigenvalues
        (trials, dim) ascending eigenvalues of the requested matrix (dim = n for ``gram``, N for
        ``features``), structural zeros included; ``None`` when only the top ones were computed.
    top_eigenvalues
        (trials, n_top) largest eigenvalues, descending.
    top_mean, top_standard_error
        Mean over trials of each of the top eigenvalues and its standard error.
    matrix, n_samples, n_features, n_neurons, trials
        Echo of the sizes.
    reference
        What was simulated.
    """

    eigenvalues: np.ndarray | None
    top_eigenvalues: np.ndarray
    top_mean: np.ndarray
    top_standard_error: np.ndarray
    matrix: str
    n_samples: int
    n_features: int
    n_neurons: int
    trials: int
    reference: str = REFERENCE_CK


def simulate_conjugate_kernel(
    *,
    activation: Activation | str | Mapping[str, Any],
    n_samples: int,
    n_features: int,
    n_neurons: int,
    matrix: str = "features",
    weight_distribution: str = "gaussian",
    data_distribution: str = "gaussian",
    subtract_mean: bool = False,
    trials: int = 1,
    n_top: int = 3,
    full_spectrum: bool = True,
    rng: np.random.Generator | int | np.random.SeedSequence | None = None,
) -> ConjugateKernelSimulation:
    """Simulate the spectrum of K_N = (1/n)σ(WX)σ(WX)ᵀ or K_n = (1/n)σ(WX)ᵀσ(WX).

    W (N × p) has entries of variance 1 and X (p × n) of variance 1/p, Gaussian, Rademacher or
    spherical (rows of W of norm √p, columns of X of norm 1), as in Pennington & Worah (2017), Thm 1
    and docs/methods/conjugate_kernel.md §1, §4.

    Parameters
    ----------
    activation
        σ of the catalogue; with ``subtract_mean`` the network uses σ − E σ(ξ) (docs/methods/conjugate_kernel.md §2).
    n_samples, n_features, n_neurons
        n, p, N.
    matrix
        ``"features"`` (K_N, N × N) or ``"gram"`` (K_n, n × n).
    weight_distribution, data_distribution
        ``"gaussian"``, ``"rademacher"`` or ``"spherical"``.
    trials
        Independent draws.
    n_top
        How many of the largest eigenvalues to report.
    full_spectrum
        ``True``: all eigenvalues (dense ``eigvalsh``); ``False``: only the top ``n_top`` by Lanczos
        (``eigsh``, start vector from ``rng``), much cheaper for outlier studies.
    rng
        Anything ``numpy.random.default_rng`` accepts (SPEC 7).

    Returns
    -------
    ConjugateKernelSimulation
    """
    act = _as_activation(activation)
    n = v.positive_int("n_samples", n_samples)
    p = v.positive_int("n_features", n_features)
    big_n = v.positive_int("n_neurons", n_neurons)
    trials = v.positive_int("trials", trials)
    n_top = v.positive_int("n_top", n_top)
    if matrix not in ("gram", "features"):
        raise InvalidParameterError("matrix", f"`matrix` must be 'gram' or 'features', got {matrix!r}.")
    for name, law in (("weight_distribution", weight_distribution), ("data_distribution", data_distribution)):
        if law not in ("gaussian", "rademacher", "spherical"):
            raise InvalidParameterError(name, f"`{name}` must be 'gaussian', 'rademacher' or 'spherical', got {law!r}.")
    dim = n if matrix == "gram" else big_n
    if n_top > min(n, big_n):
        raise InvalidParameterError("n_top", f"`n_top` must be <= min(n_samples, n_neurons) = {min(n, big_n)}.")
    shift = activation_moments(activation=act).mean if subtract_mean else 0.0
    gen = v.rng_from(rng)
    small = min(n, big_n)
    spectra = np.zeros((trials, dim)) if full_spectrum else None
    tops = np.empty((trials, n_top))
    for t in range(trials):
        w = _draw(gen, (big_n, p), weight_distribution, axis=1, variance=1.0)
        x = _draw(gen, (p, n), data_distribution, axis=0, variance=1.0 / p)
        sig = act(w @ x)
        if shift:
            sig -= shift
        sig /= np.sqrt(n)
        if full_spectrum:
            gram = sig.T @ sig if n <= big_n else sig @ sig.T  # BLAS syrk: exactly symmetric
            values = np.maximum(scipy.linalg.eigvalsh(gram, check_finite=False), 0.0)
            spectra[t, dim - small :] = values  # type: ignore[index]
            tops[t] = values[::-1][:n_top]
        else:
            def matvec(vec, sig=sig):
                return sig.T @ (sig @ vec) if n <= big_n else sig @ (sig.T @ vec)

            op = LinearOperator((small, small), matvec=matvec, dtype=np.float64)
            values = eigsh(op, k=n_top, which="LA", v0=gen.standard_normal(small), return_eigenvectors=False)
            tops[t] = np.sort(values)[::-1]
    mean, se = mean_and_standard_error(tops)
    return ConjugateKernelSimulation(spectra, tops, mean, se, matrix, n, p, big_n, trials)


@dataclass(frozen=True, slots=True)
class OneStepGradientSimulation:
    """Top singular value of W₁ = W₀ + √N η G₀ over trials, G₀ the full (not rank-one) gradient.

    Attributes
    ----------
    learning_rate
        The step sizes η.
    top_singular_value
        (trials, len(η)) s₁(W₁).
    alignment
        (trials, len(η)) |⟨v̂₁, β*⟩|², v̂₁ the top right singular vector of W₁.
    realized_slope
        (trials,) ϑ/η = |μ₁|‖β₀‖‖Xy‖/n realised in each trial.
    mean, standard_error
        Mean and standard error over trials of ``top_singular_value``.
    alignment_mean, alignment_standard_error
        Same for ``alignment``.
    reference
        What was simulated.
    """

    learning_rate: np.ndarray
    top_singular_value: np.ndarray
    alignment: np.ndarray
    realized_slope: np.ndarray
    mean: np.ndarray
    standard_error: np.ndarray
    alignment_mean: np.ndarray
    alignment_standard_error: np.ndarray
    reference: str = REFERENCE_ONE_STEP


def _derivative(act: Activation, z: np.ndarray) -> np.ndarray:
    """σ'(z) by a central difference of step 1e-6 (error ~1e-12 for the smooth members, exact a.e. for
    the piecewise-linear ones)."""
    h = 1e-6
    return (act(z + h) - act(z - h)) / (2.0 * h)


def simulate_one_step_gradient(
    *,
    activation: Activation | str | Mapping[str, Any],
    link: Activation | str | Mapping[str, Any],
    noise_variance: float = 0.0,
    n_samples: int,
    n_features: int,
    n_neurons: int,
    learning_rate: float | np.ndarray | list[float],
    trials: int = 1,
    rng: np.random.Generator | int | np.random.SeedSequence | None = None,
) -> OneStepGradientSimulation:
    """Simulate one full gradient step of the two-layer model of docs/methods/conjugate_kernel.md §5 (talk eq. (19)).

    W₀ i.i.d. N(0, 1/p), β₀ i.i.d. N(0, 1/N), x_i ~ N(0, I_p), β* uniform on the sphere,
    y = f*(Xᵀβ*) + √(noise_variance) ε, f₀ = β₀ᵀσ(W₀X)/√N and
    G₀ = (1/n)[((1/√N)β₀(y − f₀)ᵀ) ⊙ σ'(W₀X)]Xᵀ (Ba et al. 2022; talk eqs. (19)–(21));
    W₁ = W₀ + √N η G₀ for every η.

    Parameters
    ----------
    activation, link
        Student σ and teacher f* (catalogue names or objects).
    noise_variance
        Var ε.
    n_samples, n_features, n_neurons
        n, p, N.
    learning_rate
        η values.
    trials
        Independent draws of (W₀, β₀, X, β*, ε).
    rng
        Anything ``numpy.random.default_rng`` accepts (SPEC 7).

    Returns
    -------
    OneStepGradientSimulation
    """
    act = _as_activation(activation)
    if act.name in DISCONTINUOUS:
        raise InvalidParameterError("activation", f"`activation` {act.name!r} has derivative 0 almost everywhere.")
    f_star = _as_activation(link)
    noise = v.non_negative("noise_variance", noise_variance)
    n = v.positive_int("n_samples", n_samples)
    p = v.positive_int("n_features", n_features)
    big_n = v.positive_int("n_neurons", n_neurons)
    trials = v.positive_int("trials", trials)
    eta = v.finite_array("learning_rate", np.atleast_1d(np.asarray(learning_rate, dtype=np.float64)))
    mu1 = activation_moments(activation=act).mean_derivative
    gen = v.rng_from(rng)
    tops = np.empty((trials, eta.size))
    aligns = np.empty((trials, eta.size))
    slopes = np.empty(trials)
    for t in range(trials):
        w0 = gen.standard_normal((big_n, p)) / np.sqrt(p)
        beta0 = gen.standard_normal(big_n) / np.sqrt(big_n)
        x = gen.standard_normal((p, n))
        star = gen.standard_normal(p)
        star /= np.linalg.norm(star)
        y = f_star(star @ x) + np.sqrt(noise) * gen.standard_normal(n)
        pre = w0 @ x
        f0 = beta0 @ act(pre) / np.sqrt(big_n)
        g0 = ((np.outer(beta0, y - f0) / np.sqrt(big_n)) * _derivative(act, pre)) @ x.T / n
        slopes[t] = abs(mu1) * np.linalg.norm(beta0) * np.linalg.norm(x @ y) / n
        for k, step in enumerate(eta):
            w1 = w0 + np.sqrt(big_n) * step * g0
            if p <= big_n:
                val, vec = scipy.linalg.eigh(w1.T @ w1, subset_by_index=[p - 1, p - 1], check_finite=False)
                right = vec[:, 0]
            else:
                val, vec = scipy.linalg.eigh(w1 @ w1.T, subset_by_index=[big_n - 1, big_n - 1], check_finite=False)
                right = w1.T @ vec[:, 0]
                right /= np.linalg.norm(right)
            tops[t, k] = np.sqrt(max(val[0], 0.0))
            aligns[t, k] = float(right @ star) ** 2
    mean, se = mean_and_standard_error(tops)
    amean, ase = mean_and_standard_error(aligns)
    return OneStepGradientSimulation(eta, tops, aligns, slopes, mean, se, amean, ase)
