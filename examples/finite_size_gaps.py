"""Where the random-features deterministic equivalent is not accurate: theory vs simulation at n = 512.

Measures (predicted − simulated)/simulated of the train and test MSE of random-features ridge
regression with :func:`solvers.montecarlo.random_features.simulate_random_features_ridge` (48 draws
of W per point, seed 7) on scikit-learn's digits (n = 512 training rows, the rest as test,
standardised with the training statistics, constant pixels dropped, ÷ √p; one-hot targets; relu and
tanh) and on a two-class Gaussian mixture (n = 512, p = 256, n̂ = 512, relu), over
N/n ∈ {0.5, 1, 1.1, 2, 4} and γ ∈ {1e-4, 1e-3, 1e-2, 3e-2, 0.1, 1}. Prints one JSON row per point
(with γ/λ̄, λ̄ = tr K/n the mean eigenvalue of the expected kernel); the table of
docs/methods/random_features.md §4.1 comes from it. About two minutes on one core.

Run from the repository root: ``OPENBLAS_NUM_THREADS=1 python examples/finite_size_gaps.py``.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.datasets import load_digits

from solvers.montecarlo.random_features import simulate_random_features_ridge
from solvers.random_features import gaussian_mixture, random_features_ridge, spectral_data

GAMMAS = np.array([1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 1.0])
NEURONS_PER_SAMPLE = (0.5, 1.0, 1.1, 2.0, 4.0)
TRIALS = 48


def digits(n_train: int = 512, seed: int = 0):
    """The split and preprocessing of examples/optuna_random_features.py (same rows, same scaling)."""
    bunch = load_digits()
    order = np.random.default_rng(seed).permutation(len(bunch.target))
    x, y = bunch.data[order].astype(np.float64), np.eye(10)[bunch.target[order]]
    x_train, x_test, y_train, y_test = x[:n_train], x[n_train:], y[:n_train], y[n_train:]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    keep = std > 0
    x_train, x_test = (x_train[:, keep] - mean[keep]) / std[keep], (x_test[:, keep] - mean[keep]) / std[keep]
    root = np.sqrt(x_train.shape[1])
    return x_train / root, y_train, x_test / root, y_test


def main() -> list[dict]:
    mixture = gaussian_mixture(n_samples=512, n_features=256, n_test=512, rng=1)
    cases = [
        ("digits", "relu", digits()),
        ("digits", "tanh", digits()),
        ("gmm", "relu", (mixture.x, mixture.y, mixture.x_test, mixture.y_test)),
    ]
    rows = []
    for name, activation, (x, y, x_test, y_test) in cases:
        lam = spectral_data(activation=activation, x=x, y=y, x_test=x_test, y_test=y_test).eigenvalues
        n, mean_eigenvalue = lam.size, float(lam.mean())
        for ratio in NEURONS_PER_SAMPLE:
            n_neurons = round(ratio * n)
            data = {
                "activation": activation,
                "x": x,
                "y": y,
                "x_test": x_test,
                "y_test": y_test,
                "n_neurons": n_neurons,
            }
            theory = random_features_ridge(**data, ridge_penalty=GAMMAS, optimize=False)
            sim = simulate_random_features_ridge(**data, ridge_penalty=GAMMAS, trials=TRIALS, rng=7)
            for j, gamma in enumerate(GAMMAS):
                row = {
                    "data": name,
                    "activation": activation,
                    "n": n,
                    "n_neurons": n_neurons,
                    "ratio": ratio,
                    "gamma": float(gamma),
                    "gamma_over_mean_eigenvalue": float(gamma) / mean_eigenvalue,
                }
                for split in ("train", "test"):
                    predicted, simulated = (
                        float(getattr(theory, f"{split}_mse")[0, j]),
                        float(getattr(sim, f"{split}_mse")[j]),
                    )
                    row |= {
                        f"{split}_predicted": predicted,
                        f"{split}_simulated": simulated,
                        f"{split}_standard_error": float(getattr(sim, f"{split}_mse_standard_error")[j]),
                        f"{split}_gap": (predicted - simulated) / simulated,
                    }
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    main()
