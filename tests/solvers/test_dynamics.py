"""Theory of gradient-descent dynamics (solvers/dynamics.py) against independent computations.

Provenance of every reference: the corrected contour form of docs/methods/dynamics.md §3 (computed
here with a trapezoid rule on a circle, independent of the solver's real-line quadrature), exact
polynomial moments of the Marchenko–Pastur law (∫x dμ = 1, ∫x² dμ = 1 + c) for one GD step, the
closed forms of docs/methods/linear_ridge.md §2–§3 re-implemented below, and the values docs/methods/dynamics.md
reports (§4.2: late train error 0.032, talk's version 0.150). Monte Carlo lives in
test_montecarlo_dynamics.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from solvers import dynamics as D
from solvers.dynamics import gradient_descent_classification, gradient_descent_regression
from solvers.exceptions import InvalidParameterError

# ----------------------------------------------------------------------------------------------
# Independent reference: the corrected contour-integral form (docs/methods/dynamics.md §3)
# ----------------------------------------------------------------------------------------------


def _mp_stieltjes(w: np.ndarray, c: float) -> np.ndarray:
    """m(w) = ∫ μ(dx)/(x − w), branch of linear.md §1.2 (product of principal roots)."""
    lm, lp = (1 - math.sqrt(c)) ** 2, (1 + math.sqrt(c)) ** 2
    r = np.sqrt(w - lp) * np.sqrt(w - lm)
    a = w - (1 - c)
    use_stable = np.abs(a + r) >= np.abs(a - r)
    return np.where(use_stable, -2.0 / (a + r), (r - a) / (2 * c * w))


def _contour(c, rho, gamma, sigma2, alpha_t, *, e_train_sign=+1.0, v_train_shift=0.0, n=4096):
    """(E_train, V_train, E_test, V_test) of docs/methods/dynamics.md §3 by the trapezoid rule on a circle.

    ``e_train_sign=-1`` reproduces the talk's sign error (docs/methods/dynamics.md §4.1); ``v_train_shift=gamma``
    replaces the factor (z − γ) by z as in the talk's γ = 0-only V_train (docs/methods/dynamics.md §4.2).
    """
    lp = (1 + math.sqrt(c)) ** 2
    lam_s = 1 + rho + c + c / rho
    left, right = gamma - 0.5, gamma + max(lp, lam_s) + 0.5
    centre, radius = 0.5 * (left + right), 0.5 * (right - left)
    theta = 2 * np.pi * (np.arange(n) + 0.5) / n
    z = centre + radius * np.exp(1j * theta)
    dz = radius * np.exp(1j * theta) / n  # (1/2πi)∮F dz ≈ Σ F(z_j)·dz_j
    m = _mp_stieltjes(z - gamma, c)
    f = np.exp(-alpha_t * z)
    h = -np.expm1(-alpha_t * z) / z
    d = (rho + c) * m + 1
    e_test = -np.sum(h * rho * m / d * dz)
    e_train = e_train_sign * np.sum(h / d * dz)
    core = h * h / d - sigma2 * f * f * m
    v_test = np.sum(core * dz)
    v_train = np.sum((z - gamma + v_train_shift) * core * dz) - e_train**2
    return tuple(float(v.real) for v in (e_train, v_train, e_test, v_test))


CONTOUR_CASES = [
    # (c, ρ, γ, σ²): no spike / critical ρ = √c / spike; c < 1, c = 1, c > 1; γ = 0 and > 0
    (0.5, 0.4, 0.0, 0.0),
    (0.5, math.sqrt(0.5), 0.2, 0.5),
    (0.5, 2.0, 0.0, 1.0),
    (1.0, 1.5, 0.0, 1.0),
    (2.0, 1.0, 0.1, 0.5),
    (4.0, 3.0, 0.0, 2.0),
]


@pytest.mark.parametrize(("c", "rho", "gamma", "sigma2"), CONTOUR_CASES)
def test_real_line_form_matches_corrected_contour_form(c, rho, gamma, sigma2):
    # docs/methods/dynamics.md §3 measured 7.7e-15 between the two forms for αt ≤ 8; we allow 1e-11 because the
    # contour integrand grows like e^{αt·0.5} on the left of the circle (cancellation, docs/methods/dynamics.md §5).
    times = np.array([0.1, 0.5, 2.0, 8.0])
    r = gradient_descent_classification(
        ratio=c, mean_norm_squared=rho, ridge_penalty=gamma, init_variance=sigma2, time=times
    )
    for j, t in enumerate(times):
        ref = _contour(c, rho, gamma, sigma2, t)
        got = (r.e_train[j], r.v_train[j], r.e_test[j], r.v_test[j])
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-11)


def test_talk_sign_error_in_e_train_would_be_caught():
    # The talk's E_train has a leading "−" (docs/methods/dynamics.md §4.1): it equals −E_train, so the predicted train
    # error becomes 1 − the true one. Our value matches the corrected contour form and is
    # positive; the talk's literal version is the opposite and would fail the same assertion.
    c, rho, gamma, sigma2, t = 0.8, 1.0, 1.0, 0.5, 4.0
    r = gradient_descent_classification(
        ratio=c, mean_norm_squared=rho, ridge_penalty=gamma, init_variance=sigma2, time=[t]
    )
    good = _contour(c, rho, gamma, sigma2, t)
    talk = _contour(c, rho, gamma, sigma2, t, e_train_sign=-1.0)
    assert r.e_train[0] > 0
    assert abs(r.e_train[0] - good[0]) < 1e-11
    assert abs(r.e_train[0] - talk[0]) > 0.5
    # the talk's error rate is the complement of ours (Q(−x) = 1 − Q(x))
    talk_error = ndtr(-talk[0] / math.sqrt(r.v_train[0]))
    assert abs(talk_error - (1 - r.train_error[0])) < 1e-12
    assert abs(talk_error - r.train_error[0]) > 0.5


def test_talk_gamma_zero_only_v_train_would_be_caught():
    # docs/methods/dynamics.md §4.2: for c = 0.8, ρ = 1, γ = 1, σ² = 0.5 the late-time train error is 0.032
    # (Monte Carlo 0.031 ± 0.001); the talk's literal V_train (= V_train + γ V_test) predicts 0.150.
    c, rho, gamma, sigma2 = 0.8, 1.0, 1.0, 0.5
    r = gradient_descent_classification(
        ratio=c, mean_norm_squared=rho, ridge_penalty=gamma, init_variance=sigma2, time=[1000.0]
    )
    assert abs(r.train_error[0] - 0.032) < 0.0005  # docs/methods/dynamics.md §4.2 prints 3 decimals
    talk_v = r.v_train[0] + gamma * r.v_test[0]
    talk_error = float(ndtr(-r.e_train[0] / math.sqrt(talk_v)))
    assert abs(talk_error - 0.150) < 0.0005
    # and the contour form with the talk's factor z reproduces exactly that V (at a moderate t)
    t = 6.0
    r6 = gradient_descent_classification(
        ratio=c, mean_norm_squared=rho, ridge_penalty=gamma, init_variance=sigma2, time=[t]
    )
    literal = _contour(c, rho, gamma, sigma2, t, v_train_shift=gamma)
    assert abs(literal[1] - (r6.v_train[0] + gamma * r6.v_test[0])) < 1e-10
    assert abs(literal[1] - r6.v_train[0]) > 0.1


# ----------------------------------------------------------------------------------------------
# Special values: t = 0, t → 0⁺, one GD step, t → ∞
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("c", "rho", "gamma"), [(0.5, 0.3, 0.0), (1.0, 1.0, 0.2), (3.0, 4.0, 0.0)])
def test_time_zero_is_chance_and_the_initialisation_variance(c, rho, gamma):
    # docs/methods/dynamics.md §2 "Special values": t = 0 gives E = 0, V_test = V_train = σ², error 1/2.
    r = gradient_descent_classification(
        ratio=c, mean_norm_squared=rho, ridge_penalty=gamma, init_variance=0.7, time=[0.0]
    )
    assert r.e_train[0] == 0 and r.e_test[0] == 0
    np.testing.assert_allclose([r.v_train[0], r.v_test[0]], [0.7, 0.7], rtol=1e-13)
    assert r.train_error[0] == 0.5 and r.test_error[0] == 0.5


def test_time_zero_without_initialisation_is_undefined_with_a_note():
    r = gradient_descent_classification(ratio=0.5, mean_norm_squared=1.0, time=[0.0, 1.0])
    assert np.isnan(r.test_error[0]) and np.isnan(r.train_error[0])
    assert np.isfinite(r.test_error[1])
    assert any("undefined" in note for note in r.notes)


@pytest.mark.parametrize(
    ("c", "rho"), [(0.5, 0.3), (0.5, math.sqrt(0.5)), (0.5, 2.0), (1.0, 1.0), (4.0, 1.0), (4.0, 3.0)]
)
def test_early_times_measure_the_total_masses(c, rho):
    # As t → 0, h_t ≈ αt: E_test/αt → ω(R) = ρ and E_train/αt, V_test/(αt)² (σ² = 0) → ρ + c
    # (docs/methods/dynamics.md §2: ω has total mass ρ in every regime; kω has mass ρ + c). Error O(αt).
    alpha, t = 0.5, 1e-9
    r = gradient_descent_classification(
        ratio=c, mean_norm_squared=rho, learning_rate=alpha, ridge_penalty=0.3, time=[t]
    )
    at = alpha * t
    np.testing.assert_allclose(r.e_test[0] / at, rho, rtol=1e-7)
    np.testing.assert_allclose(r.e_train[0] / at, rho + c, rtol=1e-7)
    np.testing.assert_allclose(r.v_test[0] / at**2, rho + c, rtol=1e-7)


@pytest.mark.parametrize(("c", "rho", "gamma", "sigma2"), [(0.5, 2.0, 0.1, 0.4), (2.0, 1.0, 0.0, 1.3)])
def test_one_gd_step_is_an_exact_polynomial_moment(c, rho, gamma, sigma2):
    # After one step f_1(z) = 1 − αz, h_1 = α: E_test = αρ, E_train = α(ρ + c),
    # V_test = α²(ρ + c) + σ²∫(1 − α(x + γ))² dμ with ∫x dμ = 1, ∫x² dμ = 1 + c (linear.md §1.3).
    alpha = 0.2
    r = gradient_descent_classification(
        ratio=c,
        mean_norm_squared=rho,
        ridge_penalty=gamma,
        learning_rate=alpha,
        init_variance=sigma2,
        time=[1],
        mode="gd",
    )
    a = 1 - alpha * gamma
    init = a * a - 2 * a * alpha + alpha**2 * (1 + c)
    np.testing.assert_allclose(r.e_test[0], alpha * rho, rtol=1e-13)
    np.testing.assert_allclose(r.e_train[0], alpha * (rho + c), rtol=1e-13)
    np.testing.assert_allclose(r.v_test[0], alpha**2 * (rho + c) + sigma2 * init, rtol=1e-13)


def test_small_steps_approach_gradient_flow():
    # GD with step α for k steps vs flow at t = k: f_k = (1 − αz)^k = e^{−αkz}(1 + O(α²k z²)).
    kw = dict(ratio=0.7, mean_norm_squared=1.2, ridge_penalty=0.1, init_variance=0.5)
    gd = gradient_descent_classification(learning_rate=1e-4, time=[20000], mode="gd", **kw)
    flow = gradient_descent_classification(learning_rate=1e-4, time=[20000.0], **kw)
    np.testing.assert_allclose(gd.test_error, flow.test_error, atol=1e-4)
    np.testing.assert_allclose(gd.train_error, flow.train_error, atol=1e-4)


LIMIT_CASES = [
    (0.3, 0.4, 0.0),
    (0.3, 2.0, 0.5),
    (0.9, math.sqrt(0.9), 0.0),
    (1.0, 1.0, 0.2),
    (1.5, 1.0, 0.0),
    (4.0, 3.0, 0.0),
    (4.0, 0.5, 1.0),
]


@pytest.mark.parametrize(("c", "rho", "gamma"), LIMIT_CASES)
def test_late_times_converge_to_the_ridge_classifier(c, rho, gamma):
    # t → ∞ is ridge with penalty γ (docs/methods/dynamics.md §2). The limit is computed in closed form from the
    # Stieltjes transform (∫dω/(x − z) = ρu/(1 + ρu)); the curve by quadrature at αt = 10⁶,
    # where every moving mode has decayed by e^{-αt(λ− + γ)} < 1e-30 here.
    r = gradient_descent_classification(
        ratio=c, mean_norm_squared=rho, ridge_penalty=gamma, init_variance=0.6, time=[1e6]
    )
    lim = r.limit
    got = (r.e_train[0], r.v_train[0], r.e_test[0], r.v_test[0], r.train_error[0], r.test_error[0])
    ref = (lim.e_train, lim.v_train, lim.e_test, lim.v_test, lim.train_error, lim.test_error)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_overparametrised_ridgeless_interpolates_with_frozen_null_space():
    # c > 1, γ = 0: min-norm interpolator plus the frozen null-space part of w₀ (docs/methods/dynamics.md §2):
    # V_train = 0 and train error exactly 0 late; V_test keeps the floor σ²(1 − 1/c).
    c, sigma2 = 2.5, 0.8
    r = gradient_descent_classification(ratio=c, mean_norm_squared=1.0, init_variance=sigma2, time=[100.0, 1e4])
    assert r.train_error[-1] == 0.0 and r.limit.train_error == 0.0
    assert r.limit.v_train == 0.0
    np.testing.assert_allclose(r.e_train[-1], 1.0, rtol=1e-12)  # kS(0) = 1: all margins are 1
    floor = sigma2 * (1 - 1 / c)
    noise_free = gradient_descent_classification(ratio=c, mean_norm_squared=1.0, time=[1e4])
    np.testing.assert_allclose(r.v_test[-1] - noise_free.v_test[-1], floor, rtol=1e-10)


def test_square_ridgeless_limit_diverges_with_a_note():
    # c = 1, γ = 0: ‖w‖² → ∞ (∫ dω/x² diverges at the hard edge), so the test error → 1/2.
    r = gradient_descent_classification(ratio=1.0, mean_norm_squared=1.0, init_variance=0.1, time=[1.0])
    assert np.isnan(r.limit.v_test) and r.limit.test_error == 0.5
    assert any("diverges" in note for note in r.notes)
    late = gradient_descent_classification(ratio=1.0, mean_norm_squared=1.0, init_variance=0.1, time=[1e2, 1e4, 1e6])
    assert np.all(np.diff(late.v_test) > 0) and np.all(np.diff(late.test_error) > 0)


def test_spike_location_and_threshold():
    # BBP: the isolated eigenvalue λ_s = 1 + ρ + c + c/ρ exists iff ρ > √c (docs/methods/dynamics.md §2, "Facts").
    below = gradient_descent_classification(ratio=4.0, mean_norm_squared=1.9, time=[1.0])
    at = gradient_descent_classification(ratio=4.0, mean_norm_squared=2.0, time=[1.0])
    above = gradient_descent_classification(ratio=4.0, mean_norm_squared=3.0, time=[1.0])
    assert not below.spike_exists and below.spike_location is None
    assert not at.spike_exists
    assert above.spike_exists and above.spike_location == pytest.approx(1 + 3 + 4 + 4 / 3)


def test_no_signal_gives_chance_test_error():
    r = gradient_descent_classification(ratio=0.5, mean_norm_squared=0.0, init_variance=0.2, time=[0.0, 1.0, 100.0])
    np.testing.assert_array_equal(r.test_error, 0.5)
    assert np.all(r.train_error[1:] < 0.5)  # overfitting the labels of pure noise
    assert r.optimal_time.never_stop


# ----------------------------------------------------------------------------------------------
# Quadrature accuracy and vectorisation
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "rho", "gamma", "mode", "alpha"),
    [
        (0.999, 1.0, 0.0, "flow", 1.0),
        (1.0, 1.0, 0.0, "flow", 1.0),
        (1.001, 1.0005, 0.0, "flow", 1.0),
        (4.0, 2.0, 0.0, "flow", 1.0),
        (4.0, 5.0, 0.1, "flow", 0.3),
        (1.0, 1.0, 0.0, "gd", 0.24),
        (0.5, 2.0, 0.0, "gd", 0.3),
    ],
)
def test_node_count_is_converged(c, rho, gamma, mode, alpha):
    # Our K = 64 + 6√(2αt·half) against 4× as many nodes, up to αt = 1e5 (docs/methods/dynamics.md §5 reports
    # ≤ 2e-11 for doubling its own K at c ∈ {0.999, 1, 1.001, 4}).
    p = D._classification_params(
        ratio=c,
        mean_norm_squared=rho,
        ridge_penalty=gamma,
        learning_rate=alpha,
        init_variance=0.5,
        mode=mode,
    )
    t = np.logspace(-2, 5, 40) / alpha if mode == "flow" else np.unique(np.round(np.logspace(0, 5, 40)))
    base = D._classification_moments(p, t)
    fine = D._classification_moments(p, t, node_scale=4.0)
    np.testing.assert_allclose(base, fine, rtol=0, atol=1e-10 * max(1.0, float(np.abs(fine).max())))


def test_vectorised_equals_pointwise():
    t = np.array([0.0, 0.01, 3.0, 50.0, 2000.0])
    kw = dict(ratio=1.3, mean_norm_squared=0.9, ridge_penalty=0.05, init_variance=0.4)
    together = gradient_descent_classification(time=t, **kw)
    for j, tj in enumerate(t):
        alone = gradient_descent_classification(time=[tj], **kw)
        np.testing.assert_allclose(alone.test_error[0], together.test_error[j], rtol=1e-12)
        np.testing.assert_allclose(alone.v_train[0], together.v_train[j], rtol=1e-9, atol=1e-14)


# ----------------------------------------------------------------------------------------------
# Optimal stopping
# ----------------------------------------------------------------------------------------------


def test_optimal_time_beats_a_dense_grid_when_overfitting():
    # c = 1, γ = 0, σ² = 1: the classic overfitting regime (docs/methods/dynamics.md §6 table): a finite t* exists.
    kw = dict(ratio=1.0, mean_norm_squared=1.5, init_variance=1.0)
    r = gradient_descent_classification(time=[1.0], **kw)
    opt = r.optimal_time
    assert not opt.never_stop and 0 < opt.time < 1e3
    dense = gradient_descent_classification(time=np.logspace(-3, 4, 4000), **kw)
    assert opt.test_error <= dense.test_error.min() + 1e-12
    at_opt = gradient_descent_classification(time=[opt.time], **kw)
    assert at_opt.test_error[0] == pytest.approx(opt.test_error, abs=1e-14)


def test_never_stop_when_the_error_decreases_to_its_limit():
    kw = dict(ratio=4.0, mean_norm_squared=3.0, ridge_penalty=0.3, init_variance=0.7)
    r = gradient_descent_classification(time=np.logspace(-3, 4, 500), **kw)
    assert np.all(np.diff(r.test_error) <= 1e-15)
    assert r.optimal_time.never_stop and r.optimal_time.time is None
    assert r.optimal_time.test_error == r.limit.test_error


def test_stop_at_once_when_the_centroid_is_best():
    # σ² = 0: the earliest iterates are ∝ Xy/n, the centroid classifier, with error
    # Q(ρ/√(ρ + c)) (docs/methods/dynamics.md §2 at t → 0⁺); here the error only increases afterwards.
    kw = dict(ratio=4.0, mean_norm_squared=3.0, ridge_penalty=0.3, init_variance=0.0)
    r = gradient_descent_classification(time=np.logspace(-3, 4, 500), **kw)
    assert np.all(np.diff(r.test_error) >= -1e-15)
    opt = r.optimal_time
    assert opt.time == 0.0 and not opt.never_stop
    assert opt.test_error == pytest.approx(float(ndtr(-3.0 / math.sqrt(7.0))), abs=1e-15)


def test_optimal_step_count_is_an_integer_and_locally_optimal():
    kw = dict(ratio=1.0, mean_norm_squared=1.5, init_variance=1.0, learning_rate=0.2, mode="gd")
    opt = gradient_descent_classification(time=[1], **kw).optimal_time
    assert opt.time == int(opt.time) and opt.time > 1
    k = opt.time
    near = gradient_descent_classification(time=[k - 1, k, k + 1], **kw)
    assert near.test_error[1] == pytest.approx(opt.test_error, abs=1e-14)
    assert near.test_error[1] <= near.test_error[0] and near.test_error[1] <= near.test_error[2]


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------

BASE = dict(ratio=0.5, mean_norm_squared=1.0, ridge_penalty=0.1, learning_rate=0.5, init_variance=0.2)


@pytest.mark.parametrize("name", list(BASE))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_scalars_are_refused(name, bad):
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_classification(**{**BASE, name: bad}, time=[1.0])
    assert err.value.parameter == name and f"`{name}`" in err.value.message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ratio", 0.0),
        ("ratio", -1.0),
        ("mean_norm_squared", -0.1),
        ("ridge_penalty", -1e-3),
        ("learning_rate", 0.0),
        ("learning_rate", -0.5),
        ("init_variance", -1.0),
    ],
)
def test_out_of_domain_scalars_are_refused(name, value):
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_classification(**{**BASE, name: value}, time=[1.0])
    assert err.value.parameter == name


@pytest.mark.parametrize(
    ("time", "mode"),
    [
        ([1.0, -0.5], "flow"),
        ([1.0, math.nan], "flow"),
        ([math.inf], "flow"),
        ([], "flow"),
        ([1.5], "gd"),
        ([-1], "gd"),
        ([[1.0, 2.0]], "flow"),
    ],
)
def test_bad_times_are_refused(time, mode):
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_classification(**BASE, time=time, mode=mode)
    assert err.value.parameter == "time"


def test_bad_mode_is_refused():
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_classification(**BASE, time=[1.0], mode="sgd")
    assert err.value.parameter == "mode"


@pytest.mark.parametrize(
    ("c", "rho", "gamma", "top"),
    [(0.5, 0.5, 0.1, (1 + math.sqrt(0.5)) ** 2), (0.5, 2.0, 0.0, 1 + 2 + 0.5 + 0.25)],
)
def test_unstable_gd_names_the_stable_range(c, rho, gamma, top):
    # α(λmax + γ) ≥ 2 diverges; λmax is λ_s when the spike exists (ρ > √c), else (1 + √c)².
    bound = 2 / (top + gamma)
    kw = dict(ratio=c, mean_norm_squared=rho, ridge_penalty=gamma, time=[10], mode="gd")
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_classification(**kw, learning_rate=bound)
    assert err.value.parameter == "learning_rate"
    assert f"{bound:.6g}" in err.value.message and "Stable range" in err.value.message
    ok = gradient_descent_classification(**kw, learning_rate=0.99 * bound)
    assert np.all(np.isfinite(ok.test_error))
    # the same α is fine for gradient flow
    gradient_descent_classification(**{**kw, "mode": "flow"}, learning_rate=bound)


def test_near_unstable_gd_gets_a_note():
    bound = 2 / ((1 + math.sqrt(0.5)) ** 2)
    r = gradient_descent_classification(
        ratio=0.5, mean_norm_squared=0.5, learning_rate=0.97 * bound, time=[5], mode="gd"
    )
    assert any("stability bound" in note for note in r.notes)


# ==============================================================================================
# Regression
# ==============================================================================================


def _linear_ridge(c, lam, r2, s2):
    """linear.md §4.2 (p side: m, m′) and §4.3, re-implemented here as the reference."""
    if lam == 0:
        if c < 1:
            return 0.0, s2 * c / (1 - c), s2 * (1 - c)
        return r2 * (1 - 1 / c), s2 / (c - 1), 0.0
    a = 1 - c + lam
    root = math.sqrt(a * a + 4 * c * lam)
    m = 2 / (a + root) if a > 0 else (root - a) / (2 * c * lam)
    dm = m * (1 + c * m) / root
    bias, var = r2 * lam**2 * dm, s2 * c * (m - lam * dm)
    a2 = 1 - c - lam
    v = (a2 + math.sqrt(a2 * a2 + 4 * lam)) / (2 * lam) if a2 > 0 else 2 / (math.sqrt(a2 * a2 + 4 * lam) - a2)
    train = (lam * v) ** 2 * (bias + var + s2)  # (λ/κ)², κ = 1/v
    return bias, var, train


@pytest.mark.parametrize(
    ("c", "gamma"), [(0.3, 0.0), (0.5, 0.3), (0.9, 1e-3), (1.0, 0.2), (2.0, 0.0), (2.0, 0.5), (6.0, 0.05)]
)
def test_regression_limit_is_linear_ridge(c, gamma):
    r2, s2, s0 = 1.7, 0.6, 0.9
    r = gradient_descent_regression(
        ratio=c,
        signal_strength=r2,
        noise_variance=s2,
        ridge_penalty=gamma,
        init_variance=s0,
        time=[1e7 if gamma < 0.01 else 1e5],
    )
    bias, var, train = _linear_ridge(c, gamma, r2, s2)
    lim = r.limit
    np.testing.assert_allclose([lim.bias, lim.variance, lim.train_error], [bias, var, train], rtol=1e-9, atol=1e-13)
    frozen = s0 * (1 - 1 / c) if (gamma == 0 and c > 1) else 0.0
    assert lim.initialization == pytest.approx(frozen, abs=1e-15)
    assert lim.risk == pytest.approx(bias + var + frozen, rel=1e-12)
    assert lim.test_mse == pytest.approx(lim.risk + s2, rel=1e-12)
    # the quadrature at late times reaches the same numbers
    got = (r.bias[0], r.variance[0], r.initialization[0], r.train_error[0])
    np.testing.assert_allclose(
        got, (lim.bias, lim.variance, lim.initialization, lim.train_error), rtol=1e-8, atol=1e-11
    )


def test_regression_at_time_zero():
    # w(0) = w₀: bias r², variance 0, initialization σ₀²; train error r² + σ² + σ₀²∫x dμ.
    r = gradient_descent_regression(
        ratio=1.7, signal_strength=2.0, noise_variance=0.5, ridge_penalty=0.2, init_variance=0.7, time=[0.0]
    )
    np.testing.assert_allclose(
        [r.bias[0], r.variance[0], r.initialization[0], r.risk[0], r.test_mse[0], r.train_error[0]],
        [2.0, 0.0, 0.7, 2.7, 3.2, 3.2],
        rtol=1e-13,
        atol=1e-15,
    )


def test_regression_one_gd_step_is_an_exact_polynomial_moment():
    # k = 1: h = α, 1 − xh = 1 − αx: bias = r²∫(1 − αx)² dμ = r²(1 − 2α + α²(1 + c)),
    # variance = σ²cα²∫x dμ = σ²cα², initialization = σ₀²(1 − αγ)² − 2σ₀²α(1 − αγ) + σ₀²α²(1 + c).
    c, alpha, gamma, r2, s2, s0 = 0.6, 0.3, 0.2, 1.5, 0.4, 0.8
    r = gradient_descent_regression(
        ratio=c,
        signal_strength=r2,
        noise_variance=s2,
        ridge_penalty=gamma,
        learning_rate=alpha,
        init_variance=s0,
        time=[1],
        mode="gd",
    )
    a = 1 - alpha * gamma
    np.testing.assert_allclose(r.bias[0], r2 * (1 - 2 * alpha + alpha**2 * (1 + c)), rtol=1e-13)
    np.testing.assert_allclose(r.variance[0], s2 * c * alpha**2, rtol=1e-13)
    np.testing.assert_allclose(r.initialization[0], s0 * (a * a - 2 * a * alpha + alpha**2 * (1 + c)), rtol=1e-13)


def test_regression_interpolates_when_overparametrised_and_ridgeless():
    r = gradient_descent_regression(
        ratio=3.0, signal_strength=1.0, noise_variance=0.5, init_variance=0.4, time=[10.0, 1e4]
    )
    assert abs(r.train_error[-1]) < 1e-12 and r.limit.train_error == 0.0
    assert r.initialization[-1] == pytest.approx(0.4 * (1 - 1 / 3), rel=1e-12)


def test_regression_square_ridgeless_limit_diverges_with_a_note():
    r = gradient_descent_regression(ratio=1.0, signal_strength=1.0, noise_variance=0.5, time=[1.0])
    assert math.isnan(r.limit.variance) and math.isnan(r.limit.risk)
    assert any("infinite" in note for note in r.notes)
    opt = r.optimal_time
    assert not opt.never_stop and 0 < opt.time < 100


def test_regression_optimal_time_and_never_stop():
    # Early stopping helps a noisy ridgeless fit near c = 1; with the optimal ridge penalty
    # γ* = σ²c/r² (linear.md §4.2) training to convergence is best.
    noisy = gradient_descent_regression(ratio=0.8, signal_strength=1.0, noise_variance=1.0, time=[1.0])
    opt = noisy.optimal_time
    dense = gradient_descent_regression(
        ratio=0.8, signal_strength=1.0, noise_variance=1.0, time=np.logspace(-3, 4, 3000)
    )
    assert not opt.never_stop and opt.test_mse <= dense.test_mse.min() + 1e-12
    best_ridge = gradient_descent_regression(
        ratio=0.8, signal_strength=1.0, noise_variance=1.0, ridge_penalty=0.8, time=[1.0]
    )
    assert best_ridge.optimal_time.never_stop
    assert best_ridge.optimal_time.risk == pytest.approx(best_ridge.limit.risk)


@pytest.mark.parametrize(
    ("name", "value"),
    [("signal_strength", -1.0), ("noise_variance", math.nan), ("learning_rate", 0.0), ("ratio", math.inf)],
)
def test_regression_validation(name, value):
    kw = dict(ratio=0.5, signal_strength=1.0, noise_variance=0.5, learning_rate=0.5)
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_regression(**{**kw, name: value}, time=[1.0])
    assert err.value.parameter == name


def test_regression_unstable_gd_is_refused():
    bound = 2 / ((1 + math.sqrt(2.0)) ** 2 + 0.1)
    kw = dict(ratio=2.0, signal_strength=1.0, noise_variance=0.5, ridge_penalty=0.1, time=[3], mode="gd")
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_regression(**kw, learning_rate=1.001 * bound)
    assert err.value.parameter == "learning_rate" and f"{bound:.6g}" in err.value.message
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_regression(**{**kw, "time": [-3]}, learning_rate=0.5 * bound)
    assert err.value.parameter == "time"


def test_extreme_inputs_stay_finite_or_are_refused():
    # Found by fuzzing the HTTP contract: a subnormal γ at c = 1 (κ underflows in (1 + κ)² − c)
    # and a learning rate so small that the stopping-time search overflows the time axis.
    r = gradient_descent_regression(
        ratio=1.0,
        signal_strength=1.0,
        noise_variance=1.0,
        ridge_penalty=5e-324,
        learning_rate=0.25,
        time=[0.0, 3.0],
        mode="gd",
    )
    assert np.all(np.isfinite(r.risk)) and r.limit.train_error >= 0
    c = gradient_descent_classification(ratio=1.0, mean_norm_squared=1.0, ridge_penalty=5e-324, time=[1.0])
    assert np.isfinite(c.test_error[0]) and c.limit.test_error == 0.5
    with pytest.raises(InvalidParameterError) as err:
        gradient_descent_regression(
            ratio=1.0, signal_strength=1.0, noise_variance=1.0, learning_rate=5e-324, time=[0.0]
        )
    assert err.value.parameter == "learning_rate"


@pytest.mark.parametrize("mean_norm_squared", [1e-250, 1e-100])
def test_optimal_time_when_the_weights_never_leave_zero(mean_norm_squared):
    # Fuzzing (schemathesis, via /v1/simulations): gd at α = 1e-250 keeps w = 0 in float64 over the
    # whole search horizon, so E = V = 0 and the error is undefined at every searched time; nanargmin
    # raised (a 500). Only the t → ∞ value is defined: it is reported, with a note.
    result = gradient_descent_classification(
        ratio=1.0, mean_norm_squared=mean_norm_squared, time=[1.0], learning_rate=1e-250, mode="gd"
    )
    assert result.optimal_time.never_stop and result.optimal_time.time is None
    assert result.optimal_time.test_error == result.limit.test_error
    assert any("undefined" in note for note in result.notes)
