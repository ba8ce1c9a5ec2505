"""Ridge / ridgeless regression risk (docs/methods/linear_ridge.md): closed forms, limits, stability."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest
from scipy.optimize import brentq

from solvers.exceptions import InvalidParameterError
from solvers.linear_regression import optimal_ridge_penalty, ridge_regression_risk

RATIOS = np.array([0.05, 0.5, 0.9, 0.999, 1.0, 1.001, 1.1, 2.0, 10.0, 100.0])
PENALTIES = np.array([0.0, 1e-12, 1e-6, 1e-3, 0.1, 1.0, 10.0, 1e4])
TWO_POINT = dict(eigenvalues=[0.5, 2.0, 5.0], weights=[0.2, 0.5, 0.3], signal_weights=[0.6, 0.3, 0.1])


def assert_close_with_nan(actual, expected, rtol):
    assert np.array_equal(np.isnan(actual), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(actual[ok], expected[ok], rtol=rtol, atol=0)


def test_shapes_are_ratio_major_outer_product():
    result = ridge_regression_risk(
        ratio=[0.5, 2.0, 3.0], ridge_penalty=[0.0, 1.0], signal_strength=1.0, noise_variance=1.0
    )
    for field in ("bias", "variance", "risk", "test_mse", "train_error", "effective_ridge"):
        assert getattr(result, field).shape == (3, 2)
    single = ridge_regression_risk(ratio=3.0, ridge_penalty=1.0, signal_strength=1.0, noise_variance=1.0)
    assert single.risk.shape == (1, 1)
    assert single.risk[0, 0] == result.risk[2, 1]
    np.testing.assert_array_equal(result.test_mse, result.risk + 1.0)
    assert "Hastie" in result.reference and "docs/methods/linear_ridge.md" in result.reference


@pytest.mark.parametrize(
    "spectrum", [dict(eigenvalues=[1.0], weights=[1.0]), dict(eigenvalues=[1.0, 1.0], weights=[0.3, 0.7])]
)
def test_isotropic_closed_form_matches_general_path_with_one_atom(spectrum):
    kwargs = dict(ratio=RATIOS, ridge_penalty=PENALTIES, signal_strength=1.7, noise_variance=0.6)
    closed = ridge_regression_risk(**kwargs)
    general = ridge_regression_risk(**kwargs, **spectrum)
    for field in ("bias", "variance", "risk", "train_error", "effective_ridge"):
        assert_close_with_nan(getattr(general, field), getattr(closed, field), rtol=1e-10)
    assert closed.diagnostics.iterations == 0
    assert general.diagnostics.converged and general.diagnostics.residual < 1e-12
    assert general.notes == closed.notes != ()


def test_general_sigma_ridgeless_matches_hastie_theorem_2_form():
    """docs/methods/linear_ridge.md §4: the κ₀ form and Hastie et al.'s c₀ form agree (1e-10), for b ≠ w too."""
    t, w, b = (np.array(TWO_POINT[k]) for k in ("eigenvalues", "weights", "signal_weights"))
    r2, s2 = 1.3, 0.4
    ratios = np.array([1.05, 1.5, 2.0, 5.0, 50.0])
    result = ridge_regression_risk(
        ratio=ratios, ridge_penalty=[0.0], signal_strength=r2, noise_variance=s2, **TWO_POINT
    )
    for i, gamma in enumerate(ratios):
        # independent root: 1 − 1/γ = ∫ dH(s)/(1 + c₀γs)
        c0 = brentq(
            lambda c, gamma=gamma: np.sum(w / (1 + c * gamma * t)) - (1 - 1 / gamma),
            1e-12,
            1e12,
            xtol=1e-300,
            rtol=1e-15,
        )
        q = 1 + c0 * gamma * t
        ratio_int = np.sum(w * t**2 / q**2) / np.sum(w * t / q**2)
        bias = r2 * (1 + gamma * c0 * ratio_int) * np.sum(b * t / q**2)
        variance = s2 * gamma * c0 * ratio_int
        np.testing.assert_allclose(result.bias[i, 0], bias, rtol=1e-10)
        np.testing.assert_allclose(result.variance[i, 0], variance, rtol=1e-10)
        assert result.train_error[i, 0] == 0.0
        np.testing.assert_allclose(result.effective_ridge[i, 0], 1 / (gamma * c0), rtol=1e-10)


def test_general_sigma_ridgeless_below_one_is_independent_of_sigma():
    ratios = np.array([0.1, 0.5, 0.95])
    result = ridge_regression_risk(
        ratio=ratios, ridge_penalty=[0.0], signal_strength=2.0, noise_variance=0.7, **TWO_POINT
    )
    np.testing.assert_array_equal(result.bias[:, 0], 0.0)
    np.testing.assert_allclose(result.variance[:, 0], 0.7 * ratios / (1 - ratios), rtol=1e-14)
    np.testing.assert_allclose(result.train_error[:, 0], 0.7 * (1 - ratios), rtol=1e-14)


def test_ridge_is_continuous_at_zero_penalty_away_from_ratio_one():
    kwargs = dict(ratio=[0.3, 0.8, 1.3, 4.0], ridge_penalty=[0.0, 1e-13], signal_strength=1.0, noise_variance=0.5)
    for spectrum in ({}, TWO_POINT):
        result = ridge_regression_risk(**kwargs, **spectrum)
        np.testing.assert_allclose(result.risk[:, 1], result.risk[:, 0], rtol=1e-9)
        np.testing.assert_allclose(result.train_error[:, 1], result.train_error[:, 0], rtol=1e-9, atol=1e-20)


@pytest.mark.parametrize("spectrum", [{}, TWO_POINT])
def test_large_penalty_limits(spectrum):
    """λ → ∞: B → r_Σ² = r² Σ b t, V → 0, E_train → r_Σ² + σ² (docs/methods/linear_ridge.md §2, §5)."""
    r2, s2 = 1.5, 0.8
    result = ridge_regression_risk(
        ratio=[0.3, 1.0, 3.0], ridge_penalty=[1e12, 1e300], signal_strength=r2, noise_variance=s2, **spectrum
    )
    signal = r2 * (np.dot(spectrum["signal_weights"], spectrum["eigenvalues"]) if spectrum else 1.0)
    np.testing.assert_allclose(result.bias, signal, rtol=1e-10)
    assert np.all(result.variance < 1e-20)
    np.testing.assert_allclose(result.train_error, signal + s2, rtol=1e-10)


def test_ridgeless_double_descent_isotropic():
    """docs/methods/linear_ridge.md §3 (Hastie et al. 2022, Thm 1) on both sides of ratio 1."""
    r, sigma = 2.0, 1.0
    below = np.array([0.05, 0.3, 0.7, 0.95, 0.999])
    above = np.array([1.001, 1.05, 1.5, 2.0, 3.0, 10.0, 1e4])
    result = ridge_regression_risk(
        ratio=np.concatenate([below, above]), ridge_penalty=[0.0], signal_strength=r**2, noise_variance=sigma**2
    )
    risk = result.risk[:, 0]
    expected = np.concatenate([sigma**2 * below / (1 - below), r**2 * (1 - 1 / above) + sigma**2 / (above - 1)])
    np.testing.assert_allclose(risk, expected, rtol=1e-13)
    np.testing.assert_array_equal(result.bias[: below.size, 0], 0.0)
    np.testing.assert_allclose(result.train_error[: below.size, 0], sigma**2 * (1 - below), rtol=1e-14)
    np.testing.assert_array_equal(result.train_error[below.size :, 0], 0.0)
    assert np.all(np.diff(risk[: below.size]) > 0)  # first ascent towards the peak at γ = 1
    # second descent: minimum at γ = r/(r − σ) = 2 with value σ(2r − σ) = 3
    star = r / (r - sigma)
    around = ridge_regression_risk(
        ratio=[star * (1 - 1e-3), star, star * (1 + 1e-3)],
        ridge_penalty=[0.0],
        signal_strength=r**2,
        noise_variance=sigma**2,
    ).risk[:, 0]
    np.testing.assert_allclose(around[1], sigma * (2 * r - sigma), rtol=1e-14)
    assert around[0] > around[1] < around[2]
    np.testing.assert_allclose(risk[-1], r**2, rtol=1e-3)  # null risk as γ → ∞


def test_ridgeless_low_snr_second_descent_is_monotone():
    ratios = np.linspace(1.01, 50, 200)
    risk = ridge_regression_risk(ratio=ratios, ridge_penalty=[0.0], signal_strength=0.5, noise_variance=1.0).risk[:, 0]
    assert np.all(np.diff(risk) < 0)


@pytest.mark.parametrize("spectrum", [{}, TWO_POINT])
def test_ridgeless_at_ratio_one_is_nan_with_note(spectrum):
    result = ridge_regression_risk(
        ratio=[0.5, 1.0], ridge_penalty=[0.0, 0.1], signal_strength=1.0, noise_variance=0.5, **spectrum
    )
    for field in ("variance", "risk", "test_mse"):
        values = getattr(result, field)
        assert math.isnan(values[1, 0])
        assert np.isfinite(np.delete(values.ravel(), 2)).all()
    assert result.bias[1, 0] == 0.0 and result.train_error[1, 0] == 0.0
    assert not np.isinf(result.risk).any()
    assert len(result.notes) == 1 and "ratio = 1" in result.notes[0]
    # no noise: the interpolator at p = n recovers β, every limit is finite (0), no note
    clean = ridge_regression_risk(ratio=[1.0], ridge_penalty=[0.0], signal_strength=1.0, noise_variance=0.0, **spectrum)
    assert clean.risk[0, 0] == 0.0 and clean.notes == ()


def test_ratio_one_ridge_is_finite_with_inverse_sqrt_variance():
    """docs/methods/linear_ridge.md §2: at γ = 1, V ~ σ²/(2√λ) as λ → 0 (relative correction O(√λ))."""
    lam = np.array([1e-6, 1e-8, 1e-10, 1e-12])
    result = ridge_regression_risk(ratio=[1.0], ridge_penalty=lam, signal_strength=1.0, noise_variance=0.7)
    assert np.isfinite(result.risk).all() and result.notes == ()
    scaled = result.variance[0] / (0.7 / (2 * np.sqrt(lam)))
    assert np.all(np.abs(scaled - 1.0) <= 3 * np.sqrt(lam))


def _p_side_reference(gamma: float, lam: float, r2: float, s2: float) -> tuple[float, float]:
    """B = r²λ²m'(−λ), V = σ²γ(m − λm') (docs/methods/linear_ridge.md §2) evaluated in 60-digit decimal arithmetic."""
    getcontext().prec = 60
    g, lm = Decimal(gamma), Decimal(lam)
    a = 1 - g + lm
    root = (a * a + 4 * g * lm).sqrt()
    m = 2 / (a + root) if a > 0 else (root - a) / (2 * g * lm)
    dm = m * (1 + g * m) / root
    return float(Decimal(r2) * lm * lm * dm), float(Decimal(s2) * g * (m - lm * dm))


@pytest.mark.parametrize(
    ("gamma", "lam"),
    [(10.0, 1e-10), (10.0, 1e-6), (0.1, 1e8), (1.0, 1e-12), (0.5, 1e-14), (1.0 + 1e-9, 1e-9), (2.0, 3.0)],
)
def test_stable_forms_against_high_precision_reference(gamma, lam):
    """docs/methods/linear_ridge.md §6: the p-side difference m − λm' loses ~6 digits at γ = 10, λ = 1e-10 in float64;
    our cancellation-free κ form stays within 1e-13 of a 60-digit evaluation."""
    bias_ref, variance_ref = _p_side_reference(gamma, lam, 1.0, 1.0)
    for spectrum in ({}, dict(eigenvalues=[1.0], weights=[1.0])):
        result = ridge_regression_risk(
            ratio=[gamma], ridge_penalty=[lam], signal_strength=1.0, noise_variance=1.0, **spectrum
        )
        np.testing.assert_allclose(result.bias[0, 0], bias_ref, rtol=1e-13)
        np.testing.assert_allclose(result.variance[0, 0], variance_ref, rtol=1e-12 if spectrum else 1e-13)


def test_naive_p_side_form_shows_the_pitfall():
    """Documents why the κ form is used: the float64 p-side variance at γ = 10, λ = 1e-10 is off."""
    gamma, lam = 10.0, 1e-10
    a = 1 - gamma + lam
    root = math.sqrt(a * a + 4 * gamma * lam)
    m = (root - a) / (2 * gamma * lam)
    dm = m * (1 + gamma * m) / root
    naive = gamma * (m - lam * dm)
    _, reference = _p_side_reference(gamma, lam, 1.0, 1.0)
    assert abs(naive / reference - 1) > 1e-9
    ours = ridge_regression_risk(ratio=[gamma], ridge_penalty=[lam], signal_strength=1.0, noise_variance=1.0)
    assert abs(ours.variance[0, 0] / reference - 1) < 1e-14


def test_training_error_is_population_gcv_identity():
    """docs/methods/linear_ridge.md §5: E_train = (λ/κ)² × test MSE."""
    lam = np.array([0.01, 0.3, 3.0])
    for spectrum in ({}, TWO_POINT):
        result = ridge_regression_risk(
            ratio=[0.4, 1.0, 2.5], ridge_penalty=lam, signal_strength=1.2, noise_variance=0.9, **spectrum
        )
        expected = (lam / result.effective_ridge) ** 2 * result.test_mse
        np.testing.assert_allclose(result.train_error, expected, rtol=1e-13)


def test_optimal_penalty_isotropic_closed_form_is_a_minimum():
    ratios = np.array([0.2, 0.9, 1.0, 1.5, 8.0])
    r2, s2 = 2.0, 0.7
    best = optimal_ridge_penalty(ratio=ratios, signal_strength=r2, noise_variance=s2)
    np.testing.assert_allclose(best.ridge_penalty, s2 * ratios / r2, rtol=1e-15)
    for i, gamma in enumerate(ratios):
        lam = best.ridge_penalty[i]
        risk = ridge_regression_risk(
            ratio=[gamma],
            ridge_penalty=[lam * (1 - 1e-3), lam, lam * (1 + 1e-3)],
            signal_strength=r2,
            noise_variance=s2,
        ).risk[0]
        np.testing.assert_allclose(best.risk[i], risk[1], rtol=1e-13)  # R(λ*) = σ²γ m(−λ*)
        assert risk[0] > risk[1] < risk[2]
    np.testing.assert_allclose(best.test_mse, best.risk + s2, rtol=0)
    assert best.diagnostics.converged and best.notes == ()


def test_optimal_penalty_general_sigma_against_dense_grid():
    r2, s2 = 1.0, 0.5
    ratios = np.array([0.5, 1.0, 2.0])
    best = optimal_ridge_penalty(ratio=ratios, signal_strength=r2, noise_variance=s2, **TWO_POINT)
    assert best.diagnostics.converged and best.notes == ()
    grid = np.logspace(-4, 2, 12001)  # spacing 1.2e-3 relative
    dense = ridge_regression_risk(
        ratio=ratios, ridge_penalty=grid, signal_strength=r2, noise_variance=s2, **TWO_POINT
    ).risk
    for i in range(ratios.size):
        j = int(np.argmin(dense[i]))
        assert 0 < j < grid.size - 1
        assert best.risk[i] <= dense[i, j] + 1e-14
        np.testing.assert_allclose(best.ridge_penalty[i], grid[j], rtol=2e-3)


def test_optimal_penalty_general_sigma_random_direction_is_dobriban_wager():
    """b = w: λ* = σ²γ/r² for any Σ (Dobriban & Wager 2018)."""
    ratios = np.array([0.3, 1.0, 4.0])
    spectrum = dict(eigenvalues=[0.5, 2.0, 5.0], weights=[0.2, 0.5, 0.3])
    best = optimal_ridge_penalty(ratio=ratios, signal_strength=2.0, noise_variance=0.6, **spectrum)
    np.testing.assert_allclose(best.ridge_penalty, 0.6 * ratios / 2.0, rtol=1e-5)


def test_optimal_penalty_boundary_cases():
    ratios = [0.5, 1.0, 2.0]
    null_signal = optimal_ridge_penalty(ratio=ratios, signal_strength=0.0, noise_variance=1.0)
    assert np.isnan(null_signal.ridge_penalty).all() and "∞" in null_signal.notes[0]
    np.testing.assert_array_equal(null_signal.risk, 0.0)
    np.testing.assert_array_equal(null_signal.test_mse, 1.0)
    noiseless = optimal_ridge_penalty(ratio=ratios, signal_strength=1.0, noise_variance=0.0)
    np.testing.assert_array_equal(noiseless.ridge_penalty, 0.0)
    np.testing.assert_allclose(noiseless.risk, [0.0, 0.0, 0.5], rtol=1e-15)
    general = optimal_ridge_penalty(
        ratio=ratios, signal_strength=1.0, noise_variance=0.0, eigenvalues=[0.5, 2.0], weights=[0.5, 0.5]
    )
    np.testing.assert_array_equal(general.ridge_penalty, 0.0)
    nothing = optimal_ridge_penalty(ratio=ratios, signal_strength=0.0, noise_variance=0.0)
    np.testing.assert_array_equal(nothing.ridge_penalty, 0.0)
    np.testing.assert_array_equal(nothing.risk, 0.0)


BASE = dict(ratio=[0.5], ridge_penalty=[0.1], signal_strength=1.0, noise_variance=1.0)


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        (dict(ratio=[0.5, -1.0]), "ratio"),
        (dict(ratio=[0.0]), "ratio"),
        (dict(ratio=[np.inf]), "ratio"),
        (dict(ratio=[]), "ratio"),
        (dict(ridge_penalty=[-1e-3]), "ridge_penalty"),
        (dict(ridge_penalty=[np.nan]), "ridge_penalty"),
        (dict(signal_strength=-1.0), "signal_strength"),
        (dict(noise_variance=-0.5), "noise_variance"),
        (dict(noise_variance=np.inf), "noise_variance"),
        (dict(eigenvalues=[1.0, 0.0], weights=[0.5, 0.5]), "eigenvalues"),
        (dict(eigenvalues=[1.0, 2.0], weights=[0.6, 0.6]), "weights"),
        (dict(eigenvalues=[1.0, 2.0], weights=[1.0, 0.0]), "weights"),
        (dict(eigenvalues=[1.0, 2.0], weights=[1.0]), "weights"),
        (dict(eigenvalues=[1.0, 2.0], signal_weights=[1.2, -0.2]), "signal_weights"),
        (dict(eigenvalues=[1.0, 2.0], signal_weights=[0.5, 0.6]), "signal_weights"),
        (dict(weights=[1.0]), "weights"),
    ],
)
def test_validation_names_the_parameter(change, parameter):
    with pytest.raises(InvalidParameterError) as info:
        ridge_regression_risk(**{**BASE, **change})
    assert info.value.parameter == parameter
    assert f"`{parameter}`" in str(info.value)
    if "ridge_penalty" not in change:
        optimal_kwargs = {k: v for k, v in {**BASE, **change}.items() if k != "ridge_penalty"}
        with pytest.raises(InvalidParameterError) as info:
            optimal_ridge_penalty(**optimal_kwargs)
        assert info.value.parameter == parameter


def test_signal_weights_may_vanish_and_weights_sum_tolerance():
    result = ridge_regression_risk(
        **BASE, eigenvalues=[1.0, 2.0], weights=[0.5, 0.5 + 5e-10], signal_weights=[0.0, 1.0]
    )
    assert np.isfinite(result.risk).all()


# Fuzzing: a subnormal signal or noise energy made σ²γ/r² overflow (null λ* without a note) or
# underflow (log10(0): a 500 on the general-Σ path).


@pytest.mark.parametrize("population", [{}, TWO_POINT], ids=["isotropic", "general"])
@pytest.mark.parametrize("signal_strength", [5e-324, 1e-310])
def test_optimal_penalty_beyond_the_float_range_is_null_with_a_note(population, signal_strength):
    result = optimal_ridge_penalty(ratio=[0.5, 2.0], signal_strength=signal_strength, noise_variance=1.0, **population)
    assert np.all(np.isnan(result.ridge_penalty))
    assert any("exceeds the float64 range" in note for note in result.notes)
    # R(∞) = ‖β‖²_Σ = r² Σ b_k t_k: the limit of R(λ*) = σ²γ m(−λ*) ≈ σ²γ/λ* = r² (Σ = I).
    t = np.asarray(population.get("eigenvalues", [1.0]))
    b = np.asarray(population.get("signal_weights", [1.0]))
    np.testing.assert_allclose(result.risk, signal_strength * np.sum(b * t), rtol=1e-12)
    np.testing.assert_allclose(result.test_mse, result.risk + 1.0)


@pytest.mark.parametrize("noise_variance", [5e-324, 1e-310, 1e-300])
def test_optimal_penalty_with_a_subnormal_noise_is_finite(noise_variance):
    # σ²γ/r² underflows: λ* ≈ 0, and the general path must not take log10(0).
    result = optimal_ridge_penalty(ratio=[0.5, 2.0], signal_strength=1.0, noise_variance=noise_variance, **TWO_POINT)
    assert np.all(np.isfinite(result.ridge_penalty)) and np.all(result.ridge_penalty >= 0)
    reference = optimal_ridge_penalty(ratio=[0.5, 2.0], signal_strength=1.0, noise_variance=0.0, **TWO_POINT)
    np.testing.assert_allclose(result.risk, reference.risk, rtol=1e-6, atol=1e-300)
