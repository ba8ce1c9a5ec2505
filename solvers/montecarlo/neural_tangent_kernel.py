"""Monte Carlo of the NTK Gram matrix of a random two-layer network (docs/derivations/neural_tangent_kernel_spectrum.md).

Pure numpy: f(x) = vᵀσ(Wx)/√N, W (N × p) with N(0, 1) entries, X (p × n) with N(0, 1/p) entries, v_k ~ N(0, 1)
(or v normalised to ‖v‖² = N), and the NTK in closed form (derivation §1)

    K = (1/N) σ(WX)ᵀσ(WX) + (XᵀX) ⊙ ((1/N) σ'(WX)ᵀ diag(v)² σ'(WX)).

Two pure functions make the simulation kind `neural_tangent_kernel` (service/jobs/kinds.py): :func:`neural_tangent_kernel_trial` (one
draw → its eigenvalues and M₁) and :func:`neural_tangent_kernel_prediction` (the law at the simulated
ratios → M₁ and the CDF on a grid). Both take solver types only (an :class:`Activation`, integers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from solvers import _validation as v
from solvers.activations import Activation, as_activation
from solvers.exceptions import InvalidParameterError
from solvers.montecarlo.engine import (
    CDF_GRID_POINTS,
    GRID_OVERSHOOT,
    SimulationPrediction,
    TrialDraw,
)
from solvers.neural_tangent_kernel import (
    activation_derivative,
    neural_tangent_kernel_spectrum,
    ntk_activation_constants,
)

__all__ = [
    "NeuralTangentKernelSimulation",
    "neural_tangent_kernel_matrix",
    "neural_tangent_kernel_prediction",
    "neural_tangent_kernel_trial",
    "simulate_neural_tangent_kernel",
]

REFERENCE = (
    "Direct simulation of the NTK Gram matrix of f(x) = vᵀσ(Wx)/√N (gradients in closed form); limit in Fan & Wang "
    "(2020), NeurIPS, §3.2, docs/derivations/neural_tangent_kernel_spectrum.md"
)

OutputWeights = Literal["gaussian", "normalised"]


def neural_tangent_kernel_matrix(activation: Activation, w: np.ndarray, x: np.ndarray, v_out: np.ndarray) -> np.ndarray:
    """K_ij = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩ for θ = (W, v): ∇_v f = σ(Wx)/√N, ∇_W f = (v ⊙ σ'(Wx)) xᵀ/√N."""
    big_n = w.shape[0]
    h = w @ x
    s = activation(h)
    d = activation_derivative(activation, h)
    d *= np.abs(v_out)[:, None]  # diag(v) σ'(WX): its Gram matrix carries the v_k² weights
    return (s.T @ s + (x.T @ x) * (d.T @ d)) / big_n


@dataclass(frozen=True, slots=True)
class NeuralTangentKernelSimulation:
    """Eigenvalues of the NTK Gram matrix over independent trials.

    Attributes
    ----------
    eigenvalues
        (trials, n) ascending eigenvalues.
    n_samples, n_features, n_neurons, trials, output_weights
        Echo of the sizes and of the law of v.
    reference
        What was simulated.
    """

    eigenvalues: np.ndarray
    n_samples: int
    n_features: int
    n_neurons: int
    trials: int
    output_weights: str
    reference: str = REFERENCE


def simulate_neural_tangent_kernel(
    *,
    activation: Activation | str,
    n_samples: int,
    n_features: int,
    n_neurons: int,
    trials: int = 1,
    output_weights: OutputWeights = "gaussian",
    rng: np.random.Generator | int | np.random.SeedSequence | None = None,
) -> NeuralTangentKernelSimulation:
    """Simulate the spectrum of the n × n NTK Gram matrix of a random two-layer network.

    Parameters
    ----------
    activation
        σ of the catalogue (``sign``, ``step`` refused: σ' = 0 a.e.).
    n_samples, n_features, n_neurons
        n, p, N.
    trials
        Independent draws of (W, X, v).
    output_weights
        ``"gaussian"``: v_k ~ N(0, 1) (the endpoint's convention); ``"normalised"``: the same v rescaled to
        ‖v‖² = N, which has the same limit but removes the O(√(2/N)) global fluctuation of ‖v‖²/N that
        multiplies the whole Hadamard term (derivation §8).
    rng
        Anything ``numpy.random.default_rng`` accepts (SPEC 7).

    Returns
    -------
    NeuralTangentKernelSimulation
    """
    act = as_activation(activation)
    activation_derivative(act, np.zeros(1))  # refuses σ' = 0 a.e. before any draw
    n = v.positive_int("n_samples", n_samples)
    p = v.positive_int("n_features", n_features)
    big_n = v.positive_int("n_neurons", n_neurons)
    trials = v.positive_int("trials", trials)
    if output_weights not in ("gaussian", "normalised"):
        raise InvalidParameterError(
            "output_weights", f"`output_weights` must be 'gaussian' or 'normalised', got {output_weights!r}."
        )
    gen = v.rng_from(rng)
    out = np.empty((trials, n))
    for t in range(trials):
        w = gen.standard_normal((big_n, p))
        x = gen.standard_normal((p, n)) / np.sqrt(p)
        v_out = gen.standard_normal(big_n)
        if output_weights == "normalised":
            v_out *= np.sqrt(big_n / np.sum(v_out * v_out))
        out[t] = np.linalg.eigvalsh(neural_tangent_kernel_matrix(act, w, x, v_out))
    return NeuralTangentKernelSimulation(out, n, p, big_n, trials, output_weights)


def _mean_outlier(activation: Activation) -> bool:
    """Whether σ is not centred: (1/N)σ(WX)ᵀσ(WX) then has one eigenvalue ≈ (E σ)² n."""
    k = ntk_activation_constants(activation=activation)
    return abs(k.mean) > 1e-12 * np.sqrt(max(k.theta1, 1e-300))


def neural_tangent_kernel_trial(
    *,
    rng: np.random.Generator,
    n_features: int,
    n_samples: int,
    n_neurons: int,
    activation: Activation,
    output_weights: OutputWeights = "gaussian",
) -> TrialDraw:
    """One draw of (W, X, v): M₁ = (1/n) Σ λ over all eigenvalues but the mean outlier ≈ (E σ)² n, and the spectrum."""
    sim = simulate_neural_tangent_kernel(
        activation=activation,
        n_samples=n_samples,
        n_features=n_features,
        n_neurons=n_neurons,
        trials=1,
        output_weights=output_weights,
        rng=rng,
    )
    eigenvalues = sim.eigenvalues[0]
    bulk = eigenvalues[:-1] if _mean_outlier(activation) else eigenvalues
    return TrialDraw(values=np.array([float(np.sum(bulk)) / eigenvalues.size]), spectrum=eigenvalues)


def neural_tangent_kernel_prediction(
    *,
    n_features: int,
    n_samples: int,
    n_neurons: int,
    activation: Activation,
    output_weights: OutputWeights = "gaussian",
) -> SimulationPrediction:
    """The NTK law at the simulated φ = p/n, r = N/n: M₁ = θ1 + E σ'(ξ)² and the CDF on a grid.

    :func:`solvers.neural_tangent_kernel.neural_tangent_kernel_spectrum` (Fan & Wang 2020, §3.2; derivation
    §4-§7). M₁ of the law is 2 tr(A)/n + a − θ1 = θ1 + a (derivation §7). The CDF is given on
    ``CDF_GRID_POINTS`` points from 0 to 1.25 × the upper edge, denser (a geometric eighth) within 5 % of
    the support's width above the lower edge, where the density can be steep.
    """
    n_features = v.positive_int("n_features", n_features)
    n_samples = v.positive_int("n_samples", n_samples)
    n_neurons = v.positive_int("n_neurons", n_neurons)
    if output_weights not in ("gaussian", "normalised"):
        raise InvalidParameterError(
            "output_weights", f"`output_weights` must be 'gaussian' or 'normalised', got {output_weights!r}."
        )
    phi, r = n_features / n_samples, n_neurons / n_samples
    shape = neural_tangent_kernel_spectrum(activation=activation, ratio=phi, neurons_per_sample=r, with_cdf=False)
    lower, upper = shape.support[0][0], shape.support[-1][1]
    fine = CDF_GRID_POINTS // 8
    uniform = np.linspace(0.0, GRID_OVERSHOOT * upper, CDF_GRID_POINTS - fine)
    near = lower + np.geomspace(1e-6, 0.05, fine) * (upper - lower)
    grid = np.unique(np.concatenate([uniform, near, [lower]]))
    law = neural_tangent_kernel_spectrum(activation=activation, ratio=phi, neurons_per_sample=r, x=grid)
    notes = (
        (
            f"Predicted at the simulated ratios p/n = {n_features}/{n_samples} = {phi:.6g} and N/n = {n_neurons}/{n_samples} = "
            f"{r:.6g}; moment_1 leaves out the mean outlier of a non-centred σ."
        ),
        (
            "With Gaussian v the whole Hadamard term is multiplied by ‖v‖²/N = 1 ± √(2/N) in each trial: the ESD of one trial "
            "is shifted by O(N^(-1/2)) (derivation §8); `normalised` output weights remove this."
        ),
        *law.notes,
    )
    return SimulationPrediction(
        names=("moment_1",),
        values=np.array([law.theta1 + law.mean_square_derivative]),
        cdf_grid=grid,
        cdf=law.cdf,
        reference=law.reference,
        notes=notes,
    )
