"""The spike that one large gradient step puts into the first-layer weights (Ba et al. 2022).

Model of ``docs/methods/conjugate_kernel.md`` §5 (talk eqs. (19)–(21)): f(x) = (1/√N) βᵀσ(Wx) with
W₀ (N × p) i.i.d. N(0, 1/p), β₀ i.i.d. N(0, 1/N), inputs x ~ N(0, I_p), a single-index teacher
y = f*(⟨x, β*⟩) + ε (‖β*‖ = 1, Var ε = ``noise_variance``), n samples, and one step
W₁ = W₀ + √N η G₀ on the squared loss. G₀ ≈ A₁ = (μ₁/(n√N)) β₀ yᵀXᵀ, μ₁ = E σ'(ξ) (eq. (21)), a rank-one
matrix ϑ u vᵀ with u ∝ β₀, v ∝ Xy, so the top singular value of W₁ follows the rectangular BBP law of
Benaych-Georges & Nadakuditi (2012) with c = N/p.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from solvers import _validation as v
from solvers.activations import Activation, activation_moments, as_activation
from solvers.exceptions import InvalidParameterError

__all__ = ["OneStepGradientSpike", "one_step_gradient_spike"]

REFERENCE = (
    "Ba, Erdogdu, Suzuki, Wang, Wu & Yang (2022), NeurIPS, rank-one approximation G0 ~ A1 (talk eq. (21)); "
    "Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111 (rectangular spike: top singular value, "
    "threshold); docs/methods/conjugate_kernel.md §5"
)

#: Activations whose a.e. derivative is 0 although E[ξσ(ξ)] ≠ 0: gradient descent does not see μ₁.
DISCONTINUOUS = frozenset({"sign", "step"})

_ALIGNMENT_CAVEAT = (
    "Heuristic of ours (docs/methods/conjugate_kernel.md §5): |⟨v̂, β*⟩|² ≈ |⟨v̂, v⟩|²·|⟨v, β*⟩|² with the BGN right-vector overlap "
    "1 − (c + ϑ²)/(ϑ²(ϑ² + 1)) and |⟨v, β*⟩|² → μ₁*²/(μ₁*² + (p/n) E y²) for v ∝ Xy."
)


@dataclass(frozen=True, slots=True)
class OneStepGradientSpike:
    """Top singular value of W₁ = W₀ + √N η G₀ versus η (docs/methods/conjugate_kernel.md §5).

    Attributes
    ----------
    learning_rate
        The step sizes η, as given.
    spike_strength
        ϑ(η) = η |μ₁| ‖β₀‖ ‖Xy‖/n in the limit ‖β₀‖ → 1, ‖Xy‖/n → √(μ₁*² + (p/n) E y²).
    top_singular_value
        Limit of s₁(W₁): √((1 + ϑ²)(c + ϑ²))/ϑ for ϑ > c^{1/4}, else the bulk edge 1 + √c.
    separated
        ϑ > c^{1/4}: the top singular value has left the bulk.
    alignment
        Heuristic limit of |⟨v̂₁, β*⟩|² for the top right singular vector v̂₁ of W₁ (0 below
        threshold); see ``alignment_caveat``.
    alignment_caveat
        Why the alignment is a heuristic.
    alignment_validity
        ``"heuristic"``: the alignment is not verified (the other quantities are).
    threshold
        η_c = c^{1/4}/(|μ₁| √(μ₁*² + (p/n) E y²)); ``inf`` when the spike never appears (μ₁ = 0 or y ≡ 0).
    bulk_edge
        1 + √c, the top of the singular-value bulk of W₀.
    slope
        ϑ/η = |μ₁| √(μ₁*² + (p/n) E y²).
    student_mean_derivative, teacher_mean_derivative, target_mean_square
        μ₁ = E σ'(ξ), μ₁* = E[ξ f*(ξ)], E y² = E f*(ξ)² + noise variance.
    ratio, neurons_per_sample
        p/n and N/n; c = N/p is their quotient.
    notes
        What was verified and where finite-size effects are expected.
    reference
        Papers and equations.
    """

    learning_rate: np.ndarray
    spike_strength: np.ndarray
    top_singular_value: np.ndarray
    separated: np.ndarray
    alignment: np.ndarray
    alignment_caveat: str
    threshold: float
    bulk_edge: float
    slope: float
    student_mean_derivative: float
    teacher_mean_derivative: float
    target_mean_square: float
    ratio: float
    neurons_per_sample: float
    notes: tuple[str, ...]
    reference: str = REFERENCE
    alignment_validity: Literal["heuristic"] = "heuristic"


def _iv(activation, link, noise_variance, ratio, neurons_per_sample, learning_rate):
    activation = as_activation(activation)
    if activation.name in DISCONTINUOUS:
        raise InvalidParameterError(
            "activation",
            f"`activation` {activation.name!r} has derivative 0 almost everywhere: a gradient step does not move W.",
        )
    link = as_activation(link)
    noise_variance = v.non_negative("noise_variance", noise_variance)
    phi = v.positive("ratio", ratio)
    r = v.positive("neurons_per_sample", neurons_per_sample)
    eta = v.finite_array("learning_rate", np.atleast_1d(np.asarray(learning_rate, dtype=np.float64)))
    if eta.size == 0:
        raise InvalidParameterError("learning_rate", "`learning_rate` must not be empty.")
    if np.any(eta < 0):
        raise InvalidParameterError("learning_rate", "`learning_rate` must be >= 0.")
    return activation, link, noise_variance, phi, r, eta


def one_step_gradient_spike(
    *,
    activation: Activation | str,
    link: Activation | str,
    noise_variance: float = 0.0,
    ratio: float,
    neurons_per_sample: float,
    learning_rate: float | np.ndarray | list[float],
) -> OneStepGradientSpike:
    r"""Predicted top singular value of W₁ = W₀ + √N η G₀ after one gradient step, and η_c.

    By the rank-one approximation of Ba et al. (2022), NeurIPS (talk eq. (21)),
    √N η G₀ ≈ ϑ u vᵀ with ϑ = η|μ₁|‖β₀‖‖Xy‖/n, and by Benaych-Georges & Nadakuditi (2012)
    (rectangular additive spike, c = N/p)

    .. math:: s_1(W_1) \to \begin{cases}\sqrt{(1+\vartheta^2)(c+\vartheta^2)}/\vartheta, & \vartheta > c^{1/4}\\
              1+\sqrt c, & \text{otherwise}\end{cases}

    so the spike appears for η > η_c = c^{1/4} n/(|μ₁|‖β₀‖‖Xy‖) (docs/methods/conjugate_kernel.md §5). Here the limits
    ‖β₀‖ → 1 and ‖Xy‖/n → √(μ₁*² + (p/n) E y²) are used (law of large numbers for x ~ N(0, I_p)).

    Parameters
    ----------
    activation
        Student activation σ (catalogue of :mod:`solvers.activations`; ``sign`` and ``step`` are refused).
    link
        Teacher link f*, y = f*(⟨x, β*⟩) + ε.
    noise_variance
        Var ε ≥ 0.
    ratio
        p/n.
    neurons_per_sample
        N/n.
    learning_rate
        η ≥ 0: one value or an array.

    Returns
    -------
    OneStepGradientSpike
    """
    activation, link, noise_variance, phi, r, eta = _iv(
        activation, link, noise_variance, ratio, neurons_per_sample, learning_rate
    )
    c = r / phi
    student = activation_moments(activation=activation)
    teacher = activation_moments(activation=link)
    mu1, mu1_star = student.mean_derivative, teacher.mean_derivative
    ey2 = teacher.mean_square + noise_variance
    xy = math.sqrt(max(mu1_star**2 + phi * ey2, 0.0))
    slope = abs(mu1) * xy
    theta = slope * eta
    critical = c**0.25
    edge = 1.0 + math.sqrt(c)
    separated = theta > critical
    safe = np.where(separated, theta, 1.0)
    top = np.where(separated, np.sqrt((1.0 + safe**2) * (c + safe**2)) / safe, edge)
    direction = mu1_star**2 / xy**2 if xy > 0 else 0.0
    right = np.where(separated, 1.0 - (c + safe**2) / (safe**2 * (safe**2 + 1.0)), 0.0)
    alignment = np.clip(direction * right, 0.0, 1.0)
    threshold = critical / slope if slope > 0 else math.inf
    notes = [
        "Verified in docs/methods/conjugate_kernel.md §5 for σ = tanh, ReLU teacher, noise 0.2, N = p, n = 2p: Monte Carlo s₁(W₁) is 0.35–1 % below "
        "the prediction at N = 1024 and 0.4–0.5 % at N = 2048 (prediction at the realised ϑ); the rank-one "
        "approximation error √N‖G₀ − A₁‖ decays like N^(−0.45). Ba et al.'s generalisation results were not checked.",
        "The limit uses ‖β₀‖ → 1: at finite N the realised ϑ fluctuates by about 1/√(2N) relatively.",
    ]
    if slope == 0:
        notes.append("μ₁ = 0 or E y² = 0: the step adds no spike; η_c is infinite (null).")
    if mu1_star == 0:
        notes.append("μ₁* = E[ξ f*(ξ)] = 0: the spike direction Xy carries no information on β* (alignment 0).")
    return OneStepGradientSpike(
        learning_rate=eta,
        spike_strength=theta,
        top_singular_value=top,
        separated=separated,
        alignment=alignment,
        alignment_caveat=_ALIGNMENT_CAVEAT,
        threshold=threshold,
        bulk_edge=edge,
        slope=slope,
        student_mean_derivative=mu1,
        teacher_mean_derivative=mu1_star,
        target_mean_square=ey2,
        ratio=phi,
        neurons_per_sample=r,
        notes=tuple(notes),
    )
