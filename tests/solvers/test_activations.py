"""Activation catalogue: closed-form kernels vs Monte Carlo over w, Hermite series vs closed forms
and the 2-D rule, moments vs adaptive quadrature, exact diagonals, validation.

Methods: docs/methods/random_features.md §1, §1.1, §6 (pitfalls 1–4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from solvers.activations import (
    _hermite_table,
    _mehler,
    _pair_quadrature,
    activation_moments,
    activation_names,
    expected_kernel,
    expected_kernel_lower,
    make_activation,
)
from solvers.exceptions import InvalidParameterError

CLOSED = ["linear", "relu", "abs", "leaky_relu", "quadratic", "erf", "sign", "step", "cos", "sin", "gaussian"]
SERIES = ["tanh", "sigmoid", "gelu", "softplus", "swish"]
SMOOTH_CLOSED = ["linear", "quadratic", "erf", "cos", "sin", "gaussian"]
PARAMS = {"leaky_relu": {"negative_slope": 0.2}, "quadratic": {"a": 0.7, "b": -0.4, "c": 0.3}}


def eight_points() -> np.ndarray:
    """8 points in p = 16 covering the cases of docs/methods/random_features.md §1: norms 0.5–2, ρ ∈ {1 (other norm), −1, 0,
    0.5, −0.9, 0.99} and generic pairs."""
    rng = np.random.default_rng(20180301)
    e = np.linalg.qr(rng.standard_normal((16, 16)))[0].T  # orthonormal rows
    u, w = e[0], e[1]
    pts = [
        0.5 * u,
        2.0 * u,  # ρ = 1, different norm
        -1.2 * u,  # ρ = −1
        1.5 * w,  # ρ = 0 with u
        0.8 * (0.5 * u + math.sqrt(0.75) * w),  # ρ = 0.5
        1.0 * (-0.9 * u + math.sqrt(0.19) * w),  # ρ = −0.9
        1.7 * (0.99 * u + math.sqrt(1 - 0.99**2) * e[2]),  # ρ = 0.99
        rng.standard_normal(16) / 4.0,
    ]
    return np.array(pts)


def test_catalogue_lists_every_activation():
    assert set(activation_names()) == set(CLOSED) | set(SERIES)
    for name in CLOSED:
        assert make_activation(name).has_closed_form_kernel
    for name in SERIES:
        assert not make_activation(name).has_closed_form_kernel


@pytest.mark.montecarlo
@pytest.mark.parametrize("name", CLOSED + SERIES)
def test_kernel_matches_monte_carlo_over_w(name):
    # Sizes: 8 points in p = 16, M = 400 000 draws of w (seed 7), 36 distinct entries.
    # Tolerance: |z| ≤ 4.5 per entry, z = (formula − MC)/MC-s.e.; with 36 × 16 z-values the chance of
    # one |z| > 4.5 under exact formulas is < 0.5 %. docs/methods/random_features.md §1: max |z| ≤ 2.7 with more draws.
    act = make_activation(name, **PARAMS.get(name, {}))
    x = eight_points()
    kernel = expected_kernel(activation=act, x=x).kernel
    rng = np.random.default_rng(7)
    iu = np.triu_indices(8)
    sums = np.zeros(iu[0].size)
    squares = np.zeros(iu[0].size)
    m_total = 0
    for _ in range(4):
        f = act(rng.standard_normal((100_000, 16)) @ x.T)  # σ(wᵀx_i), (M, 8)
        prod = f[:, iu[0]] * f[:, iu[1]]
        sums += prod.sum(axis=0)
        squares += (prod * prod).sum(axis=0)
        m_total += f.shape[0]
    mean = sums / m_total
    se = np.sqrt(np.maximum(squares / m_total - mean**2, 0.0) / m_total)
    diff = kernel[iu] - mean
    exact = se < 1e-12  # e.g. sign² ≡ 1: MC is exact there
    np.testing.assert_allclose(diff[exact], 0.0, atol=1e-12)
    z = diff[~exact] / se[~exact]
    assert np.max(np.abs(z)) <= 4.5, (name, z)


@pytest.mark.parametrize("name", SMOOTH_CLOSED)
def test_hermite_series_matches_closed_form(name):
    # Both methods exist for the analytic closed forms: the series is asked for tol 1e-13 (relative
    # to max E σ²); its reported bound |ρ|^{L+1}√(t_i t_j) + 1-D rule error must cover the deviation.
    act = make_activation(name, **PARAMS.get(name, {}))
    rng = np.random.default_rng(3)
    x = np.vstack([eight_points(), rng.standard_normal((40, 16)) / 4.0])
    x_test = rng.standard_normal((10, 16)) / 3.0
    closed = expected_kernel(activation=act, x=x, x_test=x_test)
    series = expected_kernel(activation=act, x=x, x_test=x_test, method="hermite_series")
    scale = max(1.0, float(np.max(np.abs(closed.kernel))))
    assert series.method == "hermite_series" and series.error_bound <= 1e-12 * scale
    tol = series.error_bound + 1e-14 * scale  # + rounding of the Horner sums
    np.testing.assert_allclose(series.kernel, closed.kernel, rtol=0, atol=tol)
    np.testing.assert_allclose(series.cross_kernel, closed.cross_kernel, rtol=0, atol=tol)
    np.testing.assert_allclose(series.test_diagonal, closed.test_diagonal, rtol=0, atol=tol)


@pytest.mark.parametrize("name", SERIES)
def test_hermite_series_matches_pairwise_2d_rule(name):
    # docs/methods/random_features.md §1.1: Mehler series vs the 2-D trapezoid rule, measured 1.7e-14 for tanh (norms ≤ 1.34);
    # here norms reach 2, so we ask 1e-12 (both errors are then ≤ 1e-13 by the bounds of §1.1).
    act = make_activation(name)
    x = eight_points()
    k = expected_kernel(activation=act, x=x)
    norms = np.linalg.norm(x, axis=1)
    ii, jj = np.triu_indices(8, k=1)
    rho = np.clip((x @ x.T)[ii, jj] / (norms[ii] * norms[jj]), -1, 1)
    reference, _ = _pair_quadrature(act, norms[ii], norms[jj], rho)
    np.testing.assert_allclose(k.kernel[ii, jj], reference, rtol=0, atol=1e-12)
    assert k.error_bound <= 1e-12


def test_hermite_series_for_large_norms_stays_accurate():
    # Norms up to 4 (docs/methods/random_features.md §1.1 table: GH fails there, trapezoid h ≤ 0.125 does not).
    act = make_activation("tanh")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((12, 8))
    x *= np.linspace(0.5, 4.0, 12)[:, None] / np.linalg.norm(x, axis=1, keepdims=True)
    k = expected_kernel(activation=act, x=x)
    ii, jj = np.triu_indices(12, k=1)
    rho = np.clip((x @ x.T)[ii, jj] / (np.linalg.norm(x, axis=1)[ii] * np.linalg.norm(x, axis=1)[jj]), -1, 1)
    ref, _ = _pair_quadrature(act, np.linalg.norm(x, axis=1)[ii], np.linalg.norm(x, axis=1)[jj], rho)
    np.testing.assert_allclose(k.kernel[ii, jj], ref, rtol=0, atol=1e-11)


def test_hermite_table_is_the_orthonormal_hermite_polynomials_and_continues_exactly():
    from scipy import special

    z = np.linspace(-13.0, 13.0, 521)
    table = _hermite_table(z, 20)
    for k in range(21):
        reference = special.eval_hermitenorm(k, z) / math.sqrt(math.factorial(k))
        np.testing.assert_allclose(table[k], reference, rtol=1e-12, atol=1e-12 * np.abs(reference).max())
    # The series doubles its order until it converges; each doubling continues the last table.
    continued = None
    for order in (32, 64, 128, 256, 512, 600):
        continued = _hermite_table(z, order, continued)
    assert np.array_equal(continued, _hermite_table(z, 600))
    assert np.array_equal(_hermite_table(z, 40, _hermite_table(z, 600))[:41], _hermite_table(z, 40))


def _full_mehler(ci, cj, rho):
    """Σ_{k≤L} c_k(i) c_k(j) ρ^k term by term, every entry to the full order: the reference for _mehler."""
    return sum(np.multiply.outer(ci[:, k], cj[:, k]) * rho**k for k in range(ci.shape[1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mehler_sums_each_entry_to_its_own_order_within_its_bound(seed):
    # docs/methods/random_features.md §1.1 "Each entry to its own order": coefficients decaying like 0.97^k over
    # L = 600 terms (tanh-like), |ρ| ≈ 0.1-0.3 off a few near-duplicate pairs at |ρ| ≥ 0.99, which need all 600.
    rng = np.random.default_rng(seed)
    n, m, L = 60, 15, 600
    decay = 0.97 ** np.arange(L + 1)
    ci = decay * rng.uniform(0.5, 1.5, (n, 1)) * rng.choice([-1.0, 1.0], L + 1)
    cj = decay * rng.uniform(0.5, 1.5, (m, 1)) * rng.choice([-1.0, 1.0], L + 1)
    mean_i = (ci**2).sum(axis=1) * (1 + 1e-15)  # E σ² ≥ Σ c_k²: a tiny tail beyond L
    mean_j = (cj**2).sum(axis=1) * (1 + 1e-15)
    rho = rng.uniform(-0.3, 0.3, (n, m))
    rho[rng.integers(0, n, 8), rng.integers(0, m, 8)] = rng.choice([-0.995, 0.99, 1.0], 8)
    tol_abs = 1e-13 * float(mean_i.max())
    got, stopped = _mehler(ci, cj, rho, mean_i, mean_j, tol_abs)
    reference = _full_mehler(ci, cj, rho)
    assert 0 < stopped <= 1e-3 * tol_abs  # some entries stopped early, each within the target
    # Reference and result differ by the stopped terms (≤ `stopped`) and by rounding in both (~ε·Σ|terms|).
    rounding = 8 * np.finfo(float).eps * _full_mehler(np.abs(ci), np.abs(cj), np.abs(rho))
    assert np.all(np.abs(got - reference) <= stopped + rounding)
    near = np.abs(rho) >= 0.99  # the full order there: the stopped terms would be ~0.99^(ℓ₀+1), far above tol_abs
    np.testing.assert_allclose(got[near], reference[near], rtol=0, atol=float(rounding[near].max()))


def test_mehler_of_a_short_series_is_the_plain_horner_sum():
    rng = np.random.default_rng(4)
    ci, cj, rho = rng.standard_normal((5, 8)), rng.standard_normal((3, 8)), rng.uniform(-1, 1, (5, 3))
    got, stopped = _mehler(ci, cj, rho, (ci**2).sum(1), (cj**2).sum(1), 1e-13)
    assert stopped == 0.0
    np.testing.assert_allclose(got, _full_mehler(ci, cj, rho), rtol=1e-14, atol=1e-14)


def test_relations_between_closed_forms():
    x = eight_points()
    kern = {name: expected_kernel(activation=name, x=x).kernel for name in ["linear", "relu", "abs"]}
    lk = lambda **p: expected_kernel(activation=make_activation("leaky_relu", **p), x=x).kernel
    np.testing.assert_allclose(lk(negative_slope=0.0), kern["relu"], atol=1e-15)
    np.testing.assert_allclose(lk(negative_slope=1.0), kern["linear"], atol=1e-14)
    np.testing.assert_allclose(lk(negative_slope=-1.0), kern["abs"], atol=1e-14)
    # docs/methods/random_features.md §1: leaky = ((1+α)/2)² c + ((1−α)/2)² K_abs
    alpha = 0.3
    np.testing.assert_allclose(
        lk(negative_slope=alpha),
        ((1 + alpha) / 2) ** 2 * kern["linear"] + ((1 - alpha) / 2) ** 2 * kern["abs"],
        atol=1e-14,
    )
    quad = expected_kernel(activation=make_activation("quadratic", a=0.0, b=1.0, c=0.0), x=x).kernel
    np.testing.assert_allclose(quad, kern["linear"], atol=1e-15)


def test_exact_diagonals_and_degenerate_points():
    # docs/methods/random_features.md §6 pitfalls 1–2: parallel vectors give |ρ| > 1 in floating point, and diagonals must come
    # from ρ = 1 exactly (sign/step diagonals were off by 1.6e-8 / 3.4e-9 otherwise).
    rng = np.random.default_rng(5)
    x = rng.standard_normal((30, 200)) * 7.3
    x[1] = 3.0 * x[0]
    x[2] = np.zeros(200)
    for name in CLOSED:
        k = expected_kernel(activation=name, x=x, x_test=x).kernel
        assert np.all(np.isfinite(k))
        np.testing.assert_array_equal(k, k.T)
    sign = expected_kernel(activation="sign", x=x, x_test=x)
    step = expected_kernel(activation="step", x=x, x_test=x)
    assert np.all(np.diag(sign.kernel)[[0, 1, 3]] == 1.0) and sign.kernel[0, 1] == 1.0
    assert np.all(np.diag(step.kernel)[[0, 1, 3]] == 0.5)
    # a zero sample: sign(0) = step(0) = 0, so its whole row vanishes
    assert np.all(sign.kernel[2] == 0.0) and np.all(step.kernel[2] == 0.0)
    assert np.all(step.cross_kernel[:, 2] == 0.0) and step.test_diagonal[2] == 0.0
    # cos/sin distance forms do not overflow for large c (pitfall 3)
    big = np.array([[30.0, 0.0], [29.0, 1.0]])
    assert np.all(np.isfinite(expected_kernel(activation="cos", x=big).kernel))


@pytest.mark.parametrize("name", CLOSED + SERIES)
def test_moments_match_adaptive_quadrature(name):
    # Reference: scipy.integrate.quad with the kink at 0 declared; 1e-9 covers its error.
    act = make_activation(name, **PARAMS.get(name, {}))
    m = activation_moments(activation=act)
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    f = lambda t: float(act(np.array(t)))

    def e(g):
        return sum(
            integrate.quad(lambda t: g(t) * phi(t), lo, hi, limit=200, epsabs=1e-13)[0]
            for lo, hi in [(-40, 0), (0, 40)]
        )

    expected = [e(f), e(lambda t: f(t) ** 2), e(lambda t: t * f(t)), e(lambda t: (t * t - 1) * f(t))]
    got = [m.mean, m.mean_square, m.mean_derivative, m.second_hermite]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # E σ(ξ)² is the diagonal of the kernel at a unit-norm sample
    k = expected_kernel(activation=act, x=np.array([[0.6, 0.8]])).kernel[0, 0]
    assert k == pytest.approx(m.mean_square, abs=1e-12)


@pytest.mark.parametrize("name", SMOOTH_CLOSED)
def test_moments_quadrature_matches_closed_forms(name):
    act = make_activation(name, **PARAMS.get(name, {}))
    closed = activation_moments(activation=act)
    quad = activation_moments(activation=act, method="quadrature")
    assert quad.error_bound <= 1e-14
    np.testing.assert_allclose(
        [quad.mean, quad.mean_square, quad.mean_derivative, quad.second_hermite],
        [closed.mean, closed.mean_square, closed.mean_derivative, closed.second_hermite],
        rtol=0,
        atol=1e-14 * max(1.0, closed.mean_square),
    )


def test_mean_derivative_is_stein_derivative_for_smooth_activations():
    # E[σ'(ξ)] computed from σ' directly (finite differences inside quad) equals E[ξσ(ξ)].
    for name in ["tanh", "sigmoid", "gelu", "softplus", "swish", "erf", "sin"]:
        act = make_activation(name)
        deriv = lambda t, act=act: float((act(np.array(t + 1e-6)) - act(np.array(t - 1e-6))) / 2e-6)
        value = integrate.quad(
            lambda t, deriv=deriv: deriv(t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi), -30, 30, limit=200
        )[0]
        assert activation_moments(activation=act).mean_derivative == pytest.approx(value, abs=1e-7)


def test_activation_object_and_parameters():
    act = make_activation("leaky_relu", negative_slope=0.1)
    assert act.as_dict() == {"name": "leaky_relu", "negative_slope": 0.1}
    assert make_activation(**act.as_dict()) == act
    assert make_activation("leaky_relu").as_dict()["negative_slope"] == 0.01
    assert hash(act) == hash(make_activation("leaky_relu", negative_slope=0.1))
    np.testing.assert_allclose(act(np.array([-2.0, 3.0])), [-0.2, 3.0])
    assert make_activation("quadratic", a=2.0).as_dict() == {"name": "quadratic", "a": 2.0, "b": 0.0, "c": 0.0}


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: make_activation("swishy"), "activation"),
        (lambda: make_activation("relu", negative_slope=0.1), "negative_slope"),
        (lambda: make_activation("leaky_relu", slope=0.1), "slope"),
        (lambda: make_activation("leaky_relu", negative_slope=float("nan")), "negative_slope"),
        (lambda: make_activation("quadratic", b=float("inf")), "b"),
        (lambda: expected_kernel(activation="relu", x=[[1.0, float("nan")]]), "x"),
        (lambda: expected_kernel(activation="relu", x=[1.0, 2.0]), "x"),
        (lambda: expected_kernel(activation="relu", x=[[1.0, 2.0]], x_test=[[1.0, 2.0, 3.0]]), "x_test"),
        (lambda: expected_kernel(activation="relu", x=[[1.0, 2.0]], method="hermite_series"), "method"),
        (lambda: expected_kernel(activation="tanh", x=[[1.0, 2.0]], method="closed_form"), "method"),
        (lambda: activation_moments(activation="sign", method="quadrature"), "method"),
        (lambda: activation_moments(activation={"name": "nope"}), "activation"),
    ],
)
def test_validation_names_the_parameter(call, parameter):
    with pytest.raises(InvalidParameterError) as info:
        call()
    assert info.value.parameter == parameter
    assert f"`{parameter}`" in info.value.message


def test_hermite_series_far_out_of_regime_is_bounded_and_honest():
    # Raw features (norm ~ √p = 30) and exact duplicates: nodes and 2-D fallbacks are capped, the
    # answer stays finite and the reported error bound covers the deviation from the 2-D rule.
    rng = np.random.default_rng(12)
    x = rng.standard_normal((40, 900))
    x[1] = x[0]
    k = expected_kernel(activation="tanh", x=x)
    assert np.all(np.isfinite(k.kernel))
    norms = np.linalg.norm(x, axis=1)
    ref, err = _pair_quadrature(make_activation("tanh"), norms[[0, 2]], norms[[1, 3]], np.array([1.0, 0.0]))
    assert abs(k.kernel[0, 1] - ref[0]) <= k.error_bound + err + 1e-12


@pytest.mark.parametrize("name", ["relu", "tanh", "sign"])
def test_lower_triangle_kernel_equals_the_full_one_where_it_is_defined(name):
    # expected_kernel_lower skips mirroring K into its upper triangle (numpy.linalg.eigh reads the
    # lower one only); everything it does define must be bit-identical to expected_kernel, and eigh
    # of it must equal eigh of the full K (tanh: the Hermite series, returned in full).
    rng = np.random.default_rng(17)
    x = rng.standard_normal((300, 20)) / np.sqrt(20)  # 300 rows: several row blocks, a partial last one
    x_test = rng.standard_normal((7, 20)) / np.sqrt(20)
    full = expected_kernel(activation=name, x=x, x_test=x_test)
    lower = expected_kernel_lower(activation=name, x=x, x_test=x_test)
    rows, cols = np.tril_indices(300)
    np.testing.assert_array_equal(lower.kernel[rows, cols], full.kernel[rows, cols])
    np.testing.assert_array_equal(lower.cross_kernel, full.cross_kernel)
    np.testing.assert_array_equal(lower.test_diagonal, full.test_diagonal)
    assert (lower.method, lower.error_bound) == (full.method, full.error_bound)
    np.testing.assert_array_equal(np.linalg.eigvalsh(lower.kernel), np.linalg.eigvalsh(full.kernel))
