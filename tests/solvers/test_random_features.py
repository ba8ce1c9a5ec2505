"""Random-features deterministic equivalent and asymptotic MSE (theory only, no simulation).

Checks: uniqueness and residuals of the effective-ridge equation, agreement of the spectral κ-form
with an independent dense evaluation of the paper's formulas, the limits of docs/methods/random_features.md §3.2, the slide
typos of §3.3, the double-descent peak, one eigendecomposition per grid, the optimum, the data
generator and the validation messages. Methods: docs/methods/random_features.md §2, §3, §5, §6.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import brentq

import solvers.random_features as rf
from solvers.activations import expected_kernel, expected_kernel_lower
from solvers.exceptions import InvalidParameterError
from solvers.random_features import (
    deterministic_equivalent,
    gaussian_mixture,
    random_features_ridge,
    regime_warnings,
    solve_effective_ridge,
    spectral_data,
)


def gmm(n=256, p=None, n_test=None, seed=1):
    """docs/methods/random_features.md §4 data: two classes ±μ, ‖μ‖ = 3, covariances I_p and (1 + 4/√p) I_p, rows of norm ≈ 1."""
    p = p or n // 2
    return gaussian_mixture(
        n_samples=n, n_test=n_test or n // 2, n_features=p, noise_variance=[1.0, 1.0 + 4.0 / np.sqrt(p)], rng=seed
    )


def dense_paper_form(kernel, cross, test_diag, y, y_test, n_neurons, gamma, *, literal=False, one_over_n=False):
    """Independent evaluation of the Corollary of docs/methods/random_features.md §3 (paper form): δ by brentq, explicit K̄, Q̄.

    ``literal=True`` reads K̄ := K in the MSE formulas (slide typo §3.3.1); ``one_over_n=True``
    replaces the 1/N of the ratios by 1/n (typo §3.3.5). Both are wrong on purpose.
    """
    n = kernel.shape[0]
    eye = np.eye(n)

    def fixed_point(delta):
        qbar = np.linalg.inv(n_neurons / n * kernel / (1 + delta) + gamma * eye)
        return np.trace(kernel @ qbar) / n - delta

    delta = brentq(fixed_point, 1e-14, 1e14, xtol=1e-15, rtol=1e-15)
    s = n_neurons / n / (1 + delta)
    qbar = np.linalg.inv(s * kernel + gamma * eye)
    if literal:
        s = 1.0
    kb, kcb, trt = s * kernel, s * cross, s * test_diag.sum()
    m = n if one_over_n else n_neurons
    n_test = y_test.shape[0]
    den = 1 - np.trace(kb @ qbar @ kb @ qbar) / m
    train = gamma**2 / n * y @ qbar @ (np.trace(kb @ qbar @ qbar) / m / den * kb + eye) @ qbar @ y
    bias = np.sum((y_test - kcb.T @ qbar @ y) ** 2) / n_test
    bracket = trt / n_test - np.trace((eye + gamma * qbar) @ kcb @ kcb.T @ qbar) / n_test
    test = bias + (y @ qbar @ kb @ qbar @ y / m) / den * bracket
    return delta, float(train), float(test)


# --------------------------------------------------------------------------------------------
# Effective ridge κ
# --------------------------------------------------------------------------------------------


def kernels_for_newton():
    data = gmm(256)
    relu = expected_kernel(activation="relu", x=data.x).kernel
    linear = expected_kernel(activation="linear", x=gmm(256, p=64).x).kernel  # rank 64 < n
    tanh = expected_kernel(activation="tanh", x=data.x).kernel
    return {"relu": relu, "linear_rank64": linear, "tanh": tanh}


@pytest.mark.parametrize("name", ["relu", "linear_rank64", "tanh"])
def test_effective_ridge_unique_root_and_residuals(name):
    # docs/methods/random_features.md §2.1 grid: N/n ∈ {0.1,…,10} × γ ∈ {1e-8,…,1e2}; measured ≤ 20 Newton iterations,
    # relative residual of δ = (1/n) tr K Q̄ ≤ 4e-16, difference to brentq ≤ 3e-13.
    kernel = kernels_for_newton()[name]
    n = kernel.shape[0]
    lam = np.clip(np.linalg.eigvalsh(kernel), 0, None)
    ratios = np.array([0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.1, 2.0, 10.0])
    gammas = 10.0 ** np.arange(-8, 3)
    big_n, big_g = np.meshgrid(np.round(ratios * n), gammas, indexing="ij")
    sol = solve_effective_ridge(eigenvalues=lam, n_neurons=big_n, ridge_penalty=big_g)
    assert sol.diagnostics.converged and sol.diagnostics.iterations <= 30
    assert sol.diagnostics.residual <= 1e-14
    kappa = sol.effective_ridge
    # δ from the trace equals δ from κ = γ (n/N)(1+δ)
    np.testing.assert_allclose(sol.delta, big_n * kappa / (n * big_g) - 1, rtol=1e-9)
    for idx in [(0, 0), (4, 0), (4, 5), (8, 10), (3, 2)]:
        nn, g, k = big_n[idx], big_g[idx], kappa[idx]
        f = lambda t, nn=nn, g=g: t * (nn - np.sum(lam / (lam + t))) - n * g
        # uniqueness: F changes sign exactly once on a log grid (docs/methods/random_features.md §2.1 proof: F convex, F(0+) < 0)
        grid = np.logspace(-18, 8, 400)
        signs = np.sign([f(t) for t in grid])
        assert np.count_nonzero(np.diff(signs)) == 1
        # Reference root bracketed by that sign change (grid neighbours differ by a factor 1.16), so
        # brentq needs few steps; over [1e-300, 1e10] it spent its 100 iterations bisecting decades
        # and failed for tanh. A negligible xtol leaves the relative tolerance 4·eps in charge.
        (i,) = np.flatnonzero(np.diff(signs))
        root = brentq(f, grid[i], grid[i + 1], xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)
        assert k == pytest.approx(root, rel=1e-12)
        # δ = (1/n) tr(K Q̄) densely (moderate γ only: Q̄ ~ 1/γ is ill-conditioned otherwise)
        if g >= 1e-4:
            qbar = np.linalg.inv(nn / n * kernel / (1 + sol.delta[idx]) + g * np.eye(n))
            assert np.trace(kernel @ qbar) / n == pytest.approx(sol.delta[idx], rel=1e-10)
            assert np.trace(qbar) / n == pytest.approx(sol.normalized_trace[idx], rel=1e-10)


@pytest.mark.parametrize("ratio", [0.5, 0.99, 1.0, 1.01, 2.0, 1e7])
def test_effective_ridge_converges_for_extreme_penalties(ratio):
    # docs/methods/random_features.md §6 pitfalls 6/8: at N = rank K the root is ~√γ (Newton alone only halves κ per step) and
    # for N > n it is ~nγ/(N−n); the cancellation-free form and the geometric jumps keep ≤ 30 steps.
    lam = np.clip(np.linalg.eigvalsh(kernels_for_newton()["relu"]), 0, None)
    gammas = np.array([1e-300, 1e-200, 1e-100, 1e-30, 1e-16, 1e-8, 1.0, 1e6, 1e12])
    sol = solve_effective_ridge(eigenvalues=lam, n_neurons=np.round(ratio * 256), ridge_penalty=gammas)
    assert sol.diagnostics.converged and sol.diagnostics.iterations <= 30
    assert sol.diagnostics.residual <= 1e-13 and np.all(sol.effective_ridge > 0)
    if ratio == 1.0:  # F ≈ κ² Σ1/λ − nγ near 0: κ ≈ √(nγ / Σ 1/λ)
        np.testing.assert_allclose(sol.effective_ridge[:3], np.sqrt(256 * gammas[:3] / np.sum(1 / lam)), rtol=1e-6)


def test_effective_ridge_converges_at_the_rank_with_a_root_at_the_rounding_floor():
    # Found by fuzzing random spectra (1000 cases, all converged after the fix): N = rank K < n with
    # γ ~ 1e-290…1e-120 puts the root of F below F's rounding floor (κ ~ ελ, where (N − n) + Σκ/(λ+κ)
    # cancels), so a Newton start right of the root in exact arithmetic can land just left of it; it
    # stalled when that start was also the bracket's right end. Any κ at the floor is a valid answer.
    rng = np.random.default_rng(0)
    lam = np.concatenate([np.exp(rng.uniform(-30, 5, 6)), [0.0, 0.0]])
    sol = solve_effective_ridge(eigenvalues=lam, n_neurons=6, ridge_penalty=np.logspace(-290, -120, 12))
    assert sol.diagnostics.converged and sol.diagnostics.residual <= 1e-15 and np.all(sol.effective_ridge > 0)


def test_deterministic_equivalent_result():
    data = gmm(256)
    de = deterministic_equivalent(activation="relu", x=data.x, n_neurons=512, ridge_penalty=0.1)
    assert de.diagnostics.converged and de.diagnostics.residual < 1e-14
    assert de.effective_ridge == pytest.approx(0.1 * 256 / 512 * (1 + de.delta), rel=1e-13)
    kernel = expected_kernel(activation="relu", x=data.x).kernel
    qbar = np.linalg.inv(512 / 256 * kernel / (1 + de.delta) + 0.1 * np.eye(256))
    assert de.normalized_trace == pytest.approx(np.trace(qbar) / 256, rel=1e-12)
    assert de.warnings == () and "Louart" in de.reference


# --------------------------------------------------------------------------------------------
# MSE formulas
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def relu_case():
    data = gmm(256)
    k = expected_kernel(activation="relu", x=data.x, x_test=data.x_test)
    return data, k


@pytest.mark.parametrize("activation", ["relu", "erf", "tanh"])
def test_spectral_form_matches_dense_paper_form(activation):
    # docs/methods/random_features.md §3.1 checks: dense paper form vs spectral κ-form agree to ≤ 1e-14 relative; we allow
    # 1e-11 (brentq on δ and explicit inverses of n × n matrices with condition up to 1/γ).
    # n = 128 keeps the dense O(n³)-per-iteration reference cheap; the identity does not need large n.
    data = gmm(128)
    k = expected_kernel(activation=activation, x=data.x, x_test=data.x_test)
    pairs = [(32, 1e-3), (64, 1.0), (128, 1e-2), (256, 1e-3), (512, 10.0)]
    res = random_features_ridge(
        activation=activation,
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=[p[0] for p in pairs],
        ridge_penalty=sorted({p[1] for p in pairs}),
        optimize=False,
    )
    gammas = list(res.ridge_penalty)
    for j, (nn, g) in enumerate(pairs):
        delta, train, test = dense_paper_form(k.kernel, k.cross_kernel, k.test_diagonal, data.y, data.y_test, nn, g)
        col = gammas.index(g)
        assert res.delta[j, col] == pytest.approx(delta, rel=1e-11)
        assert res.train_mse[j, col] == pytest.approx(train, rel=1e-10)
        assert res.test_mse[j, col] == pytest.approx(test, rel=1e-10)


def test_slide_typos_would_change_the_answer():
    # docs/methods/random_features.md §3.3: reading K̄ as K (typo 1) or 1/n for 1/N (typo 5) gives a different (wrong) answer;
    # the simulator decides which is right in test_montecarlo_random_features.py. Here: the module
    # equals the K̄ = (N/n) K/(1+δ) reading and is far from both misreadings.
    data = gmm(128)
    k = expected_kernel(activation="relu", x=data.x, x_test=data.x_test)
    for nn, g in [(64, 1e-3), (256, 1.0)]:
        res = random_features_ridge(
            activation="relu",
            x=data.x,
            y=data.y,
            x_test=data.x_test,
            y_test=data.y_test,
            n_neurons=nn,
            ridge_penalty=g,
            optimize=False,
        )
        train, test = res.train_mse[0, 0], res.test_mse[0, 0]
        _, lt_train, lt_test = dense_paper_form(
            k.kernel, k.cross_kernel, k.test_diagonal, data.y, data.y_test, nn, g, literal=True
        )
        _, _n_train, n_test = dense_paper_form(
            k.kernel, k.cross_kernel, k.test_diagonal, data.y, data.y_test, nn, g, one_over_n=True
        )
        assert abs(lt_test - test) > 0.1 * test or abs(lt_train - train) > 0.1 * train
        assert abs(n_test - test) > 0.01 * test
        if nn == 64:  # docs/methods/random_features.md §3.3 at N = n/2, γ = 1e-3: literal E_train < 0 and E_test ~ 1e4
            assert lt_train < 0 or lt_test > 100


def test_multi_output_is_sum_of_single_outputs(relu_case):
    data, _ = relu_case
    rng = np.random.default_rng(4)
    y2 = np.column_stack([data.y, rng.standard_normal(data.y.size)])
    yt2 = np.column_stack([data.y_test, rng.standard_normal(data.y_test.size)])
    kw = dict(
        activation="relu", x=data.x, x_test=data.x_test, n_neurons=[100, 400], ridge_penalty=[1e-3, 0.1], optimize=False
    )
    both = random_features_ridge(y=y2, y_test=yt2, **kw)
    first = random_features_ridge(y=y2[:, 0], y_test=yt2[:, 0], **kw)
    second = random_features_ridge(y=y2[:, 1], y_test=yt2[:, 1], **kw)
    np.testing.assert_allclose(both.train_mse, first.train_mse + second.train_mse, rtol=1e-12)
    np.testing.assert_allclose(both.test_mse, first.test_mse + second.test_mse, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Limits of docs/methods/random_features.md §3.2
# --------------------------------------------------------------------------------------------


def test_limit_many_neurons_is_kernel_ridge_regression(relu_case):
    data, k = relu_case
    n, gamma, big = 256, 0.5, 10**9
    res = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=big,
        ridge_penalty=gamma,
        optimize=False,
    )
    kappa = res.effective_ridge[0, 0]
    assert kappa == pytest.approx(n * gamma / big, rel=1e-6)
    # variance term → 0: the test MSE is that of kernel ridge(less) regression with K, ridge κ → 0
    alpha = np.linalg.solve(k.kernel + kappa * np.eye(n), data.y)
    krr = np.mean((data.y_test - k.cross_kernel.T @ alpha) ** 2)
    assert res.test_mse[0, 0] == pytest.approx(krr, rel=1e-5)


def test_limit_ridgeless_underparameterised_has_finite_kappa(relu_case):
    # γ → 0 with N < rank K: κ → κ0, Σ λ/(λ+κ0) = N; δ ~ 1/γ diverges but the errors stay finite.
    data, k = relu_case
    lam = np.clip(np.linalg.eigvalsh(k.kernel), 0, None)
    nn = 100
    kappa0 = brentq(lambda t: np.sum(lam / (lam + t)) - nn, 1e-12, 1e6, xtol=1e-300, rtol=1e-15)
    res = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=nn,
        ridge_penalty=[1e-12, 1e-10],
        optimize=False,
    )
    np.testing.assert_allclose(res.effective_ridge[0], kappa0, rtol=1e-7)
    assert res.delta[0, 0] > 1e10
    np.testing.assert_allclose(res.train_mse[0, 0], res.train_mse[0, 1], rtol=1e-6)
    np.testing.assert_allclose(res.test_mse[0, 0], res.test_mse[0, 1], rtol=1e-6)


def test_limit_ridgeless_overparameterised_matches_explicit_formula(relu_case):
    # γ → 0 with N > n = rank K: κ ≈ nγ/(N−n), train → 0, test → explicit formula of docs/methods/random_features.md §3.2.
    data, k = relu_case
    n, nn, gamma = 256, 512, 1e-10
    res = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=nn,
        ridge_penalty=gamma,
        optimize=False,
    )
    assert res.effective_ridge[0, 0] == pytest.approx(n * gamma / (nn - n), rel=1e-6)
    assert res.train_mse[0, 0] < 1e-12
    kinv_y = np.linalg.solve(k.kernel, data.y)
    kinv_c = np.linalg.solve(k.kernel, k.cross_kernel)
    bias = np.mean((data.y_test - k.cross_kernel.T @ kinv_y) ** 2)
    bracket = (k.test_diagonal.sum() - np.sum(k.cross_kernel * kinv_c)) / data.y_test.size
    limit = bias + (data.y @ kinv_y / nn) / (1 - n / nn) * bracket
    assert res.test_mse[0, 0] == pytest.approx(limit, rel=1e-6)


def test_double_descent_peak_scales_like_inverse_sqrt_gamma(relu_case):
    # docs/methods/random_features.md §3.2: at N = n (ReLU) Ē_test ∝ γ^{-1/2} (measured 2.82, 27.4, 273, 2734 for γ = 1e-4…1e-10):
    # each factor 100 in γ multiplies the peak by ≈ 10 (we allow 9–11).
    data, _ = relu_case
    res = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=256,
        ridge_penalty=[1e-10, 1e-8, 1e-6],
        optimize=False,
    )
    ratios = res.test_mse[0, :-1] / res.test_mse[0, 1:]
    assert np.all((ratios > 9) & (ratios < 11)), ratios


def test_double_descent_peak_visible_at_n_neurons_equal_n():
    # docs/methods/random_features.md §4: GMM/ReLU n = 512, γ = 1e-4: Ē_test 0.35 at N/n = 0.5, 2.5 at N = n, 0.27 at N/n = 2;
    # with γ = 1e-2 the peak flattens (0.353). Our data are a fresh draw of the same model.
    data = gmm(512, seed=2)
    ratios = np.array([0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 3, 4])
    res = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=np.round(ratios * 512).astype(int),
        ridge_penalty=[1e-4, 1e-2],
        optimize=False,
    )
    small, large = res.test_mse[:, 0], res.test_mse[:, 1]
    assert ratios[np.argmax(small)] == 1.0
    assert small[5] > 4 * small[2] and small[5] > 4 * small[9]
    assert 1.5 < small[5] < 4.0  # docs/methods/random_features.md §4: 2.496
    assert large[5] < 1.5 * min(large[2], large[9])  # flattened: a bump of < 50 % instead of > 4×
    assert large[5] < 0.25 * small[5]


def test_linear_activation_rank_deficient_has_no_peak():
    # docs/methods/random_features.md §3.2, §6 pitfalls 5/7: linear σ with p < n has rank K = p; at N = p numerator and
    # denominator vanish together and the limit is finite (drift without the eigenvalue cut-off).
    data = gmm(256, p=64)
    res = random_features_ridge(
        activation="linear",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=64,
        ridge_penalty=[1e-10, 1e-12, 1e-14, 1e-16],
        optimize=False,
    )
    assert np.all(np.isfinite(res.test_mse))
    np.testing.assert_allclose(res.test_mse[0], res.test_mse[0, 0], rtol=1e-3)
    assert any("rank 64" in note for note in res.notes)


# --------------------------------------------------------------------------------------------
# Grid cost and optimum
# --------------------------------------------------------------------------------------------


def test_whole_grid_uses_one_eigendecomposition(monkeypatch, relu_case):
    data, _ = relu_case
    calls = []

    def counting(original):
        def wrapped(a, *args, **kwargs):
            calls.append(a.shape)
            return original(a, *args, **kwargs)

        return wrapped

    # every symmetric eigensolver the module could reach, including the LAPACK steps that
    # _eigh_projected calls directly
    monkeypatch.setattr(np.linalg, "eigh", counting(np.linalg.eigh))
    monkeypatch.setattr(np.linalg, "eigvalsh", counting(np.linalg.eigvalsh))
    monkeypatch.setattr(scipy.linalg, "eigh", counting(scipy.linalg.eigh))
    monkeypatch.setattr(rf._lapack, "eigh_projected", counting(rf._lapack.eigh_projected))
    grid_n = [32, 64, 128, 200, 256, 300, 512, 1024]
    grid_g = np.logspace(-4, 2, 36)
    res = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=grid_n,
        ridge_penalty=grid_g,
        optimize=True,
    )
    assert calls == [(256, 256)]
    assert res.train_mse.shape == (8, 36) and np.all(np.isfinite(res.test_mse))
    # grid values equal single-point evaluations
    single = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=grid_n[3],
        ridge_penalty=grid_g[7],
        optimize=False,
    )
    assert single.test_mse[0, 0] == pytest.approx(res.test_mse[3, 7], rel=1e-13)


@pytest.mark.parametrize("layout", ["C", "lower-only C", "F"])
@pytest.mark.parametrize("lapack", [True, False], ids=["cython-lapack", "numpy-fallback"])
def test_eigh_projected_is_numpy_eigh_of_the_lower_triangle(layout, lapack, monkeypatch):
    # _eigh_projected reads only K's lower triangle and returns UᵀB without forming U; the reference
    # is numpy.linalg.eigh(K, 'L') and an explicit product, equal up to rounding and each row's sign.
    monkeypatch.setattr(rf._lapack, "AVAILABLE", lapack and rf._lapack.AVAILABLE)
    rng = np.random.default_rng(23)
    m = rng.standard_normal((150, 150))
    m = m @ m.T / 150
    rhs = rng.standard_normal((150, 41))
    given = {
        "C": m.copy(),
        "lower-only C": np.tril(m) + np.triu(np.full_like(m, np.nan), 1),
        "F": np.asfortranarray(m),
    }[layout]
    lam, projected = rf._eigh_projected(given, rhs.copy())
    ref_lam, ref_vecs = np.linalg.eigh(m, UPLO="L")
    np.testing.assert_allclose(lam, ref_lam, rtol=0, atol=1e-13 * ref_lam.max())
    ref = ref_vecs.T @ rhs
    # eigenvectors up to sign (the eigenvalues of this Wishart matrix are distinct, gaps ≥ 1e-4)
    sign = np.sign(np.einsum("ij,ij->i", projected, ref))
    np.testing.assert_allclose(sign[:, None] * projected, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_spectral_data_from_the_lower_triangle_equal_those_from_the_full_kernel(relu_case):
    # expected_kernel_lower leaves K's strict upper triangle unspecified; the spectral data read only
    # the lower one, so they equal those of the full symmetric K.
    data, _ = relu_case
    lower = expected_kernel_lower(activation="relu", x=data.x, x_test=data.x_test)
    full = expected_kernel(activation="relu", x=data.x, x_test=data.x_test)
    y, y_test = data.y.reshape(-1, 1), data.y_test.reshape(-1, 1)
    a = rf._spectral(lower.kernel, lower.cross_kernel, lower.test_diagonal, y, y_test)
    b = rf._spectral(full.kernel, full.cross_kernel, full.test_diagonal, y, y_test)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.cross_weights, b.cross_weights)


def test_optimal_ridge_per_n_neurons(relu_case):
    data, _ = relu_case
    gammas = np.logspace(-4, 2, 13)
    res = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=[64, 256, 1024],
        ridge_penalty=gammas,
    )
    opt = res.optimal
    assert opt.bounds == (1e-4, 1e2)
    assert np.all((opt.ridge_penalty >= 1e-4) & (opt.ridge_penalty <= 1e2))
    assert np.all(opt.test_mse <= res.test_mse.min(axis=1) + 1e-12)
    # stationarity: a 1 % move of γ* does not lower the predicted test MSE (beyond round-off)
    moved = np.concatenate([opt.ridge_penalty * 0.99, opt.ridge_penalty * 1.01])
    around = random_features_ridge(
        activation="relu",
        x=data.x,
        y=data.y,
        x_test=data.x_test,
        y_test=data.y_test,
        n_neurons=opt.n_neurons,
        ridge_penalty=moved,
        optimize=False,
    )
    for j in range(opt.n_neurons.size):
        assert around.test_mse[j, j] >= opt.test_mse[j] - 1e-10
        assert around.test_mse[j, j + opt.n_neurons.size] >= opt.test_mse[j] - 1e-10
    j = int(np.argmin(opt.test_mse))
    assert opt.best_n_neurons == opt.n_neurons[j] and opt.best_test_mse == opt.test_mse[j]


# --------------------------------------------------------------------------------------------
# Data generator, regime warnings, validation
# --------------------------------------------------------------------------------------------


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_gaussian_mixture_reproducible_bit_for_bit():
    a = gaussian_mixture(n_samples=100, n_test=50, n_features=20, rng=123)
    b = gaussian_mixture(n_samples=100, n_test=50, n_features=20, rng=np.random.SeedSequence(123))
    c = gaussian_mixture(n_samples=100, n_test=50, n_features=20, rng=124)
    assert digest(a.x, a.y, a.x_test, a.y_test, a.means) == digest(b.x, b.y, b.x_test, b.y_test, b.means)
    assert digest(a.x) != digest(c.x)
    assert a.seed_entropy == 123


def test_gaussian_mixture_labels_means_and_scaling():
    two = gaussian_mixture(n_samples=1000, n_test=10, n_features=400, proportions=[0.3, 0.7], rng=0)
    assert set(np.unique(two.y)) == {-1.0, 1.0} and two.y.shape == (1000,)
    assert np.count_nonzero(two.labels == 0) == 300 and np.all(two.y[two.labels == 0] == 1.0)
    np.testing.assert_allclose(two.means[0], -two.means[1])
    np.testing.assert_allclose(np.linalg.norm(two.means, axis=1), 3.0)
    norms = np.linalg.norm(two.x, axis=1)
    assert abs(np.median(norms) - np.sqrt(1 + 9 / 400)) < 0.05  # rows of norm ≈ 1 (docs/methods/random_features.md §0)
    means = np.eye(3, 8) * 2.0
    three = gaussian_mixture(n_samples=31, n_test=7, n_features=8, n_classes=3, means=means, rng=5)
    assert three.y.shape == (31, 3) and np.all(three.y.sum(axis=1) == 1.0)
    np.testing.assert_array_equal(three.means, means)
    assert np.bincount(three.labels).tolist() == [11, 10, 10]


def test_regime_warnings():
    data = gmm(256)
    assert regime_warnings(x=data.x, activation="relu") == ()
    raw = data.x * np.sqrt(data.x.shape[1])  # norm ≈ √p: unnormalised features
    warnings = regime_warnings(x=raw, activation="tanh")
    assert any("√p" in w for w in warnings) and any("saturates" in w for w in warnings)
    assert any("Lipschitz" in w for w in regime_warnings(x=data.x, activation="sign"))
    assert any("p/n" in w for w in regime_warnings(x=data.x[:, :4], activation="relu"))
    res = random_features_ridge(
        activation="tanh",
        x=raw,
        y=data.y,
        x_test=data.x_test * np.sqrt(128),
        y_test=data.y_test,
        n_neurons=256,
        ridge_penalty=0.1,
        optimize=False,
    )
    assert res.warnings and np.all(np.isfinite(res.test_mse))


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"y": np.ones(5)}, "y"),
        ({"y_test": np.ones(3)}, "y_test"),
        ({"y_test": np.ones((4, 2))}, "y_test"),
        ({"x": np.full((6, 3), np.nan)}, "x"),
        ({"x_test": np.ones((4, 2))}, "x_test"),
        ({"ridge_penalty": 0.0}, "ridge_penalty"),
        ({"ridge_penalty": [0.1, -1.0]}, "ridge_penalty"),
        ({"ridge_penalty": np.inf}, "ridge_penalty"),
        ({"n_neurons": 10.5}, "n_neurons"),
        ({"n_neurons": 0}, "n_neurons"),
        ({"activation": "bogus"}, "activation"),
        (
            {"activation": {"name": "leaky_relu", "negative_slope": 0.1}},
            "activation",
        ),  # solvers take Activation objects
    ],
)
def test_prediction_validation_names_the_parameter(change, parameter):
    rng = np.random.default_rng(0)
    kw = dict(
        activation="relu",
        x=rng.standard_normal((6, 3)),
        y=np.ones(6),
        x_test=rng.standard_normal((4, 3)),
        y_test=np.ones(4),
        n_neurons=10,
        ridge_penalty=0.1,
    )
    kw.update(change)
    with pytest.raises(InvalidParameterError) as info:
        random_features_ridge(**kw)
    assert info.value.parameter == parameter and f"`{parameter}`" in info.value.message


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"n_neurons": 0, "ridge_penalty": 1.0}, "n_neurons"),
        ({"n_neurons": 5, "ridge_penalty": -1.0}, "ridge_penalty"),
    ],
)
def test_deterministic_equivalent_validation(kwargs, parameter):
    with pytest.raises(InvalidParameterError) as info:
        deterministic_equivalent(activation="relu", x=np.eye(3), **kwargs)
    assert info.value.parameter == parameter


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"n_classes": 1}, "n_classes"),
        ({"proportions": [0.2, 0.2]}, "proportions"),
        ({"noise_variance": -1.0}, "noise_variance"),
        ({"means": np.ones((2, 3))}, "means"),
        ({"n_samples": 0}, "n_samples"),
    ],
)
def test_gaussian_mixture_validation(kwargs, parameter):
    base = dict(n_samples=10, n_test=5, n_features=4, rng=0)
    base.update(kwargs)
    with pytest.raises(InvalidParameterError) as info:
        gaussian_mixture(**base)
    assert info.value.parameter == parameter and f"`{parameter}`" in info.value.message


def test_spectral_data_zeroes_null_directions():
    data = gmm(128, p=16)
    sd = spectral_data(activation="linear", x=data.x, y=data.y, x_test=data.x_test, y_test=data.y_test)
    assert np.count_nonzero(sd.eigenvalues) == 16
    assert np.all(sd.projected_cross[sd.eigenvalues == 0] == 0.0)


def test_subnormal_ridge_penalty_is_refused_and_the_smallest_allowed_works():
    # Found by fuzzing the HTTP endpoint: γ = 5e-324 made n·γ subnormal (overflow in δ, log(0) in the
    # γ* bracket). The domain is γ ≥ 1e-300, where everything stays finite.
    rng = np.random.default_rng(11)
    x = rng.standard_normal((8, 4)) / 2.0
    y = np.sign(x[:, 0])
    with pytest.raises(InvalidParameterError, match="ridge_penalty"):
        random_features_ridge(activation="relu", x=x, y=y, x_test=x, y_test=y, n_neurons=[4], ridge_penalty=[5e-324])
    result = random_features_ridge(
        activation="relu", x=x, y=y, x_test=x, y_test=y, n_neurons=[4], ridge_penalty=[1e-300]
    )
    low, high = result.optimal.bounds
    assert 0.0 < low < high and np.isfinite(result.optimal.best_test_mse)


# --- where the deterministic equivalent is not accurate (docs/methods/random_features.md §4.1) ---------


def test_small_ridge_warning_fires_below_a_tenth_of_the_mean_eigenvalue():
    """The threshold is 0.1·tr K/n: a γ just below it fires, one just above does not (closed-form check on a given spectrum)."""
    from solvers.random_features import SMALL_RIDGE_FRACTION, finite_size_warnings

    lam = np.array([3.0, 1.0, 0.5, 0.5, 0.0])  # tr K/n = 1.0, threshold 0.1
    assert SMALL_RIDGE_FRACTION == 0.1
    (message,) = finite_size_warnings(
        eigenvalues=lam, n_neurons=np.array([2, 5, 10]), ridge_penalty=np.array([0.0999, 1.0])
    )
    assert "1 of the 2 ridge penalties" in message and "0.1·tr K/n = 0.1" in message
    assert "N ≥ n = 5 for 2 of the 3 N" in message
    assert "17 %" in message and "simulation job" in message and "random_features_ridge" in message
    assert (
        finite_size_warnings(eigenvalues=lam, n_neurons=np.array([2, 5]), ridge_penalty=np.array([0.1001, 10.0])) == ()
    )


def test_predictions_carry_the_small_ridge_warning_only_in_that_regime():
    """Through random_features_ridge on a Gaussian mixture (relu, n = 256): λ̄ = tr K/n ≈ 0.5, so γ = 1e-3 fires and γ = 1 does not."""
    data = gaussian_mixture(n_samples=256, n_test=64, n_features=128, rng=3)
    common = {
        "activation": "relu",
        "x": data.x,
        "y": data.y,
        "x_test": data.x_test,
        "y_test": data.y_test,
        "n_neurons": [128, 512],
        "optimize": False,
    }
    small = random_features_ridge(**common, ridge_penalty=[1e-3, 1.0])
    assert sum("finite-n error" in w for w in small.warnings) == 1
    large = random_features_ridge(**common, ridge_penalty=[1.0, 10.0])
    assert not any("finite-n error" in w for w in large.warnings)
