"""Monte Carlo simulators of kernel matrices: the spectrum of K (``/v1/spectra/kernel-matrix``) and
the errors of kernel ridge regression (``/v1/predictions/kernel-ridge``).

Both draw x_i exactly as the data models of the derivation (docs/derivations/kernel_matrix_spectrum.md §1)
and evaluate the kernel with :func:`solvers.kernels.kernel_matrix`, so they check the linearisation
end to end.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from solvers._validation import finite_array, positive_int, rng_from
from solvers.exceptions import InvalidParameterError
from solvers.kernel_ridge import kernel_ridge_risk
from solvers.kernel_spectrum import kernel_matrix_spectrum
from solvers.kernels import Kernel, kernel_matrix
from solvers.montecarlo._statistics import mean_and_standard_error
from solvers.montecarlo.engine import (
    CDF_GRID_POINTS,
    HEURISTIC,
    SimulationPrediction,
    TrialDraw,
    at_most_points,
    ratio_note,
)
from solvers.montecarlo.spectra import _realised_population

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
            raise InvalidParameterError(
                "means", f"`means` rows have {m.shape[1]} entries, more than `n_features` = {p}."
            )
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
    tau = (
        1.0
        if eigenvalues is None
        else float(np.dot(finite_array("weights", weights), finite_array("eigenvalues", eigenvalues)))
    )
    for trial in range(trials):
        x, lab = draw_data(
            n_samples=n,
            n_features=p,
            rng=generator,
            eigenvalues=eigenvalues,
            weights=weights,
            means=means,
            proportions=proportions,
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
        assert values.cross_kernel is not None  # x_test was given
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


# --- Simulation-job kinds `kernel_matrix_spectrum` and `kernel_ridge` (solvers.montecarlo.engine) --------


@dataclass(frozen=True, slots=True)
class _MatchedOutlier:
    """Where a predicted outlier sits in the ascending spectrum of one draw, and what it is compared with."""

    index: int  # position in the ascending eigenvalues of K
    top_rank: int  # position from the top (0 = the largest)
    name: str
    eigenvalue: float
    alignment: float | None  # the predicted |⟨û, u⟩|² when it is measured (class-mean spike among the top N_VECTORS)
    class_vector: tuple[float, ...]


def _kernel_data(
    data_model: str, n_features: int, eigenvalues, weights, means, proportions
) -> tuple[tuple | None, tuple | None]:
    """The simulated data model, hashable: (t_k, round(w_k p)/p) of the population, (means, π) of the mixture."""
    population = mixture = None
    if data_model == "population":
        if eigenvalues is None or weights is None:
            raise InvalidParameterError(
                "eigenvalues", "`eigenvalues` and `weights` are required for the population model."
            )
        t, w, _ = _realised_population(eigenvalues, weights, n_features)
        population = (tuple(t.tolist()), tuple(w.tolist()))
    if data_model == "gaussian_mixture":
        if means is None:
            raise InvalidParameterError("means", "`means` are required for the gaussian_mixture model.")
        m = finite_array("means", means, ndim=2)
        if m.shape[1] > n_features:
            raise InvalidParameterError(
                "means", f"`means` rows have {m.shape[1]} entries, more than the simulated p = {n_features}."
            )
        mixture = (tuple(map(tuple, m.tolist())), None if proportions is None else tuple(float(q) for q in proportions))
    return population, mixture


def _kernel_law(kernel: Kernel, n_features: int, n_samples: int, data_model: str, population, mixture, x=()) -> Any:
    """:func:`solvers.kernel_spectrum.kernel_matrix_spectrum` at the simulated p/n, n, p and data model."""
    data: dict[str, Any] = {}
    if population is not None:
        data = {"eigenvalues": list(population[0]), "weights": list(population[1])}
    if mixture is not None:
        data = {
            "means": [list(row) for row in mixture[0]],
            "proportions": None if mixture[1] is None else list(mixture[1]),
        }
    return kernel_matrix_spectrum(
        kernel=kernel,
        ratio=n_features / n_samples,
        x=list(x),
        n_samples=n_samples,
        n_features=n_features,
        data_model=data_model,
        **data,
    )


@functools.lru_cache(maxsize=64)
def _kernel_outliers(
    kernel: Kernel, n_features: int, n_samples: int, data_model: str, population, mixture
) -> tuple[_MatchedOutlier, ...]:
    """The predicted outliers matched with positions of the ascending spectrum (cached: every trial of a job asks).

    An outlier at ρ is the eigenvalue with as many eigenvalues below it as the bulk puts there,
    round((n − m)·F(ρ)), plus the m' predicted outliers below ρ: the k-th largest above the bulk, the
    k-th smallest below it, and its place in a gap between two parts of the bulk.
    """
    outliers = _kernel_law(kernel, n_features, n_samples, data_model, population, mixture).outliers
    if not outliers:
        return ()
    if len(outliers) >= n_samples:
        raise InvalidParameterError(
            "n_samples",
            f"`n_samples` = {n_samples} leaves no bulk eigenvalue besides the {len(outliers)} predicted outliers.",
        )
    rho = np.array([o.eigenvalue for o in outliers])
    cdf = _kernel_law(kernel, n_features, n_samples, data_model, population, mixture, x=tuple(rho.tolist())).cdf
    bulk = n_samples - len(outliers)
    indices = [round(bulk * float(cdf[i])) + int(np.sum(rho < rho[i])) for i in range(len(outliers))]
    taken: set[int] = set()
    matched = []
    for i in np.argsort(rho, kind="stable"):  # coinciding predictions take consecutive eigenvalues
        index = min(indices[i], n_samples - 1)
        while index in taken:
            index += 1
        taken.add(index)
        indices[i] = index
    for i, outlier in enumerate(outliers, start=1):
        tags = [f"direction={outlier.direction}", f"order={outlier.order}"] + (
            ["validity=mean"] if outlier.validity == "mean" else []
        )
        name = f"outlier_{i}[{','.join(tags)}]"
        if outlier.validity == "heuristic":
            name = HEURISTIC + name
        index = indices[i - 1]
        top_rank = n_samples - 1 - index
        measured = outlier.direction == "class_means" and top_rank < min(N_VECTORS, n_samples)
        matched.append(
            _MatchedOutlier(
                index=index,
                top_rank=top_rank,
                name=name,
                eigenvalue=float(outlier.eigenvalue),
                alignment=float(outlier.alignment) if measured else None,
                class_vector=tuple(outlier.class_vector),
            )
        )
    return tuple(matched)


def kernel_matrix_spectrum_trial(
    *,
    rng: np.random.Generator,
    kernel: Kernel,
    n_features: int,
    n_samples: int,
    data_model: str = "isotropic",
    eigenvalues=None,
    weights=None,
    means=None,
    proportions=None,
) -> TrialDraw:
    """One draw of :func:`simulate_kernel_matrix_spectrum`: the predicted outliers' eigenvalues, and the bulk.

    For each outlier the law predicts (largest first), the eigenvalue at its place in the ascending
    spectrum (see :func:`_kernel_outliers`) and, for a class-mean spike among the top five, the energy
    |⟨v, u⟩|² of its eigenvector on the predicted class vector u; the spectrum returned for the pooled
    ESD is every eigenvalue but those (outliers carry no mass in the limit; docs/derivations/kernel_matrix_spectrum.md).
    """
    population, mixture = _kernel_data(data_model, n_features, eigenvalues, weights, means, proportions)
    matched = _kernel_outliers(kernel, n_features, n_samples, data_model, population, mixture)
    data: dict[str, Any] = {}
    if population is not None:
        data = {"eigenvalues": eigenvalues, "weights": weights}
    if mixture is not None:
        data = {"means": means, "proportions": proportions}
    simulation = simulate_kernel_matrix_spectrum(
        kernel=kernel, n_samples=n_samples, n_features=n_features, trials=1, rng=rng, **data
    )
    spectrum = simulation.eigenvalues[0]  # ascending
    values: list[float] = []
    for outlier in matched:
        values.append(float(spectrum[outlier.index]))
        if outlier.alignment is not None:
            u = np.asarray(outlier.class_vector, dtype=np.float64)[simulation.labels[0]]
            u = u / np.linalg.norm(u)
            values.append(float(simulation.top_vectors[0, :, outlier.top_rank] @ u) ** 2)
    bulk = np.delete(spectrum, [outlier.index for outlier in matched])
    return TrialDraw(values=np.array(values, dtype=np.float64), spectrum=bulk)


def kernel_matrix_spectrum_prediction(
    *,
    kernel: Kernel,
    n_features: int,
    n_samples: int,
    data_model: str = "isotropic",
    eigenvalues=None,
    weights=None,
    means=None,
    proportions=None,
) -> SimulationPrediction:
    """The kernel-matrix law at the simulated p/n, n, p (and population): outliers, alignments, CDF of the bulk.

    :func:`solvers.kernel_spectrum.kernel_matrix_spectrum` (El Karoui 2010, Thms 2.1-2.2; outliers
    Benaych-Georges & Nadakuditi 2011, 2012; docs/derivations/kernel_matrix_spectrum.md). Outliers keep the
    endpoint's validity: ``heuristic`` ones are named ``heuristic_outlier_*``, ``mean`` ones carry
    ``validity=mean`` (a mean with O(1) fluctuations, not a limit). The CDF is given on
    ``CDF_GRID_POINTS`` points over the bulk and its atom, widened by a quarter of their span on each side.
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    population, mixture = _kernel_data(data_model, n_features, eigenvalues, weights, means, proportions)
    matched = _kernel_outliers(kernel, n_features, n_samples, data_model, population, mixture)
    shape = _kernel_law(kernel, n_features, n_samples, data_model, population, mixture)
    ends = [end for interval in shape.support_intervals for end in interval]
    if shape.atom_mass > 0:
        ends.append(shape.atom_location)
    lower, upper = min(ends), max(ends)
    margin = 0.25 * (upper - lower) if upper > lower else 0.5
    grid = np.linspace(lower - margin, upper + margin, CDF_GRID_POINTS)
    law = _kernel_law(kernel, n_features, n_samples, data_model, population, mixture, x=tuple(grid.tolist()))
    names: list[str] = []
    values: list[float] = []
    for outlier in matched:
        names.append(outlier.name)
        values.append(outlier.eigenvalue)
        if outlier.alignment is not None:
            names.append(outlier.name.replace("outlier_", "alignment_", 1))
            values.append(outlier.alignment)
    notes = [
        f"Predicted at the simulated ratio p/n = {n_features}/{n_samples} = {n_features / n_samples:.6g}, with n = {n_samples} "
        "placing the order-n outlier (the request's `x`/`grid` are not used: the ESD is compared on the job's own grid).",
        "The pooled ESD leaves out the eigenvalues matched with predicted outliers (they carry no mass in the limit); "
        "an outlier at ρ is matched with the eigenvalue that has round((n − m)·F(ρ)) bulk eigenvalues below it.",
    ]
    if population is not None and (list(population[0]) != list(eigenvalues) or list(population[1]) != list(weights)):
        notes.append(
            f"Predicted at the population of the simulated Σ: round(w_k p)/p of the p = {n_features} coordinates per eigenvalue, "
            f"weights {np.round(population[1], 6).tolist()} for eigenvalues {list(population[0])}."
        )
    if shape.atom_mass > 0:
        notes.append(
            f"The atom at γ = {shape.atom_location:.6g} (mass {shape.atom_mass:.6g}) is smeared over O(p^(-1/2)) at finite p: "
            "the KS distance is dominated by it."
        )
    for outlier, predicted in zip(
        matched, _kernel_law(kernel, n_features, n_samples, data_model, population, mixture).outliers, strict=True
    ):
        if predicted.validity == "mean":
            notes.append(
                f"`{outlier.name}` is a mean, not a limit: the eigenvalue keeps Gaussian fluctuations of standard deviation "
                f"{predicted.standard_deviation:.6g} from draw to draw (derivation §4), so its mean is known to "
                f"{predicted.standard_deviation:.6g}/√trials; compare its difference with that."
            )
    if any(o.name.startswith(HEURISTIC) for o in matched):
        notes.append(
            'Quantities named heuristic_* compare with outliers the endpoint marks `validity: "heuristic"`: they are not '
            "verified, and their differences and z-scores test no established result (see the law's notes)."
        )
    return SimulationPrediction(
        names=tuple(names),
        values=np.array(values, dtype=np.float64),
        cdf_grid=grid,
        cdf=law.cdf,
        reference=law.reference,
        notes=(*notes, *law.notes),
    )


_KERNEL_RIDGE_QUANTITIES = ("train_mse", "test_mse")


def kernel_ridge_trial(
    *,
    rng: np.random.Generator,
    kernel: Kernel,
    n_features: int,
    n_samples: int,
    ridge_penalty,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    eigenvalues=None,
    weights=None,
) -> TrialDraw:
    """One draw of :func:`simulate_kernel_ridge` (x, β, ε and 1000 test points): train and test MSE per λ in order."""
    lam = at_most_points("ridge_penalty", ridge_penalty)
    simulation = simulate_kernel_ridge(
        kernel=kernel,
        n_samples=n_samples,
        n_features=n_features,
        ridge_penalty=lam,
        signal_strength=signal_strength,
        noise_variance=noise_variance,
        trials=1,
        rng=rng,
        eigenvalues=eigenvalues,
        weights=weights,
    )
    return TrialDraw(values=np.stack([simulation.train_mse, simulation.test_mse], axis=1).reshape(-1))


def kernel_ridge_prediction(
    *,
    kernel: Kernel,
    n_features: int,
    n_samples: int,
    ridge_penalty,
    signal_strength: float = 1.0,
    noise_variance: float = 1.0,
    eigenvalues=None,
    weights=None,
) -> SimulationPrediction:
    """Limiting train and test MSE of kernel ridge per λ at the simulated p/n, n (and population).

    :func:`solvers.kernel_ridge.kernel_ridge_risk` (El Karoui 2010; Liang & Rakhlin 2020, Sec. 3; Bartlett,
    Montanari & Rakhlin 2021, Sec. 4.3; docs/derivations/kernel_ridge_regression.md).
    """
    n_features = positive_int("n_features", n_features)
    n_samples = positive_int("n_samples", n_samples)
    lam = at_most_points("ridge_penalty", ridge_penalty)
    notes = [ratio_note(n_features, n_samples)]
    population: dict[str, Any] = {}
    if eigenvalues is not None or weights is not None:
        if eigenvalues is None or weights is None:
            raise InvalidParameterError("eigenvalues", "`eigenvalues` and `weights` go together.")
        t, w, changed = _realised_population(eigenvalues, weights, n_features)
        population = {"eigenvalues": t, "weights": w}
        if changed:
            notes.append(
                f"Predicted at the population of the simulated Σ: round(w_k p)/p of the p = {n_features} coordinates "
                f"per eigenvalue, weights {np.round(w, 6).tolist()} for eigenvalues {t.tolist()}."
            )
    law = kernel_ridge_risk(
        kernel=kernel,
        ratio=[n_features / n_samples],
        ridge_penalty=lam,
        n_samples=n_samples,
        signal_strength=signal_strength,
        noise_variance=noise_variance,
        **population,
    )
    values = np.stack([law.train_mse[0], law.test_mse[0]], axis=1)
    names = tuple(f"{q}[ridge_penalty={penalty:g}]" for penalty in lam.tolist() for q in _KERNEL_RIDGE_QUANTITIES)
    return SimulationPrediction(
        names=names,
        values=values.reshape(-1),
        cdf_grid=None,
        cdf=None,
        reference=law.reference,
        notes=(*notes, *law.notes),
    )
