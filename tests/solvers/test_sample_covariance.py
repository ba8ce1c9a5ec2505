"""Generalized Marchenko–Pastur law (docs/methods/spectra.md §2): solver, support, CDF, MC."""

from __future__ import annotations

import numpy as np
import numpy.polynomial.polynomial as P
import pytest
from scipy.integrate import quad, quad_vec

from solvers.exceptions import InvalidParameterError
from solvers.montecarlo.spectra import simulate_sample_covariance_spectrum
from solvers.sample_covariance import companion_stieltjes, sample_covariance_spectrum

THREE = dict(eigenvalues=[1.0, 3.0, 10.0], weights=[0.3, 0.4, 0.3])
TWO_POINT = dict(eigenvalues=[1.0, 4.0], weights=[0.5, 0.5])


# ----------------------------------------------------------------------------------------------
# independent references (test side only)


def mp_closed_form(x, *, ratio, variance):
    """MP density (docs/methods/spectra.md §1.1) and Stieltjes transform with the two-principal-roots branch (§1.2)."""
    lm, lp = variance * (1 - np.sqrt(ratio)) ** 2, variance * (1 + np.sqrt(ratio)) ** 2
    x = np.asarray(x, float)
    inside = (x > lm) & (x < lp)
    dens = np.zeros_like(x)
    xi = x[inside]
    dens[inside] = np.sqrt((lp - xi) * (xi - lm)) / (2 * np.pi * variance * ratio * xi)
    return dens, (lm, lp)


def mp_stieltjes_ref(z, *, ratio, variance):
    lm, lp = variance * (1 - np.sqrt(ratio)) ** 2, variance * (1 + np.sqrt(ratio)) ** 2
    r = np.sqrt(z - lp) * np.sqrt(z - lm)
    a = z - variance * (1 - ratio)
    return np.where(np.abs(a + r) >= np.abs(a - r), -2 / (a + r), (r - a) / (2 * variance * ratio * z))


def polynomial_density(x, *, ratio, eigenvalues, weights):
    """docs/methods/spectra.md §2.1 independent check: F(m̲)·m̲·Π(1 + t_k m̲) is a real polynomial of degree K + 1
    for real x; inside the support the physical root is the unique one with Im > 0."""
    t, w = np.asarray(eigenvalues, float), np.asarray(weights, float)
    out = np.zeros(len(x))
    for i, xi in enumerate(x):
        prod = np.array([1.0])
        for tk in t:
            prod = P.polymul(prod, [1.0, tk])
        poly = P.polymul([1.0, xi], prod)  # (1 + x m) Π(1 + t m)
        for k, tk in enumerate(t):
            others = np.array([1.0])
            for j, tj in enumerate(t):
                if j != k:
                    others = P.polymul(others, [1.0, tj])
            poly = P.polysub(poly, P.polymul([0.0, ratio * w[k] * tk], others))
        roots = P.polyroots(poly)
        upper = roots[roots.imag > 1e-9 * np.abs(roots)]
        assert upper.size <= 1
        out[i] = upper[0].imag / (np.pi * ratio) if upper.size else 0.0
    return out


def midpoint_angle_integral(values_fn, a, b, nodes):
    """docs/methods/spectra.md §2.2: ∫_a^b f in the angle variable x = a + (b−a)(1 − cos θ)/2, midpoint rule."""
    theta = (np.arange(nodes) + 0.5) * np.pi / nodes
    x = a + 0.5 * (b - a) * (1 - np.cos(theta))
    return x, values_fn(x) * 0.5 * (b - a) * np.sin(theta) * (np.pi / nodes)


# ----------------------------------------------------------------------------------------------
# deterministic accuracy


@pytest.mark.parametrize("ratio", [0.3, 1.0, 2.5])
def test_one_atom_reduces_to_marchenko_pastur(ratio):
    variance = 1.7
    x = np.linspace(-0.5, 12.0, 1501)
    z = np.array([1 + 1j, 3 - 0.5j, -2 + 0.01j, 20 + 3j])
    res = sample_covariance_spectrum(ratio=ratio, eigenvalues=[variance], weights=[1.0], x=x, stieltjes_at=z)
    dens, (lm, lp) = mp_closed_form(x, ratio=ratio, variance=variance)
    ok = np.isfinite(res.density)
    assert np.max(np.abs(res.density[ok] - dens[ok])) < 1e-8 * dens.max()
    ((a, b),) = res.support_intervals
    assert a == pytest.approx(lm, rel=1e-12, abs=1e-14) and b == pytest.approx(lp, rel=1e-12)
    assert res.atom_mass == pytest.approx(max(0.0, 1 - 1 / ratio), abs=1e-15)
    np.testing.assert_allclose(res.stieltjes, mp_stieltjes_ref(z, ratio=ratio, variance=variance), rtol=1e-10)
    # moments: Narayana polynomials (docs/methods/spectra.md §1.3)
    s = variance
    np.testing.assert_allclose(res.moments, [s, s**2 * (1 + ratio), s**3 * (1 + 3 * ratio + ratio**2)], rtol=1e-14)
    assert res.diagnostics.converged


def test_one_atom_cdf_matches_midpoint_rule_of_closed_form_density():
    ratio, variance = 0.4, 2.0
    x = np.linspace(-1, 8, 301)
    res = sample_covariance_spectrum(ratio=ratio, eigenvalues=[variance], weights=[1.0], x=x)
    _, (lm, lp) = mp_closed_form(x, ratio=ratio, variance=variance)
    for xi, fi in zip(x[::10], res.cdf[::10], strict=True):
        if xi <= lm:
            expected = 0.0
        elif xi >= lp:
            expected = 1.0
        else:
            # The midpoint rule is spectral only between two square-root edges; a partial
            # interval needs an adaptive rule.
            expected = quad(
                lambda u: mp_closed_form(np.array([u]), ratio=ratio, variance=variance)[0][0],
                lm,
                xi,
                epsabs=1e-13,
                epsrel=1e-13,
                limit=200,
            )[0]
        assert fi == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize(
    "ratio, population",
    [
        (0.1, THREE),
        (0.5, THREE),
        (1.0, THREE),
        (2.0, THREE),
        (0.1, TWO_POINT),
        (3.0, TWO_POINT),
        (0.7, dict(eigenvalues=[0.5, 0.51], weights=[0.2, 0.8])),
    ],
)
def test_density_matches_polynomial_roots(ratio, population):
    res = sample_covariance_spectrum(ratio=ratio, x=np.linspace(0.001, 40.0, 700), **population)
    ref = polynomial_density(res.x, ratio=ratio, **population)
    big = ref > 1e-3 * ref.max()
    np.testing.assert_allclose(res.density[big], ref[big], rtol=1e-6)
    # Outside the support the density is exactly zero and the polynomial has no complex root.
    outside = ~np.any([(res.x > a) & (res.x < b) for a, b in res.support_intervals], axis=0)
    assert np.all(res.density[outside] == 0.0)
    assert np.all(ref[outside] < 1e-6 * ref.max())
    assert np.all(np.isfinite(res.density)) and np.all(res.density >= 0)


@pytest.mark.parametrize("ratio", [0.1, 0.5, 1.0, 2.0])
def test_total_mass_is_one_and_cdf_is_monotone(ratio):
    x = np.sort(np.append(np.linspace(-1.0, 60.0, 2001), 0.0))
    res = sample_covariance_spectrum(ratio=ratio, x=x, **THREE)
    assert res.atom_mass + sum(res.interval_masses) == pytest.approx(1.0, abs=1e-12)
    assert res.cdf[-1] == pytest.approx(1.0, abs=1e-12)
    assert res.cdf[0] == 0.0
    assert res.cdf[np.flatnonzero(x == 0.0)[0]] == pytest.approx(max(0.0, 1 - 1 / ratio), abs=1e-12)
    assert np.all(np.diff(res.cdf) >= -1e-13)


def test_gap_masses_follow_exact_separation_and_midpoint_rule():
    # Two-point H at c = 0.1: two intervals, each carrying the weight of its atom (docs/methods/spectra.md §2.2).
    res = sample_covariance_spectrum(ratio=0.1, x=np.array([2.0]), **TWO_POINT)
    assert len(res.support_intervals) == 2
    np.testing.assert_allclose(res.interval_masses, [0.5, 0.5], atol=1e-12)
    for (a, b), mass in zip(res.support_intervals, res.interval_masses, strict=True):
        _nodes, parts = midpoint_angle_integral(lambda u: polynomial_density(u, ratio=0.1, **TWO_POINT), a, b, 1500)
        assert parts.sum() == pytest.approx(mass, abs=1e-10)
    # CDF at interior points vs the midpoint rule of docs/methods/spectra.md §2.2 applied to the polynomial-root density.
    (a, b) = res.support_intervals[1]
    xs = np.array([a + 0.3 * (b - a), a + 0.8 * (b - a)])
    cdf = sample_covariance_spectrum(ratio=0.1, x=xs, **TWO_POINT).cdf
    for xi, fi in zip(xs, cdf, strict=True):
        part = quad(lambda u: polynomial_density([u], ratio=0.1, **TWO_POINT)[0], a, xi, epsabs=1e-12, limit=200)[0]
        assert fi == pytest.approx(0.5 + part, abs=1e-10)


@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
def test_moments_from_density_integration_match_h_formula(ratio):
    # Adaptive quadrature in the angle variable: at c = 0.5 the density of H = {1, 3, 10} has a
    # near-cusp at x ≈ 5.18 (minimum 0.012 over a width ~0.01) where the fixed midpoint rule
    # converges slowly (1e-7 with 3000 nodes), so a fixed rule would test the rule, not the law.
    base = sample_covariance_spectrum(ratio=ratio, x=np.array([1.0]), **THREE)
    got = np.zeros(4)
    for a, b in base.support_intervals:

        def integrand(theta, a=a, b=b):
            x = a + 0.5 * (b - a) * (1 - np.cos(theta))
            m, _ = companion_stieltjes(np.array([x]), ratio=ratio, **THREE)
            return m[0].imag / (np.pi * ratio) * 0.5 * (b - a) * np.sin(theta) * x ** np.arange(4)

        got += quad_vec(integrand, 0.0, np.pi, epsrel=1e-12, epsabs=1e-14, norm="max")[0]
    # Mass of the continuous part, then M_1..M_3 (the atom at 0 contributes nothing).
    assert got[0] == pytest.approx(1 - base.atom_mass, abs=1e-11)
    np.testing.assert_allclose(got[1:], base.moments, rtol=1e-11)


def test_hard_edge_at_ratio_one():
    x = np.array([0.0, 1e-10, 1e-6, 1e-3, 0.5])
    res = sample_covariance_spectrum(ratio=1.0, x=x, **TWO_POINT)
    assert np.isnan(res.density[0]) and any("hard edge" in n for n in res.notes)
    assert np.all(np.isfinite(res.density[1:])) and np.all(res.density[1:] > 0)
    ref = polynomial_density(x[1:], ratio=1.0, **TWO_POINT)
    np.testing.assert_allclose(res.density[1:], ref, rtol=1e-7)
    # x^(-1/2) blow-up: density × √x tends to a constant.
    r = res.density[1:3] * np.sqrt(x[1:3])
    assert r[0] == pytest.approx(r[1], rel=1e-3)
    assert res.support_intervals[0][0] == 0.0 and res.atom_mass == 0.0


@pytest.mark.parametrize("ratio", [1 - 1e-9, 1 + 1e-9])
def test_ratio_next_to_one_keeps_mass(ratio):
    # The left edge (≈ 5e-19 here) is far below the spectral scale: the η floor must
    # follow the local scale x there, or the CDF left of the bulk is off by 1e-5.
    res = sample_covariance_spectrum(ratio=ratio, x=np.linspace(0, 30, 200), **THREE)
    assert 0 < res.support_intervals[0][0] < 1e-15
    assert res.atom_mass + sum(res.interval_masses) == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.isfinite(res.density))


def test_ratio_above_one_has_atom_and_positive_left_edge():
    res = sample_covariance_spectrum(ratio=4.0, x=np.linspace(-1, 60, 500), **THREE)
    assert res.atom_mass == pytest.approx(0.75)
    assert res.support_intervals[0][0] > 0.1
    assert sum(res.interval_masses) == pytest.approx(0.25, abs=1e-12)


def test_clustered_and_many_atoms():
    # 100 atoms clustered within 1e-6 of 1: indistinguishable from MP(σ² = 1) at 1e-5.
    t = 1.0 + 1e-8 * np.arange(100)
    w = np.full(100, 0.01)
    x = np.linspace(0.0, 3.5, 400)
    res = sample_covariance_spectrum(ratio=0.5, eigenvalues=t, weights=w, x=x, stieltjes_at=[1 + 0.5j])
    mp, _ = mp_closed_form(x, ratio=0.5, variance=float(t.mean()))
    assert np.max(np.abs(res.density - mp)) < 1e-5
    assert res.diagnostics.converged
    # 100 spread atoms: a valid distribution whose moments match the h-formula.
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0.5, 5.0, 100))
    w = rng.uniform(0.5, 1.5, 100)
    w /= w.sum()
    res = sample_covariance_spectrum(ratio=0.3, eigenvalues=t, weights=w, x=np.linspace(0, 15, 800))
    assert res.diagnostics.converged
    assert res.atom_mass + sum(res.interval_masses) == pytest.approx(1.0, abs=1e-10)
    assert np.all(np.isfinite(res.density)) and np.all(res.density >= 0)


def test_duplicates_are_merged():
    a = sample_covariance_spectrum(ratio=0.3, eigenvalues=[3.0, 1.0, 1.0], weights=[0.5, 0.25, 0.25], x=[1.0, 2.0])
    b = sample_covariance_spectrum(ratio=0.3, eigenvalues=[1.0, 3.0], weights=[0.5, 0.5], x=[1.0, 2.0])
    np.testing.assert_allclose(a.density, b.density, rtol=1e-13)
    assert any("merged" in n for n in a.notes)


def test_stieltjes_symmetry_asymptotics_and_direct_equation():
    z = np.array([2 + 1e-3j, 2 - 1e-3j, -3 + 2j, 1e4 + 1j, 0.01 + 0.01j])
    for ratio in (0.5, 2.0):
        m = sample_covariance_spectrum(ratio=ratio, x=[], stieltjes_at=z, **THREE).stieltjes
        assert m[0] == pytest.approx(np.conj(m[1]), rel=1e-12)
        assert np.all(np.sign(m.imag) == np.sign(z.imag))
        assert m[3] == pytest.approx(-1 / z[3], rel=1e-3)
        # Direct form of docs/methods/spectra.md §2: m = Σ w / (t(1 − c − c z m) − z).
        t, w = np.array(THREE["eigenvalues"]), np.array(THREE["weights"])
        direct = np.sum(w / (t * (1 - ratio - ratio * z[:, None] * m[:, None]) - z[:, None]), axis=1)
        np.testing.assert_allclose(direct, m, rtol=1e-10)


def test_companion_stieltjes_vectorised_and_singular_origin():
    z = np.array([[1 + 1j, 0.0], [5.0, -2 - 1j]])
    m, diag = companion_stieltjes(z, ratio=0.5, **THREE)
    assert m.shape == (2, 2) and np.isnan(m[0, 1]) and diag.converged
    # Outside the support (x = 50 > right edge) the boundary value is real.
    m_out, _ = companion_stieltjes(np.array([50.0, -1.0]), ratio=0.5, **THREE)
    assert np.all(m_out.imag == 0)
    m_c2, _ = companion_stieltjes(np.array([0.0]), ratio=2.0, **THREE)
    assert np.isfinite(m_c2[0]) and m_c2[0].imag == 0


# ----------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(ratio=0.0), "ratio"),
        (dict(ratio=float("nan")), "ratio"),
        (dict(eigenvalues=[1.0, -1.0]), "eigenvalues"),
        (dict(eigenvalues=[1.0, np.inf]), "eigenvalues"),
        (dict(weights=[0.5, 0.6]), "weights"),
        (dict(weights=[1.0]), "weights"),
        (dict(weights=[1.5, -0.5]), "weights"),
        (dict(x=[1.0, np.nan]), "x"),
        (dict(stieltjes_at=[1.0 + 0j]), "stieltjes_at"),
        (dict(stieltjes_at=[2.0]), "stieltjes_at"),
    ],
)
def test_validation_names_the_parameter(kwargs, parameter):
    args = dict(ratio=0.5, eigenvalues=[1.0, 4.0], weights=[0.5, 0.5], x=[1.0])
    args.update(kwargs)
    with pytest.raises(InvalidParameterError) as info:
        sample_covariance_spectrum(**args)
    assert info.value.parameter == parameter
    assert f"`{parameter}`" in str(info.value)


def test_weights_sum_tolerance():
    sample_covariance_spectrum(ratio=0.5, eigenvalues=[1.0, 4.0], weights=[0.5, 0.5 + 5e-10], x=[1.0])
    with pytest.raises(InvalidParameterError, match="`weights`"):
        companion_stieltjes([1j], ratio=0.5, eigenvalues=[1.0, 4.0], weights=[0.5, 0.5 + 1e-8])


# ----------------------------------------------------------------------------------------------
# Monte Carlo (docs/methods/spectra.md §4)


@pytest.mark.montecarlo
@pytest.mark.parametrize("ratio, n", [(0.5, 1000), (1.0, 600), (2.0, 500)])
def test_monte_carlo_ks_moments_stieltjes(ratio, n):
    # Sizes: n = 1000/600/500, p = c n (500/600/1000; eigenproblems ≤ 600 × 600), 12 trials.
    # Tolerances from docs/methods/spectra.md §4:
    # * KS of one ESD ∝ 1/p, measured 6.0e-3–2.3e-2 at the smallest sizes (p ≈ 100–500): we allow
    #   3/p + 3e-3 (≈ 9e-3 at p = 500), covering the measured constant ≈ 1–3 and the discrete
    #   rounding of round(w_k p).
    # * moments M_1..M_3: O(1/n) bias (e.g. +(p+1)/n·σ⁴ exact in M_2 for MP) plus noise, measured
    #   ≤ 7.9e-3 relative at the smallest size with |ζ| ≤ 2.1: tolerance 3 SE + 2 M_k (k/n) — the
    #   relative bias of M_k grows like k/n (MP, docs/methods/spectra.md §1.3: E M_2 − M_2 = σ⁴/n exactly, ≤ 1/n relative).
    #   Observed here: ≤ 4.4e-3 relative for M_3 at n = 1000 (≈ 40% of the tolerance).
    # * Stieltjes off the support: O(1/n), measured ≤ 5.2e-3 at the largest size and 2.6e-2 only
    #   next to the support: 3 SE + 2/n relative for our points (≥ 0.5 away from the support).
    p = int(ratio * n)
    law = lambda x: sample_covariance_spectrum(ratio=p / n, x=x, **THREE).cdf
    sim = simulate_sample_covariance_spectrum(n_samples=n, n_features=p, trials=12, rng=20240 + p, **THREE)
    ks = sim.ks_distances(law)
    assert ks.mean() < 3.0 / p + 3e-3

    theory = sample_covariance_spectrum(ratio=p / n, x=[1.0], stieltjes_at=[-1 + 0.5j, 5 + 4j, 30 + 1j], **THREE)
    mean, se = sim.moments(3)
    k = np.arange(1, 4)
    assert np.all(np.abs(mean - theory.moments) <= 3 * se + 2 * np.asarray(theory.moments) * k / n)

    m_mc, m_se = sim.stieltjes(theory.stieltjes_at)
    tol = 3 * np.abs(m_se) + 2.0 / n * np.abs(theory.stieltjes)
    assert np.all(np.abs(m_mc - theory.stieltjes) <= tol)


@pytest.mark.montecarlo
def test_monte_carlo_gap_edges_two_point_population():
    # Two-point H = {1, 4} with equal weights at c = 0.1 (docs/methods/spectra.md §4 "GMP gap edges"): n = 4000,
    # p = 400, 6 trials. Edge-type quantities converge like n^(-2/3) with a Tracy–Widom shift
    # towards the bulk; docs/methods/spectra.md §4 measured relative discrepancies 1.9e-2 / 2.4e-2 at the smallest
    # size and 2.3e-3 / 4.9e-3 at the largest. At p = 400 we allow 3e-2 relative on the four
    # edges, and check exact separation: exactly p/2 eigenvalues below the gap in every trial.
    n, p = 4000, 400
    theory = sample_covariance_spectrum(ratio=p / n, x=[1.0], **TWO_POINT)
    (a1, b1), (a2, b2) = theory.support_intervals
    sim = simulate_sample_covariance_spectrum(n_samples=n, n_features=p, trials=6, rng=7, **TWO_POINT)
    ev = sim.eigenvalues
    below = np.sum(ev < 0.5 * (b1 + a2), axis=1)
    assert np.all(below == p // 2)
    got = np.array([ev[:, 0].mean(), ev[:, p // 2 - 1].mean(), ev[:, p // 2].mean(), ev[:, -1].mean()])
    np.testing.assert_allclose(got, [a1, b1, a2, b2], rtol=3e-2)
    # The observed gap sits inside the predicted gap up to the edge fluctuations.
    assert ev[:, p // 2 - 1].max() < a2 and ev[:, p // 2].min() > b1


# ----------------------------------------------------------------------------------------------
# Stieltjes points hugging the real axis (fuzzing: Im z = 1e-308 overflowed the level count)


def test_stieltjes_points_below_the_continuation_floor():
    # Reference: the continuation run down to η itself (48 halvings at η = 1e-13, fine there), against
    # the floor solve moved down by the first-order expansion. Expected error O(η_f²) ≈ 1e-19 relative.
    from solvers.sample_covariance import _Population, _population, _solve_companion

    t, w, _ = _population(THREE["eigenvalues"], THREE["weights"])
    pop = _Population(0.5, t, w)
    points = np.array([0.3, 2.0, 5.0, 20.0, 60.0])  # below, inside and between the intervals, far right
    eta = 1e-13
    m_low, _ = _solve_companion(pop, points, np.full(points.size, eta))
    direct = -(1.0 / (points + 1j * eta)) * ((1.0 / (1.0 + m_low[:, None] * t)) @ w)
    got = sample_covariance_spectrum(ratio=0.5, x=[1.0], stieltjes_at=points + 1j * eta, **THREE)
    np.testing.assert_allclose(got.stieltjes.real, direct.real, rtol=1e-9)
    np.testing.assert_allclose(got.stieltjes.imag, direct.imag, rtol=1e-6, atol=1e-15)
    assert any("first order" in note for note in got.notes)


@pytest.mark.parametrize("eta", [1e-300, 1e-308, 5e-324, -1e-320])
def test_stieltjes_points_at_subnormal_heights(eta):
    # Im m(x + iη) = η ∫ μ(dt)/|t − z|² has the sign of η and, outside the support, is linear in η.
    points = np.array([0.3, 2.0, 20.0, 60.0])
    tiny = sample_covariance_spectrum(ratio=0.5, x=[1.0], stieltjes_at=points + 1j * eta, **THREE).stieltjes
    ref = sample_covariance_spectrum(ratio=0.5, x=[1.0], stieltjes_at=points + 1e-6j, **THREE).stieltjes
    assert np.all(np.isfinite(tiny))
    np.testing.assert_allclose(tiny.real, ref.real, rtol=1e-5)
    assert np.all(np.sign(tiny.imag[tiny.imag != 0]) == np.sign(eta))
    inside = ref.imag > 1e-3  # points inside the support keep Im m ≈ π × density
    np.testing.assert_allclose(np.abs(tiny.imag[inside]), ref.imag[inside], rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# The checked domain: c ≥ 1e-8, max/min ≤ 1e8 (fuzzing found silently wrong laws outside it)


@pytest.mark.parametrize("ratio", [1e-8, 1e-6, 1e-3, 0.1, 0.5, 0.99, 1.0, 1.01, 2.0, 10.0, 1e3, 1e6])
def test_the_supported_domain_gives_a_probability_law(ratio):
    # Invariants, no reference needed: the masses of atom and intervals sum to 1 and the CDF never
    # decreases, at the corners of the domain (ranges 1e2, 1e5, 1e8; weights 0.01 and 0.99 on the
    # small eigenvalue, where narrow intervals of width ~√c t were missed outside it).
    for k in (2, 5, 8):
        for eigenvalues, weights in (
            ([10.0 ** (1 - k), 3.0, 10.0], [0.5, 0.3, 0.2]),
            ([10.0**-k, 1.0], [0.01, 0.99]),
            ([10.0**-k, 1.0], [0.99, 0.01]),
        ):
            top = max(eigenvalues) * (1 + np.sqrt(ratio)) ** 2
            r = sample_covariance_spectrum(
                ratio=ratio, eigenvalues=eigenvalues, weights=weights, x=np.linspace(0, 1.2 * top, 40)
            )
            assert r.atom_mass + sum(r.interval_masses) == pytest.approx(1.0, abs=1e-6), (k, eigenvalues, weights)
            assert np.all(np.diff(r.cdf) >= -1e-9) and r.diagnostics.converged


@pytest.mark.parametrize(
    ("ratio", "eigenvalues", "weights", "parameter"),
    [
        (0.1, [1e-300, 3.0, 10.0], [0.5, 0.3, 0.2], "eigenvalues"),  # fuzzing: masses summed to 0.499
        (0.5, [1e-9, 1.0], [0.5, 0.5], "eigenvalues"),
        (1e-12, [1.0], [1.0], "ratio"),  # no interval was found at all
        (1e-9, [1.0, 3.0], [0.5, 0.5], "ratio"),
    ],
)
def test_outside_the_supported_domain_is_refused(ratio, eigenvalues, weights, parameter):
    with pytest.raises(InvalidParameterError) as error:
        sample_covariance_spectrum(ratio=ratio, eigenvalues=eigenvalues, weights=weights, x=[1.0])
    assert error.value.parameter == parameter
    assert ("1e+08" if parameter == "eigenvalues" else "1e-08") in error.value.message
