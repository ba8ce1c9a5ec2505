"""Monte Carlo simulators of kernel matrices: the spectrum of K (``/v1/spectra/kernel-matrix``) and
the errors of kernel ridge regression (``/v1/predictions/kernel-ridge``).

Both draw x_i exactly as the data models of the derivation (docs/derivations/kernel_matrix_spectrum.md §1)
and evaluate the kernel with :func:`solvers.kernels.kernel_matrix`, so they check the linearisation
end to end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solvers._validation import finite_array, positive_int, rng_from
from solvers.exceptions import InvalidParameterError
from solvers.kernels import Kernel, kernel_matrix
from solvers.montecarlo._statistics import mean_and_standard_error

REFERENCE = "Direct simulation: eigendecomposition of K_ij = K(x_i, x_j) for Gaussian x (docs/derivations/kernel_matrix_spectrum.md §1)"
N_VECTORS = 5


@dataclass(frozen=True, slots=True)
class KernelSpectrumSimulation:
    """Eigenvalues of simulated kernel matrices.

    Attributes
    ----------
    eigenvalues
        (trials, n), ascending per trial.
    top_vectors
        (trials, n, m): the eigenvectors of the m = min(5, n) largest eigenvalues, largest first.
    labels
        (trials, n) class of each sample (all 0 outside the mixture model).
    class_alignments
        (trials, m, k): |⟨v, 1_a⟩|²/|1_a| for each top eigenvector v and class a (the energy of v on
        the normalised class indicators).
    norm_sums
        (trials,): Σ_i ψ_i with ψ_i = ‖x_i‖²/p − tr Σ/p (noise part only for mixtures), the O(1) random
        quantity that moves the order-n outlier of distance-type kernels (derivation §4).
    reference
        What was simulated.
    """

    eigenvalues: np.ndarray
    top_vectors: np.ndarray
    labels: np.ndarray
    class_alignments: np.ndarray
    norm_sums: np.ndarray
    reference: str = REFERENCE

    def largest(self, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard error over trials of the k largest eigenvalues (largest first)."""
        return mean_and_standard_error(self.eigenvalues[:, ::-1][:, :k])

    def alignment(self, vector: np.ndarray, index: int) -> tuple[float, float]:
        """Mean and standard error of |⟨v_index, u⟩|² with u = vector[label]/‖·‖ (e.g. a predicted class vector)."""
        vector = np.asarray(vector, dtype=np.float64)
        values = []
        for t in range(self.eigenvalues.shape[0]):
            u = vector[self.labels[t]]
            u = u / np.linalg.norm(u)
            values.append(float(self.top_vectors[t, :, index] @ u) ** 2)
        mean, se = mean_and_standard_error(np.array(values))
        return float(mean), float(se)


def draw_data(
    *,
    n_samples: int,
    n_features: int,
    rng: np.random.Generator,
    eigenvalues=None,
    weights=None,
    means=None,
    proportions=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw x (n × p, rows = samples) and class labels from the isotropic, population or mixture model.

    Population: Σ = diag with round(w_k p) entries t_k (largest remainder); mixture: means zero-padded to p,
    labels i.i.d. with probabilities π.
    """
    n, p = n_samples, n_features
    z = rng.standard_normal((n, p))
    labels = np.zeros(n, dtype=np.int64)
    if eigenvalues is not None:
        t = finite_array("eigenvalues", eigenvalues)
        w = finite_array("weights", weights)
        counts = np.floor(w * p).astype(int)
        order = np.argsort(-(w * p - counts), kind="stable")
        counts[order[: p - counts.sum()]] += 1
        z *= np.sqrt(np.repeat(t, counts))[None, :]
    if means is not None:
        m = finite_array("means", means, ndim=2)
        if m.shape[1] > p:
            raise InvalidParameterError("means", f"`means` rows have {m.shape[1]} entries, more than `n_features` = {p}.")
        k = m.shape[0]
        pi = np.full(k, 1.0 / k) if proportions is None else finite_array("proportions", proportions)
        labels = rng.choice(k, size=n, p=pi / pi.sum())
        z[:, : m.shape[1]] += m[labels]
    return z, labels


def simulate_kernel_matrix_spectrum(
    *,
    kernel: Kernel,
    n_samples: int,
    n_features: int,
    trials: int,
    rng,
    eigenvalues=None,
    weights=None,
    means=None,
    proportions=None,
) -> KernelSpectrumSimulation:
    """Eigenvalues (and top eigenvectors) of K_ij = K(x_i, x_j) over independent draws.

    Parameters
    ----------
    kernel
        A :class:`solvers.kernels.Kernel`.
    n_samples, n_features
        n and p.
    trials
        Independent draws.
    rng
        Seed or generator (SPEC 7).
    eigenvalues, weights
        Population spectrum of Σ (``population`` model), or ``None``.
    means, proportions
        Class means (k × d, d ≤ p) and proportions (``gaussian_mixture`` model), or ``None``.
    """
    n = positive_int("n_samples", n_samples)
    p = positive_int("n_features", n_features)
    trials = positive_int("trials", trials)
    generator = rng_from(rng)
    m = min(N_VECTORS, n)
    values = np.empty((trials, n))
    vectors = np.empty((trials, n, m))
    labels = np.zeros((trials, n), dtype=np.int64)
    k = 1 if means is None else len(means)
    alignments = np.empty((trials, m, k))
    norm_sums = np.empty(trials)
    tau = 1.0 if eigenvalues is None else float(np.dot(finite_array("weights", weights), finite_array("eigenvalues", eigenvalues)))
    for trial in range(trials):
        x, lab = draw_data(
            n_samples=n, n_features=p, rng=generator, eigenvalues=eigenvalues, weights=weights, means=means, proportions=proportions
        )
        noise = x.copy()
        if means is not None:
            noise[:, : len(means[0])] -= np.asarray(means, dtype=np.float64)[lab]
        norm_sums[trial] = float(np.sum(np.einsum("ij,ij->i", noise, noise) / p - tau))
        matrix = kernel_matrix(kernel=kernel, x=x).kernel
        w, v = np.linalg.eigh(matrix)
        values[trial], labels[trial] = w, lab
        vectors[trial] = v[:, ::-1][:, :m]
        for a in range(k):
            members = lab == a
            alignments[trial, :, a] = vectors[trial][members].sum(axis=0) ** 2 / max(int(members.sum()), 1)
    return KernelSpectrumSimulation(values, vectors, labels, alignments, norm_sums)


@dataclass(frozen=True, slots=True)
class KernelRidgeSimulation:
    """Kernel ridge train and test MSE over independent draws, per ridge penalty.

    Attributes
    ----------
    ridge_penalty
        λ (L,).
    train_mse, train_mse_standard_error
        Mean over trials of (1/n)‖y − Kα‖² and its standard error (L,).
    test_mse, test_mse_standard_error
        Mean over trials of σ² + (1/n̂)Σ_j (x̂_jᵀβ − f(x̂_j))² (label noise integrated exactly) and its standard error (L,).
    reference
        What was simulated.
    """

    ridge_penalty: np.ndarray
    train_mse: np.ndarray
    train_mse_standard_error: np.ndarray
    test_mse: np.ndarray
    test_mse_standard_error: np.ndarray
    reference: str = "Direct simulation: kernel ridge α = (K + nλI)⁻¹y on Gaussian data, y = xᵀβ + ε"


def simulate_kernel_ridge(
    *,
    kernel: Kernel,
    n_samples: int,
    n_features: int,
    ridge_penalty,
    signal_strength: float,
    noise_variance: float,
    trials: int,
    rng,
    n_test: int = 1000,
    eigenvalues=None,
    weights=None,
) -> KernelRidgeSimulation:
    """Kernel ridge regression on drawn data: α = (K + nλI)⁻¹y, f(x) = Σ_i α_i K(x, x_i).

    Each trial draws x_i ~ N(0, I_p) (or Σ^{1/2}z_i with round(w_k p) eigenvalues t_k), β uniform on the sphere of radius r, ε ~ N(0, σ²), and n̂ test
    points; one eigendecomposition of K serves every λ (λ = 0 uses the pseudo-inverse, eigenvalues
    below 1e-10·max dropped). The test MSE integrates the test-label noise exactly (adds σ²).
    """
    n = positive_int("n_samples", n_samples)
    p = positive_int("n_features", n_features)
    trials = positive_int("trials", trials)
    n_test = positive_int("n_test", n_test)
    lam = np.atleast_1d(finite_array("ridge_penalty", ridge_penalty))
    if np.any(lam < 0):
        raise InvalidParameterError("ridge_penalty", "`ridge_penalty` values must be ≥ 0.")
    r = float(np.sqrt(signal_strength))
    sigma = float(np.sqrt(noise_variance))
    generator = rng_from(rng)
    train = np.empty((trials, lam.size))
    test = np.empty((trials, lam.size))
    for trial in range(trials):
        x, _ = draw_data(n_samples=n, n_features=p, rng=generator, eigenvalues=eigenvalues, weights=weights)
        beta = generator.standard_normal(p)
        beta *= r / np.linalg.norm(beta)
        y = x @ beta + sigma * generator.standard_normal(n)
        x_test, _ = draw_data(n_samples=n_test, n_features=p, rng=generator, eigenvalues=eigenvalues, weights=weights)
        clean = x_test @ beta
        values = kernel_matrix(kernel=kernel, x=x, x_test=x_test)
        w, v = np.linalg.eigh(values.kernel)
        coordinates = v.T @ y
        cross = values.cross_kernel.T @ v  # (n̂, n)
        for j, penalty in enumerate(lam):
            shifted = w + n * penalty
            if penalty == 0:
                keep = np.abs(w) > 1e-10 * np.max(np.abs(w))
                inverse = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
            else:
                inverse = 1.0 / shifted
            alpha_coordinates = inverse * coordinates
            residual = coordinates - w * alpha_coordinates  # y − Kα in the eigenbasis
            train[trial, j] = float(residual @ residual) / n
            prediction = cross @ alpha_coordinates
            test[trial, j] = noise_variance + float(np.mean((clean - prediction) ** 2))
    train_mean, train_se = mean_and_standard_error(train)
    test_mean, test_se = mean_and_standard_error(test)
    return KernelRidgeSimulation(lam, train_mean, train_se, test_mean, test_se)
