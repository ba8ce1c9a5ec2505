"""Spiked covariance / BBP transition (docs/methods/spectra.md §3): closed forms and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.exceptions import InvalidParameterError
from solvers.montecarlo.spectra import simulate_spiked_covariance
from solvers.spiked_covariance import spiked_covariance


def test_closed_form_values():
    res = spiked_covariance(ratio=0.5, spikes=[3.0, 0.5, 2.0], variance=2.0)
    assert res.threshold == pytest.approx(np.sqrt(0.5))
    assert res.support == pytest.approx((2 * (1 - np.sqrt(0.5)) ** 2, 2 * (1 + np.sqrt(0.5)) ** 2))
    assert res.atom_mass == 0.0
    np.testing.assert_array_equal(res.separated, [True, False, True])
    # σ²(1 + ℓ)(1 + c/ℓ): 2·4·(1 + 1/6) = 28/3, 2·3·1.25 = 7.5; subcritical → λ+.
    np.testing.assert_allclose(res.eigenvalue, [28 / 3, 2 * (1 + np.sqrt(0.5)) ** 2, 7.5], rtol=1e-15)
    # (1 − c/ℓ²)/(1 + c/ℓ): (1 − 1/18)/(1 + 1/6) = 17/21; (1 − 1/8)/(1.25) = 0.7.
    np.testing.assert_allclose(res.alignment, [17 / 21, 0.0, 0.7], rtol=1e-15)
    np.testing.assert_allclose(res.sample_side_alignment, [17 / 18, 0.0, 7 / 8], rtol=1e-15)
    assert "Baik" in res.reference and "Paul" in res.reference


def test_psi_form_of_bai_yao():
    # docs/methods/spectra.md §3: with a = 1 + ℓ, λ → ψ(a) = a + c a/(a − 1) and |⟨û,u⟩|² → a ψ'(a)/ψ(a).
    c, ell = 0.7, np.array([1.5, 2.5, 6.0])
    a = 1 + ell
    psi = a + c * a / (a - 1)
    dpsi = 1 - c / (a - 1) ** 2
    res = spiked_covariance(ratio=c, spikes=ell)
    np.testing.assert_allclose(res.eigenvalue, psi, rtol=1e-14)
    np.testing.assert_allclose(res.alignment, a * dpsi / psi, rtol=1e-13)


@pytest.mark.parametrize("ratio", [0.25, 1.0, 3.0])
def test_continuity_at_threshold(ratio):
    root = np.sqrt(ratio)
    eps = np.array([1e-2, 1e-4, 1e-6, 1e-8])
    res = spiked_covariance(ratio=ratio, spikes=root + eps, variance=1.3)
    lam_plus = 1.3 * (1 + root) ** 2
    # λ(ℓ) − λ+ is quadratic in ℓ − √c (ψ'(a) = 0 at threshold), alignments are linear.
    assert np.all(res.eigenvalue >= lam_plus * (1 - 1e-15))
    assert np.all(np.abs(res.eigenvalue - lam_plus) <= 10 * eps**2 * lam_plus + 1e-14 * lam_plus)
    assert np.all(res.alignment <= 4 * eps / root) and np.all(res.sample_side_alignment <= 4 * eps / root)
    at = spiked_covariance(ratio=ratio, spikes=[root], variance=1.3)
    assert not at.separated[0] and at.eigenvalue[0] == pytest.approx(lam_plus) and at.alignment[0] == 0.0


def test_ratio_above_one_support_and_atom():
    res = spiked_covariance(ratio=4.0, spikes=[1.0, 5.0])
    assert res.support == pytest.approx((1.0, 9.0))
    assert res.atom_mass == pytest.approx(0.75)
    np.testing.assert_array_equal(res.separated, [False, True])
    assert res.eigenvalue[0] == pytest.approx(9.0)


def test_notes_for_critical_and_repeated_spikes():
    res = spiked_covariance(ratio=1.0, spikes=[1.05, 3.0, 3.0])
    assert any("threshold" in n for n in res.notes) and any("Repeated" in n for n in res.notes)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(ratio=-1.0), "ratio"),
        (dict(ratio=np.inf), "ratio"),
        (dict(spikes=[]), "spikes"),
        (dict(spikes=[1.0, 0.0]), "spikes"),
        (dict(spikes=[np.nan]), "spikes"),
        (dict(spikes=[[1.0]]), "spikes"),
        (dict(variance=0.0), "variance"),
    ],
)
def test_validation_names_the_parameter(kwargs, parameter):
    args = dict(ratio=0.5, spikes=[2.0])
    args.update(kwargs)
    with pytest.raises(InvalidParameterError) as info:
        spiked_covariance(**args)
    assert info.value.parameter == parameter and f"`{parameter}`" in str(info.value)


@pytest.mark.montecarlo
def test_monte_carlo_outliers_and_alignments():
    # Sizes: n = 1000, p = 500 (c = 0.5), spikes ℓ ∈ {3, 2} (both far above √c ≈ 0.71), 40 trials;
    # u_k = e_k. Supercritical outliers fluctuate as O(n^{-1/2}) around the limit and the mean
    # has an O(1/n) bias (docs/methods/spectra.md §4: outlier eigenvalue ≤ 9.5e-3 relative at the smallest size,
    # |⟨û,u⟩|² ≤ 1.3e-2 abs, sample-side ≤ 2.0e-2 abs). Tolerance: 3 SE + C/√n with C = 0.3
    # relative for eigenvalues (9.5e-3 at n = 1000) and C = 0.4 absolute for the alignments
    # (1.3e-2 at n = 1000), i.e. the smallest-size discrepancies of docs/methods/spectra.md §4 plus three standard errors.
    n, p = 1000, 500
    spikes = np.array([3.0, 2.0])
    theory = spiked_covariance(ratio=p / n, spikes=spikes)
    sim = simulate_spiked_covariance(n_samples=n, n_features=p, spikes=spikes, trials=40, rng=123)
    root_n = np.sqrt(n)
    assert np.all(
        np.abs(sim.eigenvalue_mean - theory.eigenvalue)
        <= 3 * sim.eigenvalue_standard_error + 0.3 / root_n * theory.eigenvalue
    )
    assert np.all(np.abs(sim.alignment_mean - theory.alignment) <= 3 * sim.alignment_standard_error + 0.4 / root_n)
    assert np.all(
        np.abs(sim.sample_side_alignment_mean - theory.sample_side_alignment)
        <= 3 * sim.sample_side_alignment_standard_error + 0.4 / root_n
    )
    # The outliers really sit outside the bulk in every trial.
    assert np.all(sim.eigenvalue > theory.support[1])


@pytest.mark.montecarlo
def test_monte_carlo_wide_ratio_uses_gram_side():
    # p > n (c = 2, n = 800, p = 1600) exercises the n × n eigenproblem; spike ℓ = 6 (≫ √2).
    # Same tolerance rule as above; 12 trials.
    n, p = 800, 1600
    theory = spiked_covariance(ratio=p / n, spikes=[6.0])
    sim = simulate_spiked_covariance(n_samples=n, n_features=p, spikes=[6.0], trials=12, rng=9)
    root_n = np.sqrt(n)
    assert abs(sim.eigenvalue_mean[0] - theory.eigenvalue[0]) <= (
        3 * sim.eigenvalue_standard_error[0] + 0.3 / root_n * theory.eigenvalue[0]
    )
    assert abs(sim.alignment_mean[0] - theory.alignment[0]) <= 3 * sim.alignment_standard_error[0] + 0.4 / root_n
    assert abs(sim.sample_side_alignment_mean[0] - theory.sample_side_alignment[0]) <= (
        3 * sim.sample_side_alignment_standard_error[0] + 0.4 / root_n
    )


def test_tiny_and_huge_spikes_stay_finite():
    # Found by fuzzing the endpoint: ℓ = 5e-324 overflowed c/ℓ although the spike is subcritical.
    result = spiked_covariance(ratio=1.0, spikes=[5e-324, 1e12])
    assert np.all(np.isfinite(result.eigenvalue)) and np.all(np.isfinite(result.alignment))
    assert result.eigenvalue[0] == pytest.approx(4.0) and result.alignment[0] == 0.0
    assert result.alignment[1] == pytest.approx(1.0, abs=1e-11)
