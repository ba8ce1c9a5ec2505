"""NTK spectrum of a random two-layer network: limits, moments, invariants and Monte Carlo of the real NTK.

The law is derived in docs/derivations/neural_tangent_kernel_spectrum.md; Monte Carlo tests draw the actual
NTK Gram matrix (gradients in closed form) and state seed, sizes and tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from solvers.activations import make_activation
from solvers.exceptions import InvalidParameterError
from solvers.marchenko_pastur import marchenko_pastur
from solvers.montecarlo.neural_tangent_kernel import (
    neural_tangent_kernel_matrix,
    neural_tangent_kernel_prediction,
    neural_tangent_kernel_trial,
    simulate_neural_tangent_kernel,
)
from solvers.montecarlo.spectra import ks_distance
from solvers.neural_tangent_kernel import (
    _law,
    activation_derivative,
    neural_tangent_kernel_spectrum,
    ntk_activation_constants,
)

HE2 = make_activation("quadratic", a=1.0, c=-1.0)  # ξ² − 1: θ1 = 2, θ2 = 0, a = E(2ξ)² = 4


def _moments(res, activation) -> tuple[float, float, float]:
    """Mass, M₁, M₂ of the returned law (density by a fine trapezoid on each interval, plus the atom)."""
    mass = res.atom_mass
    m1 = res.atom_mass * res.atom_location
    m2 = res.atom_mass * res.atom_location**2
    for lo, hi in res.support:
        # x = lo + (hi − lo)(1 − cos θ)/2 removes the square-root edges
        theta = np.linspace(0.0, math.pi, 4001)
        x = lo + 0.5 * (hi - lo) * (1.0 - np.cos(theta))
        d = neural_tangent_kernel_spectrum(
            activation=activation, ratio=res.ratio, neurons_per_sample=res.neurons_per_sample, x=x, with_cdf=False
        ).density
        w = d * 0.5 * (hi - lo) * np.sin(theta)
        mass += np.trapezoid(w, theta)
        m1 += np.trapezoid(w * x, theta)
        m2 += np.trapezoid(w * x * x, theta)
    return mass, m1, m2


def _free_moments(activation, phi: float, r: float) -> tuple[float, float]:
    """M₁, M₂ of A^{1/2}BA^{1/2} + (a − θ1)I with A, B free (derivation §7): an independent closed form."""
    k = ntk_activation_constants(activation=activation)
    t1, b2, a = k.theta1, k.mean_derivative**2, k.mean_square_derivative
    gamma, rho = 1.0 / phi, 1.0 / r
    fa, fa2 = t1, t1 * t1 + b2 * b2 * gamma  # φ(A), φ(A²)
    fb, fb2 = 2.0, 4.0 + rho  # φ(B), φ(B²), B = I + MP(ρ)
    m1p = fa * fb
    m2p = fa2 * fb**2 + fa**2 * fb2 - fa**2 * fb**2
    shift = a - t1
    return m1p + shift, m2p + 2.0 * shift * m1p + shift * shift


@pytest.mark.parametrize(
    ("activation", "phi", "r"),
    [
        ("relu", 1.5, 2.0),
        ("tanh", 1.5, 0.5),
        ("erf", 2.0, 1.5),
        ("erf", 0.5, 1.5),
        ("linear", 0.5, 0.8),
        ("gelu", 1.0, 3.0),
    ],
)
def test_mass_and_first_two_moments_match_free_probability(activation, phi, r):
    # Independent check of the polynomial, the branch and the support: M₁, M₂ from the free moments of
    # A and B (closed form) vs the density integrated on a 4001-point θ-grid (error ~1e-6 at the edges).
    res = neural_tangent_kernel_spectrum(activation=activation, ratio=phi, neurons_per_sample=r)
    mass, m1, m2 = _moments(res, activation)
    want1, want2 = _free_moments(activation, phi, r)
    assert mass == pytest.approx(1.0, abs=2e-5)
    assert m1 == pytest.approx(want1, rel=2e-5)
    assert m2 == pytest.approx(want2, rel=2e-5)
    assert res.diagnostics.converged


@pytest.mark.parametrize("r", [0.5, 2.0])
def test_purely_nonlinear_activation_is_a_shifted_marchenko_pastur_law(r):
    # θ2 = 0 (σ = ξ² − 1): A = θ1 I, so K = θ1(I + GᵀG/N) + (a − θ1)I = 2·MP(n/N) + 4 (derivation §7).
    x = np.linspace(3.5, 4.0 + 2.0 * (1 + math.sqrt(1 / r)) ** 2 + 0.5, 41)
    res = neural_tangent_kernel_spectrum(activation=HE2, ratio=1.3, neurons_per_sample=r, x=x)
    mp = marchenko_pastur(ratio=1.0 / r, x=(x - 4.0) / 2.0)
    np.testing.assert_allclose(res.density, mp.density / 2.0, atol=1e-9)
    np.testing.assert_allclose(res.cdf, mp.cdf, atol=1e-8)
    assert res.atom_mass == pytest.approx(max(0.0, 1.0 - r)) and (res.atom_mass == 0 or res.atom_location == 4.0)
    lower, upper = 4.0 + 2.0 * (1 - math.sqrt(1 / r)) ** 2, 4.0 + 2.0 * (1 + math.sqrt(1 / r)) ** 2
    assert res.support[0][0] == pytest.approx(lower, rel=1e-9) and res.support[-1][1] == pytest.approx(upper, rel=1e-9)


def test_linear_activation_has_the_rank_deficiency_atom_and_agrees_with_the_exact_model():
    # σ(t) = t: K = Xᵀ(I + WᵀW/N)X exactly when ‖v‖² = N, rank p < n: atom (1 − p/n) at 0 (derivation §7).
    # Monte Carlo n = 1000, p = 500, N = 800, 2 trials, seed 3: the ESD of this exact model converges at
    # rate 1/n; KS ≤ 0.02 leaves a margin of ~5× over the measured 0.004 (the atom's exact zeros are
    # snapped to 0 so that the jump of the CDF at 0 is compared exactly).
    res = neural_tangent_kernel_spectrum(activation="linear", ratio=0.5, neurons_per_sample=0.8)
    assert res.atom_location == 0.0 and res.atom_mass == pytest.approx(0.5)
    sim = simulate_neural_tangent_kernel(
        activation="linear", n_samples=1000, n_features=500, n_neurons=800, trials=2, output_weights="normalised", rng=3
    )
    ev = sim.eigenvalues.ravel().copy()
    ev[np.abs(ev) < 1e-9 * ev.max()] = 0.0
    ks = ks_distance(
        ev, lambda t: neural_tangent_kernel_spectrum(activation="linear", ratio=0.5, neurons_per_sample=0.8, x=t).cdf
    )
    assert ks <= 0.02


# (activation, p/n, N/n, output weights, seed). n = 1500, 2 trials pooled (3000 eigenvalues).
# Tolerance 0.02 (issue 14): the KS distance of the pooled ESD to the limit at this size. Measured
# (seeds 0–2): relu 0.0040–0.0047 with ‖v‖² = N; tanh 0.012–0.018 and erf 0.0033–0.013 with Gaussian v.
# Gaussian v multiplies the whole Hadamard term by ‖v‖²/N = 1 ± √(2/N) per trial (derivation §8), a
# global O(N^(-1/2)) shift that dominates the distance; relu, whose Hadamard term carries the larger
# share, reached 0.021 with one seed, so its test normalises v (same limit), and the Gaussian-v relu
# figure is reported, not tested. Configurations with n > p (an atom of XᵀX) are left out: there the
# NTK's mass near the lower edge converges slowly (derivation §8).
MC_CASES = [
    ("relu", 1.5, 2.0, "normalised", 1),
    ("tanh", 1.5, 0.5, "gaussian", 1),
    ("erf", 2.0, 1.5, "gaussian", 1),
]


@pytest.mark.parametrize(("activation", "phi", "r", "weights", "seed"), MC_CASES)
def test_spectrum_of_the_actual_ntk_matches_the_limit(activation, phi, r, weights, seed):
    n = 1500
    p, big_n = round(phi * n), round(r * n)
    sim = simulate_neural_tangent_kernel(
        activation=activation, n_samples=n, n_features=p, n_neurons=big_n, trials=2, output_weights=weights, rng=seed
    )
    law = lambda t: (
        neural_tangent_kernel_spectrum(activation=activation, ratio=p / n, neurons_per_sample=big_n / n, x=t).cdf
    )
    assert ks_distance(sim.eigenvalues.ravel(), law) <= 0.02


def test_closed_form_gradients_match_finite_differences():
    # The simulator's NTK: K_ij = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩ with ∇ by central differences (h = 1e-6, tanh).
    rng = np.random.default_rng(0)
    n, p, big_n = 4, 3, 5
    w, x, v_out = rng.standard_normal((big_n, p)), rng.standard_normal((p, n)) / np.sqrt(p), rng.standard_normal(big_n)
    act = make_activation("tanh")

    def f(theta, xi):
        ww, vv = theta[: big_n * p].reshape(big_n, p), theta[big_n * p :]
        return vv @ np.tanh(ww @ xi) / np.sqrt(big_n)

    theta = np.concatenate([w.ravel(), v_out])
    grads = []
    for i in range(n):
        g = np.empty(theta.size)
        for j in range(theta.size):
            e = np.zeros(theta.size)
            e[j] = 1e-6
            g[j] = (f(theta + e, x[:, i]) - f(theta - e, x[:, i])) / 2e-6
        grads.append(g)
    grads = np.array(grads)
    np.testing.assert_allclose(neural_tangent_kernel_matrix(act, w, x, v_out), grads @ grads.T, atol=1e-8)


def test_activation_constants():
    relu = ntk_activation_constants(activation="relu")
    assert (relu.theta1, relu.mean_derivative, relu.mean_square_derivative) == pytest.approx(
        (0.5 - 1 / (2 * math.pi), 0.5, 0.5)
    )
    erf = ntk_activation_constants(activation="erf")
    # E[(2/√π)² e^{−2ξ²}] = (4/π)/√5
    assert erf.mean_square_derivative == pytest.approx(4 / math.pi / math.sqrt(5), rel=1e-12)
    tanh = ntk_activation_constants(activation="tanh")
    assert tanh.mean_square_derivative >= tanh.mean_derivative**2
    np.testing.assert_allclose(activation_derivative("gelu", np.array([0.0])), [0.5])


def test_newton_tracking_agrees_with_eigenvalue_tracking():
    # The cheap Newton continuation is checked against the companion-matrix continuation on 400 points
    # from the lower bound c² of the law (m = (u − 1)/z is ill-conditioned at z → 0, never evaluated) past
    # the support; they must end on the same root (relative 1e-8).
    law = _law(0.7, 0.3, 1 / 1.5, 0.5)
    x = np.linspace(law.lower, law.scale, 401)[1:]
    frac = np.arange(61)[:, None] / 60
    y0 = 50 * np.maximum(law.scale, x)
    etas = y0[None, :] * (1e-10 * law.scale / y0)[None, :] ** frac
    a, b = law._track(x, etas, newton=True), law._track(x, etas, newton=False)
    assert np.count_nonzero(np.abs(a - b) > 1e-8 * np.abs(b)) == 0


def test_density_is_zero_outside_the_support_and_cdf_monotone():
    x = np.linspace(-1.0, 8.0, 301)
    res = neural_tangent_kernel_spectrum(activation="tanh", ratio=1.5, neurons_per_sample=0.5, x=x)
    lo, hi = res.support[0][0], res.support[-1][1]
    assert np.all(res.density[(x < lo) | (x > hi)] == 0.0) and np.all(res.density >= 0)
    # total mass: the Chebyshev antiderivative stops when doubling the degree changes the mass by < 1e-7
    assert np.all(np.diff(res.cdf) >= -1e-12) and res.cdf[0] == 0.0 and res.cdf[-1] == pytest.approx(1.0, abs=1e-6)
    # the lower bound Var σ'(ξ) = a − θ2 of the spectrum (derivation §3)
    k = ntk_activation_constants(activation="tanh")
    assert lo >= k.mean_square_derivative - k.mean_derivative**2


def test_simulation_kind_functions_agree():
    # trial + prediction (the simulation kind `neural_tangent_kernel`): M₁ of one draw at n = 400 within 1 % of θ1 + a.
    # With ‖v‖² = N, M₁ = (1/n)Σ_i [‖σ(Wx_i)‖²/N + ‖x_i‖² Σ_k v_k²σ'²/N] fluctuates by O(1/√(nN)) ≈ 0.2 %
    # (Gaussian v would add √(2/N)·a/M₁ ≈ 2.7 %, derivation §8).
    act = make_activation("tanh")
    pred = neural_tangent_kernel_prediction(n_features=600, n_samples=400, n_neurons=800, activation=act)
    draw = neural_tangent_kernel_trial(
        rng=np.random.default_rng(5),
        n_features=600,
        n_samples=400,
        n_neurons=800,
        activation=act,
        output_weights="normalised",
    )
    assert pred.names == ("moment_1",) and draw.spectrum.shape == (400,)
    assert draw.values[0] == pytest.approx(pred.values[0], rel=0.01)
    assert np.all(np.diff(pred.cdf) >= -1e-12) and pred.cdf[-1] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"activation": "sign", "ratio": 1.0, "neurons_per_sample": 1.0}, "activation"),
        ({"activation": "relu", "ratio": 0.0, "neurons_per_sample": 1.0}, "ratio"),
        ({"activation": "relu", "ratio": 1.0, "neurons_per_sample": 20.0}, "neurons_per_sample"),
        ({"activation": "relu", "ratio": 1.0, "neurons_per_sample": 1.0, "x": [float("nan")]}, "x"),
    ],
)
def test_validation_names_the_parameter(kwargs, field):
    with pytest.raises(InvalidParameterError) as err:
        neural_tangent_kernel_spectrum(**kwargs)
    assert err.value.parameter == field


def test_two_bulk_law_matches_the_gaussian_equivalent_matrix():
    # n > p (erf, p/n = 0.5, N/n = 1.5): the law has a small bulk born of the atom of XᵀX. The actual NTK
    # converges slowly there (derivation §8: KS 0.086, 0.058, 0.039 at n = 750, 1500, 3000), so the solver
    # is checked against the matrix (3.1) itself, A^{1/2}(I + GᵀG/N)A^{1/2} + (a − θ1)I drawn at n = 1500
    # (one draw, seed 0; measured KS 0.0018, a 1/n-rate quantity: 0.02 leaves a 10× margin).
    k = ntk_activation_constants(activation="erf")
    b, c2, shift = k.mean_derivative, k.theta1 - k.mean_derivative**2, k.mean_square_derivative - k.theta1
    n, p, big_n = 1500, 750, 2250
    rng = np.random.default_rng(0)
    x = rng.standard_normal((p, n)) / np.sqrt(p)
    y = b * rng.standard_normal((big_n, p)) @ x + np.sqrt(c2) * rng.standard_normal((big_n, n))
    ev = np.linalg.eigvalsh(y.T @ y / big_n + b * b * x.T @ x + (c2 + shift) * np.eye(n))
    res = neural_tangent_kernel_spectrum(activation="erf", ratio=0.5, neurons_per_sample=1.5)
    assert len(res.support) == 2
    small_mass = neural_tangent_kernel_spectrum(
        activation="erf", ratio=0.5, neurons_per_sample=1.5, x=[res.support[0][1]]
    ).cdf[0]
    # the small bulk carries the atom 1 − p/n of XᵀX (spread by I + GᵀG/N); 0.01 ≈ 4 binomial-like s.d. at n = 1500
    assert small_mass == pytest.approx(0.5, abs=1e-4) and np.mean(ev <= res.support[0][1]) == pytest.approx(
        0.5, abs=0.01
    )
    law = lambda t: neural_tangent_kernel_spectrum(activation="erf", ratio=0.5, neurons_per_sample=1.5, x=t).cdf
    assert ks_distance(ev, law) <= 0.02
