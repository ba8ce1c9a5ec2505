"""Simulators of solvers/montecarlo/conjugate_kernel.py: seeding, sides, laws, statistics, validation."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.exceptions import InvalidParameterError
from solvers.montecarlo.conjugate_kernel import _draw, simulate_conjugate_kernel, simulate_one_step_gradient


def test_seeded_reproducibility():
    a = simulate_conjugate_kernel(activation="relu", n_samples=40, n_features=20, n_neurons=30, trials=2, rng=3)
    b = simulate_conjugate_kernel(
        activation="relu", n_samples=40, n_features=20, n_neurons=30, trials=2, rng=np.random.default_rng(3)
    )
    c = simulate_conjugate_kernel(activation="relu", n_samples=40, n_features=20, n_neurons=30, trials=2, rng=4)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert not np.array_equal(a.eigenvalues, c.eigenvalues)


@pytest.mark.parametrize(("n", "N"), [(40, 25), (25, 40)])
def test_gram_and_features_share_nonzero_eigenvalues(n, N):
    g = simulate_conjugate_kernel(activation="tanh", n_samples=n, n_features=15, n_neurons=N, matrix="gram", rng=1)
    f = simulate_conjugate_kernel(activation="tanh", n_samples=n, n_features=15, n_neurons=N, matrix="features", rng=1)
    assert g.eigenvalues.shape == (1, n) and f.eigenvalues.shape == (1, N)
    k = min(n, N)
    np.testing.assert_allclose(g.eigenvalues[0, -k:], f.eigenvalues[0, -k:], rtol=1e-10, atol=1e-12)
    assert np.all(g.eigenvalues[0, : n - k] == 0) and np.all(f.eigenvalues[0, : N - k] == 0)


def test_lanczos_top_matches_dense():
    kwargs = dict(activation="relu", n_samples=120, n_features=60, n_neurons=90, trials=1, n_top=3, rng=9)
    dense = simulate_conjugate_kernel(full_spectrum=True, **kwargs)
    lanczos = simulate_conjugate_kernel(full_spectrum=False, **kwargs)
    # same draws of W and X in the first trial (the Lanczos start vector is drawn after them)
    np.testing.assert_allclose(lanczos.top_eigenvalues, dense.top_eigenvalues, rtol=1e-8)
    assert lanczos.eigenvalues is None and dense.top_standard_error.shape == (3,)


def test_laws_of_the_entries():
    rng = np.random.default_rng(0)
    rad = _draw(rng, (50, 40), "rademacher", axis=0, variance=1 / 40)
    assert set(np.unique(rad * np.sqrt(40))) == {-1.0, 1.0}
    sph = _draw(rng, (50, 40), "spherical", axis=1, variance=1.0)
    np.testing.assert_allclose(np.sum(sph**2, axis=1), 40.0)  # rows of W of norm √p
    col = _draw(rng, (50, 40), "spherical", axis=0, variance=1 / 50)
    np.testing.assert_allclose(np.sum(col**2, axis=0), 1.0)  # columns of X of norm 1


def test_subtract_mean_centres_the_features():
    sim = simulate_conjugate_kernel(
        activation="relu", n_samples=200, n_features=100, n_neurons=150, subtract_mean=True, n_top=1, rng=2
    )
    raw = simulate_conjugate_kernel(activation="relu", n_samples=200, n_features=100, n_neurons=150, n_top=1, rng=2)
    # the mean outlier ≈ (E σ)² N = 150/(2π) ≈ 23.9 (docs/methods/conjugate_kernel.md §2) disappears when σ is centred
    assert raw.top_eigenvalues[0, 0] > 20 and sim.top_eigenvalues[0, 0] < 5


def test_one_step_simulation_shapes_and_zero_step():
    sim = simulate_one_step_gradient(
        activation="tanh",
        link="relu",
        noise_variance=0.04,
        n_samples=80,
        n_features=40,
        n_neurons=30,
        learning_rate=[0.0, 10.0],
        trials=2,
        rng=0,
    )
    assert sim.top_singular_value.shape == (2, 2) and sim.realized_slope.shape == (2,)
    assert np.all(sim.top_singular_value[:, 1] > sim.top_singular_value[:, 0])
    assert np.all((sim.alignment >= 0) & (sim.alignment <= 1))


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"n_samples": 0}, "n_samples"),
        ({"matrix": "cov"}, "matrix"),
        ({"data_distribution": "t"}, "data_distribution"),
        ({"n_top": 100}, "n_top"),
    ],
)
def test_validation_names_the_parameter(kwargs, parameter):
    args = {"activation": "relu", "n_samples": 20, "n_features": 10, "n_neurons": 15, **kwargs}
    with pytest.raises(InvalidParameterError) as info:
        simulate_conjugate_kernel(**args)
    assert info.value.parameter == parameter
