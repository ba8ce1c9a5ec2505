"""Simulators of solvers/montecarlo/spectra.py: allocation, sides, statistics, KS distance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from solvers.exceptions import InvalidParameterError
from solvers.montecarlo.spectra import (
    _allocate,
    ks_distance,
    simulate_sample_covariance_spectrum,
    simulate_spiked_covariance,
)
from solvers.sample_covariance import sample_covariance_spectrum
from solvers.spiked_covariance import spiked_covariance


def test_largest_remainder_allocation():
    np.testing.assert_array_equal(_allocate(np.array([1 / 3, 1 / 3, 1 / 3]), 100), [34, 33, 33])
    np.testing.assert_array_equal(_allocate(np.array([0.25, 0.75]), 10), [3, 7])  # 2.5, 7.5 → tie by index
    counts = _allocate(np.array([0.123, 0.456, 0.421]), 997)
    assert counts.sum() == 997 and np.all(np.abs(counts - np.array([0.123, 0.456, 0.421]) * 997) < 1)
    sim = simulate_sample_covariance_spectrum(
        n_samples=20, n_features=10, trials=1, rng=0, eigenvalues=[1.0, 2.0, 5.0], weights=[0.2, 0.3, 0.5], variance=2.0
    )
    np.testing.assert_array_equal(sim.population, 2.0 * np.repeat([1.0, 2.0, 5.0], [2, 3, 5]))


def test_seeded_reproducibility_and_generator_input():
    a = simulate_sample_covariance_spectrum(n_samples=30, n_features=20, trials=2, rng=5)
    b = simulate_sample_covariance_spectrum(n_samples=30, n_features=20, trials=2, rng=np.random.default_rng(5))
    c = simulate_sample_covariance_spectrum(n_samples=30, n_features=20, trials=2, rng=6)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert not np.array_equal(a.eigenvalues, c.eigenvalues)


@pytest.mark.parametrize("n, p", [(40, 25), (25, 40)])
def test_covariance_and_gram_share_nonzero_eigenvalues(n, p):
    cov = simulate_sample_covariance_spectrum(n_samples=n, n_features=p, trials=2, rng=11, matrix="covariance")
    gram = simulate_sample_covariance_spectrum(n_samples=n, n_features=p, trials=2, rng=11, matrix="gram")
    assert cov.eigenvalues.shape == (2, p) and gram.eigenvalues.shape == (2, n)
    k = min(n, p)
    np.testing.assert_allclose(cov.eigenvalues[:, -k:], gram.eigenvalues[:, -k:], rtol=1e-12)
    assert np.all(cov.eigenvalues[:, : p - k] == 0) and np.all(gram.eigenvalues[:, : n - k] == 0)
    # Cross-check with a direct eigendecomposition of the p × p matrix built from the same draw.
    z = np.random.default_rng(11).standard_normal((p, n))
    direct = np.linalg.eigvalsh(z @ z.T / n)
    np.testing.assert_allclose(np.sort(cov.eigenvalues[0]), direct, atol=1e-12)
    np.testing.assert_array_equal(cov.largest, cov.eigenvalues[:, -1])
    np.testing.assert_array_equal(cov.smallest_nonzero, cov.eigenvalues[:, p - k])


def test_statistics_means_and_standard_errors():
    sim = simulate_sample_covariance_spectrum(n_samples=30, n_features=10, trials=5, rng=2)
    ev = sim.eigenvalues
    mean, se = sim.moments(2)
    per = np.stack([np.mean(ev, axis=1), np.mean(ev**2, axis=1)], axis=1)
    np.testing.assert_allclose(mean, per.mean(0))
    np.testing.assert_allclose(se, per.std(0, ddof=1) / np.sqrt(5))
    z = np.array([-1 + 0.5j, 3 + 1j])
    m, m_se = sim.stieltjes(z)
    per_z = np.mean(1 / (ev[:, :, None] - z), axis=1)
    np.testing.assert_allclose(m, per_z.mean(0))
    np.testing.assert_allclose(m_se.real, per_z.real.std(0, ddof=1) / np.sqrt(5))
    f, f_se = sim.empirical_cdf([0.0, 1.0, 100.0])
    np.testing.assert_allclose(f, [0.0, np.mean(ev <= 1.0), 1.0])
    assert f_se[0] == 0.0
    dens, edges = sim.histogram(bins=10)
    assert np.sum(dens * np.diff(edges)) == pytest.approx(1.0)
    assert sim.pooled.size == 50 and np.all(np.diff(sim.pooled) >= 0)


def test_ks_distance_continuous_matches_scipy():
    sample = np.random.default_rng(4).normal(size=300)
    assert ks_distance(sample, stats.norm.cdf) == pytest.approx(stats.kstest(sample, "norm").statistic, rel=1e-12)


def test_ks_distance_with_atom_and_ties():
    # Law: atom 1/2 at 0 plus uniform(0, 1) of mass 1/2. Sample {0, 0, 0.5, 0.75}:
    # at 0: ECDF 0.5 vs F(0) = 0.5 (left: 0 vs 0); at 0.5: left 0.5 vs 0.75, right 0.75 vs 0.75;
    # at 0.75: left 0.75 vs 0.875, right 1 vs 0.875 → sup = 0.25.
    law = lambda x: np.where(x < 0, 0.0, 0.5 + 0.5 * np.clip(x, 0, 1))
    assert ks_distance([0.0, 0.0, 0.5, 0.75], law) == pytest.approx(0.25)
    assert ks_distance([0.0, 0.0, 0.25, 0.75], law) == pytest.approx(0.125)
    with pytest.raises(InvalidParameterError, match="`eigenvalues`"):
        ks_distance([], law)


@pytest.mark.montecarlo
def test_gram_spectrum_against_companion_law():
    # Gram matrix (n × n) at c = 0.5: law (1 − c) δ_0 + c μ_S (docs/methods/spectra.md §1.5), n = 1000, p = 500,
    # 4 trials. The n − p exact zeros must match the atom exactly, and the KS distance of one ESD
    # is ∝ 1/p (docs/methods/spectra.md §4: 6.0e-3–2.3e-2 at p ≈ 100–500), so we allow 3/p + 3e-3.
    n, p = 1000, 500
    c = p / n
    pop = dict(eigenvalues=[1.0, 3.0], weights=[0.5, 0.5])
    sim = simulate_sample_covariance_spectrum(n_samples=n, n_features=p, trials=4, rng=31, matrix="gram", **pop)
    law = lambda x: (1 - c) * (x >= 0) + c * sample_covariance_spectrum(ratio=c, x=x, **pop).cdf
    ks = sim.ks_distances(law)
    assert np.all(ks < 3.0 / p + 3e-3)
    assert np.all(np.sum(sim.eigenvalues == 0, axis=1) == n - p)


@pytest.mark.montecarlo
def test_spikes_on_top_of_bulk_and_spike_order():
    # n = 800, p = 400, spikes given in increasing order: results come back in the order given.
    # Outlier tolerance as in test_spiked_covariance: 3 SE + 0.3/√n relative (docs/methods/spectra.md §4: ≤ 9.5e-3).
    n, p = 800, 400
    theory = spiked_covariance(ratio=p / n, spikes=[2.0, 4.0])
    sim = simulate_spiked_covariance(n_samples=n, n_features=p, spikes=[2.0, 4.0], trials=20, rng=77)
    assert sim.eigenvalue_mean[1] > sim.eigenvalue_mean[0]
    assert np.all(
        np.abs(sim.eigenvalue_mean - theory.eigenvalue)
        <= 3 * sim.eigenvalue_standard_error + 0.3 / np.sqrt(n) * theory.eigenvalue
    )
    spec = simulate_sample_covariance_spectrum(n_samples=n, n_features=p, trials=20, rng=77, spikes=[2.0, 4.0])
    # Same seed, same draws: the top two eigenvalues coincide with the spiked simulator's.
    np.testing.assert_allclose(spec.eigenvalues[:, -1], sim.eigenvalue[:, 1], rtol=1e-10)
    np.testing.assert_allclose(spec.eigenvalues[:, -2], sim.eigenvalue[:, 0], rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        (dict(n_samples=0), "n_samples"),
        (dict(n_features=2.5), "n_features"),
        (dict(trials=0), "trials"),
        (dict(matrix="other"), "matrix"),
        (dict(variance=-1.0), "variance"),
        (dict(weights=[1.0]), "weights"),
        (dict(eigenvalues=[1.0, 2.0], weights=[0.3, 0.3]), "weights"),
        (dict(eigenvalues=[0.0]), "eigenvalues"),
        (dict(spikes=[-1.0]), "spikes"),
    ],
)
def test_spectrum_validation(kwargs, parameter):
    args = dict(n_samples=10, n_features=5, trials=1, rng=0)
    args.update(kwargs)
    with pytest.raises(InvalidParameterError) as info:
        simulate_sample_covariance_spectrum(**args)
    assert info.value.parameter == parameter and f"`{parameter}`" in str(info.value)


def test_spiked_validation():
    with pytest.raises(InvalidParameterError, match="`spikes`"):
        simulate_spiked_covariance(n_samples=3, n_features=2, spikes=[1.0, 2.0, 3.0], trials=1, rng=0)
    with pytest.raises(InvalidParameterError, match="`spikes`"):
        simulate_spiked_covariance(n_samples=3, n_features=2, spikes=[], trials=1, rng=0)
