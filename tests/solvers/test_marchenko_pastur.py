"""Marchenko–Pastur law: closed forms, limits, branch of the Stieltjes transform, and Monte Carlo.

Reference values come from independent computations (adaptive quadrature of the density, the
Narayana formula, direct eigendecompositions); methods: docs/methods/spectra.md §1, §4.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from solvers.exceptions import InvalidParameterError
from solvers.marchenko_pastur import POINTWISE_MAX, marchenko_pastur, mp_edges, mp_stieltjes

RATIOS = [0.1, 0.5, 1.0, 2.0, 7.0]


def density(t: float, *, ratio: float, variance: float = 1.0, matrix: str = "covariance") -> float:
    return float(marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, x=[t]).density[0])


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("variance", [1.0, 2.5])
def test_moments_match_integrals_of_the_density(ratio, variance):
    lower, upper = mp_edges(ratio=ratio, variance=variance)
    result = marchenko_pastur(ratio=ratio, variance=variance, n_moments=4)
    for k, moment in enumerate(result.moments, start=1):
        # quad with the algebraic weight handles the square-root edges exactly.
        value, _ = integrate.quad(
            lambda t, k=k: t**k * density(t, ratio=ratio, variance=variance), lower, upper, limit=200
        )
        assert moment == pytest.approx(value, rel=1e-7)


def test_moments_closed_forms():
    c, s = 0.3, 2.0
    m = marchenko_pastur(ratio=c, variance=s, n_moments=4).moments
    expected = [s, s**2 * (1 + c), s**3 * (1 + 3 * c + c**2), s**4 * (1 + 6 * c + 6 * c**2 + c**3)]
    np.testing.assert_allclose(m, expected, rtol=1e-14)


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("matrix", ["covariance", "gram"])
def test_cdf_matches_quadrature_and_total_mass_is_one(ratio, matrix):
    lower, upper = mp_edges(ratio=ratio)
    points = np.linspace(lower, upper, 9)[1:-1]
    result = marchenko_pastur(ratio=ratio, matrix=matrix, x=np.r_[-1.0, points, upper + 1.0])
    atom = result.atom_mass
    for value, point in zip(result.cdf[1:-1], points, strict=True):
        reference, _ = integrate.quad(lambda t: density(t, ratio=ratio, matrix=matrix), lower, point, limit=200)
        assert value == pytest.approx(atom + reference, abs=1e-9)
    assert result.cdf[0] == 0.0 and result.cdf[-1] == pytest.approx(1.0, abs=1e-13)


def test_atom_masses():
    assert marchenko_pastur(ratio=4.0).atom_mass == pytest.approx(0.75)
    assert marchenko_pastur(ratio=0.25).atom_mass == 0.0
    assert marchenko_pastur(ratio=0.25, matrix="gram").atom_mass == pytest.approx(0.75)
    assert marchenko_pastur(ratio=4.0, matrix="gram").atom_mass == 0.0


def test_density_is_finite_at_the_soft_edges_and_null_only_at_the_hard_edge():
    for ratio in (0.5, 2.0):
        lower, upper = mp_edges(ratio=ratio)
        result = marchenko_pastur(ratio=ratio, x=[0.0, lower, upper])
        assert np.all(np.isfinite(result.density)) and result.notes == ()
    hard = marchenko_pastur(ratio=1.0, x=[0.0, 1e-12, 4.0])
    assert np.isnan(hard.density[0]) and hard.notes
    # Near the hard edge the density behaves like 1/(π√x) (docs/methods/spectra.md §1.1: x^(-1/2) blow-up).
    assert hard.density[1] == pytest.approx(1.0 / (np.pi * np.sqrt(1e-12)), rel=1e-6)


def test_small_ratio_concentrates_at_the_variance():
    # c → 0: the law tends to δ_σ² (the sample covariance is consistent).
    result = marchenko_pastur(ratio=1e-6, variance=3.0, x=[2.99, 3.01], n_moments=2)
    assert result.cdf[0] < 1e-6 and result.cdf[1] > 1 - 1e-6
    assert result.moments[1] - result.moments[0] ** 2 == pytest.approx(9.0 * 1e-6, rel=1e-9)


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("matrix", ["covariance", "gram"])
def test_stieltjes_equals_the_integral_on_both_sides_of_the_midline(ratio, matrix):
    lower, upper = mp_edges(ratio=ratio)
    middle = 0.5 * (lower + upper)
    # Points on both sides of Re z = (λ- + λ+)/2, where a single principal root picks the wrong branch.
    z = np.array([middle - 0.3 + 0.2j, middle + 0.3 + 0.2j, middle + 0.05j, -1.0 + 1e-3j, 10.0 - 0.5j])
    result = marchenko_pastur(ratio=ratio, matrix=matrix, stieltjes_at=z)
    for zi, mi in zip(z, result.stieltjes, strict=True):
        f = lambda t, part, zi=zi: part(1.0 / (t - zi)) * density(t, ratio=ratio, matrix=matrix)
        re, _ = integrate.quad(f, lower, upper, args=(np.real,), limit=400)
        im, _ = integrate.quad(f, lower, upper, args=(np.imag,), limit=400)
        expected = complex(re, im) + result.atom_mass / (0.0 - zi)
        assert mi == pytest.approx(expected, rel=1e-7, abs=1e-9)
        assert np.sign(mi.imag) == np.sign(zi.imag)


def test_stieltjes_has_no_cancellation_far_away():
    z = np.array([1e8 + 1j, -1e9 + 1e3j])
    m = mp_stieltjes(z, ratio=0.5)
    # m(z) = -1/z - M1/z² - ... ; the first form alone loses log10|z| digits here.
    np.testing.assert_allclose(m, -1 / z - 1 / z**2, rtol=1e-12)


def test_stieltjes_at_the_boundary_gives_the_density():
    ratio = 0.5
    x = np.array([0.3, 1.0, 2.5])
    m = mp_stieltjes(x + 1e-12j, ratio=ratio)
    np.testing.assert_allclose(m.imag / np.pi, marchenko_pastur(ratio=ratio, x=x).density, rtol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"ratio": 0.0}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"ratio": 1.0, "variance": -1.0}, "variance"),
        ({"ratio": 1.0, "x": [np.inf]}, "x"),
        ({"ratio": 1.0, "n_moments": 0}, "n_moments"),
        ({"ratio": 1.0, "n_moments": 21}, "n_moments"),
        ({"ratio": 1.0, "stieltjes_at": [1.0 + 0j]}, "stieltjes_at"),
        ({"ratio": 1.0, "matrix": "square"}, "matrix"),
    ],
)
def test_validation_names_the_parameter(kwargs, parameter):
    with pytest.raises(InvalidParameterError) as info:
        marchenko_pastur(**kwargs)
    assert info.value.parameter == parameter and f"`{parameter}`" in str(info.value)


# --- the point-by-point path of small requests ----------------------------------------------


def random_law(rng) -> tuple[float, float, str]:
    """A ratio and a variance log-uniform over six and four decades (every tenth ratio exactly 1), and a matrix."""
    ratio = 1.0 if rng.random() < 0.1 else float(np.exp(rng.uniform(np.log(1e-3), np.log(1e3))))
    return ratio, float(np.exp(rng.uniform(np.log(1e-2), np.log(1e2)))), str(rng.choice(["covariance", "gram"]))


def test_pointwise_and_vectorised_paths_agree_to_rounding():
    # Requests of at most POINTWISE_MAX points are evaluated with math/cmath point by point, larger ones
    # with numpy; both evaluate the same expressions in the same order. 500 random laws, 2 × 16 points
    # each: inside the bulk, the edges and their neighbours, 0, negative, beyond λ₊, and ±1e200 (overflow).
    # The density and the atom are bit for bit equal. numpy's SIMD arctan2 and libm's atan2 differ by up
    # to 1 ulp, and the CDF subtracts terms of size ~σ²(1 + c) before dividing by 2πσ²c, so the CDFs may
    # differ by a few ε(1 + c)/c (measured: at most 0.87 of it over 3000 laws); 4 ε(1 + c)/c is allowed,
    # times c for the gram law (c times the covariance law's continuous part).
    # m(z) differs only by complex division and square roots (numpy's vs cmath's): measured at most 2 ε
    # relative over 3000 laws; 8 ε is allowed.
    rng = np.random.default_rng(20261206)
    eps = np.finfo(np.float64).eps
    for _ in range(500):
        ratio, variance, matrix = random_law(rng)
        lower, upper = mp_edges(ratio=ratio, variance=variance)
        x = np.concatenate(
            [
                rng.uniform(lower, upper, 12),
                [lower, upper, np.nextafter(lower, np.inf), np.nextafter(upper, 0.0), 0.0, -1.0, 2.0 * upper],
                [1e200, -1e200],
                rng.normal(0.0, upper, 11),
            ]
        )
        z = rng.normal(0.0, upper, 32) + 1j * rng.normal(0.0, upper, 32) * np.exp(rng.uniform(-30.0, 0.0, 32))
        whole = marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, x=x, stieltjes_at=z)
        halves = [
            marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, x=x[half], stieltjes_at=z[half])
            for half in (slice(0, 16), slice(16, 32))
        ]
        assert x.size == z.size == 2 * POINTWISE_MAX
        np.testing.assert_array_equal(np.concatenate([h.density for h in halves]), whole.density)
        assert all(h.atom_mass == whole.atom_mass and h.notes in ((), whole.notes) for h in halves)
        scale = ratio if matrix == "gram" else 1.0
        np.testing.assert_allclose(
            np.concatenate([h.cdf for h in halves]), whole.cdf, rtol=0.0, atol=4 * eps * scale * (1.0 + ratio) / ratio
        )
        np.testing.assert_allclose(np.concatenate([h.stieltjes for h in halves]), whole.stieltjes, rtol=8 * eps)


@pytest.mark.parametrize("ratio", RATIOS)
def test_stieltjes_pointwise_path_at_the_pole_on_the_axis_and_near_overflow(ratio):
    # Where Python raises (z = 0; |z| near the largest float) the vectorised path answers (inf, nan) as
    # it always has; on the real axis (kernel_spectrum asks there) both take the same branch.
    lower, upper = mp_edges(ratio=ratio)
    z = np.array([0j, -1.0 + 0j, 0.5 * (lower + upper) + 0j, upper + 1.0 + 0j, 1e308 + 1e308j, -1.5e308 + 1j])
    vectorised = np.concatenate([mp_stieltjes(np.r_[zi, np.full(POINTWISE_MAX, 1j)], ratio=ratio)[:1] for zi in z])
    pointwise = np.concatenate([mp_stieltjes(np.array([zi]), ratio=ratio) for zi in z])
    np.testing.assert_allclose(pointwise, vectorised, rtol=8 * np.finfo(np.float64).eps)


def test_stieltjes_keeps_the_shape_of_z_on_both_paths():
    for shape in [(), (3,), (2, 2), (2, POINTWISE_MAX)]:
        z = np.full(shape, 1.0 + 0.5j)
        m = mp_stieltjes(z, ratio=0.5)
        assert m.shape == shape and np.all(m == mp_stieltjes(np.array([1.0 + 0.5j]), ratio=0.5)[0])


# --- Monte Carlo -----------------------------------------------------------------------------


def sample_eigenvalues(
    *, n_samples: int, n_features: int, variance: float, matrix: str, trials: int, rng
) -> np.ndarray:
    """Eigenvalues of (1/n)XXᵀ or (1/n)XᵀX, one row per trial (independent of the solver)."""
    rows = []
    for _ in range(trials):
        x = rng.normal(scale=np.sqrt(variance), size=(n_features, n_samples))
        s = x @ x.T / n_samples if matrix == "covariance" else x.T @ x / n_samples
        rows.append(np.linalg.eigvalsh(s))
    return np.array(rows)


def kolmogorov_distance(sample: np.ndarray, *, ratio: float, variance: float, matrix: str) -> float:
    """sup_x |F_n(x) − F(x)| over both one-sided limits, so that the atom at 0 is compared as a jump."""
    values, counts = np.unique(sample, return_counts=True)
    after = np.cumsum(counts) / sample.size
    before = after - counts / sample.size
    law = marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, x=values)
    law_before = law.cdf - np.where(values == 0.0, law.atom_mass, 0.0)
    return float(max(np.max(np.abs(after - law.cdf)), np.max(np.abs(before - law_before))))


@pytest.mark.montecarlo
@pytest.mark.parametrize(
    ("n_features", "n_samples", "matrix"),
    [(400, 1000, "covariance"), (800, 800, "covariance"), (1000, 500, "covariance"), (500, 1000, "gram")],
)
def test_monte_carlo_spectrum(n_features, n_samples, matrix):
    rng = np.random.default_rng(20261128 + n_features)
    variance, trials = 1.5, 4
    ratio = n_features / n_samples
    eigenvalues = sample_eigenvalues(
        n_samples=n_samples, n_features=n_features, variance=variance, matrix=matrix, trials=trials, rng=rng
    )
    dim = eigenvalues.shape[1]
    # Zero eigenvalues come out as ±1e-15; they are the atom at 0 (exact zeros of a rank-deficient S).
    eigenvalues[np.abs(eigenvalues) < 1e-9] = 0.0
    theory = marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, n_moments=3, x=[])

    # Kolmogorov distance of the pooled ESD. docs/methods/spectra.md §4 measured 1.7e-3 to 2.8e-3 at the largest sizes and
    # ∝ 1/p; at p = 400..1000 (the c = 1 hard edge is the slowest) 5/dim bounds it with margin.
    ks = kolmogorov_distance(eigenvalues.ravel(), ratio=ratio, variance=variance, matrix=matrix)
    assert ks < 5.0 / dim

    # Moments: per-trial (1/dim) tr S^k, mean ± standard error. The finite-n bias is O(1/n):
    # exactly σ⁴(p+1)/n for M2 with Gaussian entries (docs/methods/spectra.md §1.3), so allow 3 SE + (k²/n)·M_k.
    for k in (1, 2, 3):
        per_trial = np.mean(eigenvalues**k, axis=1)
        se = per_trial.std(ddof=1) / np.sqrt(trials)
        predicted = theory.moments[k - 1]
        assert abs(per_trial.mean() - predicted) <= 3 * se + k**2 / n_samples * predicted

    # Extreme eigenvalue: O(n^(-2/3)) Tracy–Widom shift below λ+ (docs/methods/spectra.md §4: 1.4e-2 to 2.8e-2 relative at small sizes).
    lower, upper = theory.support_lower, theory.support_upper
    # Measured here 0.9–1.3·n^(-2/3) below λ+; 2.5·n^(-2/3) leaves room for the TW spread of 4 trials.
    assert abs(eigenvalues[:, -1].mean() - upper) / upper < 2.5 * n_samples ** (-2 / 3)

    # Stieltjes transform off the support: O(1/n) (docs/methods/spectra.md §4: ≤ 2.6e-2 at the smallest sizes).
    z = np.array([-0.5 + 0.1j, 0.5 * (lower + upper) + 0.5j, upper + 1.0 + 0.2j])
    predicted_m = marchenko_pastur(ratio=ratio, variance=variance, matrix=matrix, stieltjes_at=z).stieltjes
    empirical_m = np.mean(1.0 / (eigenvalues[..., None] - z), axis=(0, 1))
    np.testing.assert_allclose(empirical_m, predicted_m, rtol=10.0 / n_samples)


@pytest.mark.montecarlo
def test_monte_carlo_atom_count_for_ratio_above_one():
    # c > 1: exactly p − n zero eigenvalues (docs/methods/spectra.md §1.1), i.e. the atom mass 1 − 1/c.
    rng = np.random.default_rng(7)
    eigenvalues = sample_eigenvalues(
        n_samples=300, n_features=600, variance=1.0, matrix="covariance", trials=1, rng=rng
    )
    zero = np.sum(eigenvalues < 1e-10) / eigenvalues.size
    assert zero == pytest.approx(marchenko_pastur(ratio=2.0).atom_mass, abs=1e-12)
