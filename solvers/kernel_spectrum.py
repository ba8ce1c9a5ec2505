"""Limiting eigenvalue law of an n × n kernel matrix K (no 1/n) in the proportional regime p/n → c.

El Karoui (2010), Ann. Statist. 38(1), Thms 2.1 and 2.2: for x_i = Σ^{1/2} z_i (z_i ~ N(0, I_p)) and a
kernel K_ij = h(‖x_i‖²/p, ‖x_j‖²/p, x_iᵀx_j/p) smooth near (τ, τ, 0), τ = tr Σ/p,

    K = β G + γ I + (low rank) + o(1) in operator norm,   G = XXᵀ/p,
    β = ∂h/∂t,   γ = h(τ, τ, τ) − h(τ, τ, 0) − τ β,

so the bulk is the affine image β·μ_G + γ of the law μ_G of G (Marchenko–Pastur of ratio 1/c for
isotropic data; the generalized MP law of Silverstein (1995) otherwise), and the low-rank part
gives outliers: one of order n along 1 (h(τ, τ, 0) ≠ 0), or an O(1) spike along 1 that separates
by the Benaych-Georges & Nadakuditi (2011) criterion, and for a Gaussian mixture the spikes of the
class means (information-plus-noise, Benaych-Georges & Nadakuditi 2012, Sec. 3.1; Couillet &
Benaych-Georges 2016, EJS 10, Thm 1 for distance kernels). The derivation, with every O(1) term,
is docs/derivations/kernel_matrix_spectrum.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from solvers import _validation as v
from solvers._results import Diagnostics
from solvers.exceptions import InvalidParameterError
from solvers.kernels import Kernel, KernelProfile, kernel_profile
from solvers.marchenko_pastur import marchenko_pastur, mp_stieltjes
from solvers.sample_covariance import companion_stieltjes, sample_covariance_spectrum

__all__ = ["KernelMatrixSpectrum", "KernelOutlier", "kernel_matrix_spectrum"]

REFERENCE = (
    "El Karoui (2010), Ann. Statist. 38(1), Thms 2.1-2.2 (linearisation); Marchenko & Pastur (1967), Silverstein (1995) "
    "(bulk); Benaych-Georges & Nadakuditi (2011, 2012) and Couillet & Benaych-Georges (2016), EJS 10, Thm 1 (outliers); "
    "docs/derivations/kernel_matrix_spectrum.md"
)
DATA_MODELS = ("isotropic", "population", "gaussian_mixture")
_TINY = 1e-12


@dataclass(frozen=True, slots=True)
class KernelOutlier:
    """One eigenvalue of K outside its bulk.

    Attributes
    ----------
    order
        ``"n"``: the eigenvalue is ``leading_coefficient·n + eigenvalue_offset``; ``"1"``: it is O(1).
    leading_coefficient
        h(τ, τ, 0) for order-n outliers, 0 otherwise.
    eigenvalue_offset
        The O(1) part: the whole limit for order-1 outliers, the correction for order-n ones.
    eigenvalue
        ``leading_coefficient·n + eigenvalue_offset`` (``nan`` for order n without ``n_samples``).
    validity
        ``"limit"`` (the limit as n → ∞), ``"mean"`` (the eigenvalue keeps Gaussian fluctuations of
        standard deviation ``standard_deviation``; this is their mean) or ``"heuristic"`` (not shown to
        agree with simulation).
    standard_deviation
        Standard deviation of the O(1) fluctuation for ``"mean"``, else 0.
    direction
        ``"ones"`` (eigenvector ≈ 1/√n) or ``"class_means"``.
    alignment
        For class-mean spikes, the limit of |⟨û, u⟩|² with the unit vector u of the class indicators
        below; ``nan`` otherwise.
    class_vector
        √n·u on each class (u constant on classes); empty otherwise.
    """

    order: str
    leading_coefficient: float
    eigenvalue_offset: float
    eigenvalue: float
    validity: str
    standard_deviation: float
    direction: str
    alignment: float
    class_vector: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class KernelMatrixSpectrum:
    """The limiting eigenvalue law of the n × n kernel matrix.

    Attributes
    ----------
    x, density, cdf
        Evaluation points, density of the continuous part, CDF (atom included, outliers excluded: they
        carry no mass in the limit).
    support_intervals
        Disjoint intervals of the continuous part, ascending.
    atom_location, atom_mass
        The atom γ of mass (1 − c)⁺ (all the mass when β = 0).
    slope, shift
        β and γ: the bulk of K is the law of βG + γ with G = XXᵀ/p.
    tau, second_moment
        τ = tr Σ/p and s = tr Σ²/p.
    profile
        h and its derivatives at (τ, τ, 0).
    outliers
        Predicted outliers, largest first.
    diagnostics
        The generalized MP solver's state (population data), else ``None``.
    notes
        Remarks: what is not predicted, heuristics, finite-size effects.
    reference
        Papers and the derivation.
    """

    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray
    support_intervals: tuple[tuple[float, float], ...]
    atom_location: float
    atom_mass: float
    slope: float
    shift: float
    tau: float
    second_moment: float
    profile: KernelProfile
    outliers: tuple[KernelOutlier, ...]
    diagnostics: Diagnostics | None
    notes: tuple[str, ...]
    reference: str = REFERENCE


class _GramLaw:
    """The law μ_G of G = XXᵀ/p (n × n): density, CDF, support and g(y) = ∫ μ_G(dt)/(y − t)."""

    def __init__(self, c: float, eigenvalues: np.ndarray | None, weights: np.ndarray | None) -> None:
        self.c, self.t, self.w = c, eigenvalues, weights
        self.atom = max(0.0, 1.0 - c)
        self.diagnostics: Diagnostics | None = None
        if eigenvalues is None:
            law = marchenko_pastur(ratio=1.0 / c, x=[])
            self.intervals: list[tuple[float, float]] = [(law.support_lower, law.support_upper)]
        else:
            general = sample_covariance_spectrum(ratio=c, eigenvalues=eigenvalues, weights=weights, x=[])
            self.intervals = [(a / c, b / c) for a, b in general.support_intervals]

    def evaluate(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Density and CDF of μ_G at y."""
        c = self.c
        if self.t is None:
            law = marchenko_pastur(ratio=1.0 / c, x=y)
            return law.density, law.cdf
        # μ_G = c·μ_S(c ·) + (1 − c)δ₀ with μ_S the law of S = (1/n)XᵀX (p × p).
        general = sample_covariance_spectrum(ratio=c, eigenvalues=self.t, weights=self.w, x=c * y)
        self.diagnostics = general.diagnostics
        cdf = c * general.cdf + (1.0 - c) * (y >= 0)
        return c * c * general.density, np.clip(cdf, 0.0, 1.0)

    def g(self, y: float) -> float:
        """g(y) = ∫ μ_G(dt)/(y − t) = −m_G(y) at a real y off the support."""
        if self.t is None:
            return float(-mp_stieltjes(np.array([complex(y)]), ratio=1.0 / self.c)[0].real)
        m, _ = companion_stieltjes(np.array([complex(self.c * y)]), ratio=self.c, eigenvalues=self.t, weights=self.w)
        return float(-self.c * m[0].real)  # G = (companion matrix)/c, so m_G(y) = c·m̲(cy)

    def gaps(self) -> list[tuple[float, float, bool, bool]]:
        """Open intervals free of spectrum, left to right: (lo, hi, lo is an atom, hi is an atom)."""
        blocks = [(a, b, False) for a, b in self.intervals]
        if self.atom > 0:
            blocks.append((0.0, 0.0, True))
        blocks.sort()
        out, left, left_atom = [], -math.inf, False
        for a, b, is_atom in blocks:
            if a > left:
                out.append((left, a, left_atom, is_atom))
            left, left_atom = max(left, b), is_atom
        out.append((left, math.inf, left_atom, False))
        return out


def _additive_spike_outliers(law: _GramLaw, slope: float, shift: float, theta: float) -> list[float]:
    """Eigenvalues off the bulk of βG + γI + θ uuᵀ (u independent of G): g_G(y) = β/θ, ρ = βy + γ.

    Benaych-Georges & Nadakuditi (2011), Adv. Math. 227, Thm 2.1: g is decreasing on every gap of the
    support, so each gap holds at most one root.
    """
    if abs(theta) < _TINY:
        return []
    if slope == 0.0:
        return [shift + theta]
    target = slope / theta
    scale = max(1.0, *(abs(b) for _, b in law.intervals))
    eps = 1e-9 * scale
    roots = []
    for lo, hi, lo_atom, hi_atom in law.gaps():
        if hi - lo <= 2 * eps:
            continue
        left = lo + eps if math.isfinite(lo) else None
        right = hi - eps if math.isfinite(hi) else None
        g_left = math.inf if lo_atom else (0.0 if left is None else law.g(left))
        g_right = -math.inf if hi_atom else (0.0 if right is None else law.g(right))
        if not g_right < target < g_left:
            continue
        # Bracket the infinite or atom ends, where g behaves like (mass)/(y − end).
        a = left if left is not None else -1.0 / abs(target) - scale
        b = right if right is not None else 1.0 / abs(target) + scale
        while left is None and law.g(a) < target:
            a = 2 * a - scale
        while right is None and law.g(b) > target:
            b = 2 * b + scale
        if lo_atom:
            while law.g(a) < target:
                a = lo + (a - lo) / 16
        if hi_atom:
            while law.g(b) > target:
                b = hi - (hi - b) / 16
        y = optimize.brentq(lambda u: law.g(u) - target, a, b, xtol=1e-13 * scale, rtol=1e-13)
        roots.append(slope * y + shift)
    return roots


def _information_plus_noise(
    c: float, means: np.ndarray, proportions: np.ndarray
) -> list[tuple[float, float, np.ndarray]]:
    """Outliers of G = (W + JMᵀ)(W + JMᵀ)ᵀ/p: (eigenvalue of G, alignment |⟨û, u⟩|², √n·u per class).

    θ² are the eigenvalues of diag(√π) M Mᵀ diag(√π)/c (the squared singular values of JMᵀ/√p); with
    ratio n/p = 1/c the outlier is (1 + θ²)(1/c + θ²)/θ² when θ⁴ > 1/c, with alignment
    1 − (1/c)(1 + θ²)/(θ²(θ² + 1/c)) (Benaych-Georges & Nadakuditi 2012, J. Multivariate Anal. 111, Sec. 3.1).
    """
    root = np.sqrt(proportions)
    gram = (root[:, None] * (means @ means.T) * root[None, :]) / c
    values, vectors = np.linalg.eigh(0.5 * (gram + gram.T))
    ratio_b = 1.0 / c
    out = []
    for theta2, b in zip(values[::-1], vectors.T[::-1], strict=True):
        if theta2 <= _TINY or theta2 * theta2 <= ratio_b:
            continue
        eigenvalue = (1.0 + theta2) * (ratio_b + theta2) / theta2
        alignment = 1.0 - ratio_b * (1.0 + theta2) / (theta2 * (theta2 + ratio_b))
        vector = b / root
        vector = vector * np.sign(vector[np.argmax(np.abs(vector))])
        out.append((eigenvalue, alignment, vector))
    return out


def _iv(kernel, ratio, x, n_samples, data_model, eigenvalues, weights, means, proportions):
    if not isinstance(kernel, Kernel):
        raise InvalidParameterError("kernel", f"`kernel` must be a Kernel, got {type(kernel).__name__}.")
    c = v.positive("ratio", ratio)
    xv = v.finite_array("x", x)
    if n_samples is not None:
        n_samples = v.positive_int("n_samples", n_samples)
    if data_model not in DATA_MODELS:
        raise InvalidParameterError(
            "data_model", f"`data_model` must be one of {', '.join(DATA_MODELS)}; got {data_model!r}."
        )
    t = w = m = pi = None
    if data_model == "population":
        if eigenvalues is None or weights is None:
            raise InvalidParameterError(
                "eigenvalues", "`eigenvalues` and `weights` are required for the population model."
            )
        t = v.finite_array("eigenvalues", eigenvalues)
        w = v.finite_array("weights", weights)
        if t.size == 0 or t.size != w.size or np.any(t <= 0) or np.any(w <= 0) or abs(w.sum() - 1.0) > 1e-9:
            raise InvalidParameterError(
                "weights", "`eigenvalues` > 0 and `weights` > 0 must have the same length, weights summing to 1."
            )
    if data_model == "gaussian_mixture":
        if means is None:
            raise InvalidParameterError("means", "`means` are required for the gaussian_mixture model.")
        m = v.finite_array("means", means, ndim=2)
        k = m.shape[0]
        pi = np.full(k, 1.0 / k) if proportions is None else v.finite_array("proportions", proportions)
        if pi.size != k or np.any(pi <= 0) or abs(pi.sum() - 1.0) > 1e-9:
            raise InvalidParameterError("proportions", f"`proportions` must be {k} positive values summing to 1.")
    return c, xv, n_samples, t, w, m, pi


def kernel_matrix_spectrum(
    *,
    kernel: Kernel,
    ratio: float,
    x,
    n_samples: int | None = None,
    n_features: int | None = None,
    data_model: str = "isotropic",
    eigenvalues=None,
    weights=None,
    means=None,
    proportions=None,
) -> KernelMatrixSpectrum:
    """Limiting eigenvalue law of the n × n kernel matrix K_ij = K(x_i, x_j) (no 1/n), with its outliers.

    Parameters
    ----------
    kernel
        A :class:`solvers.kernels.Kernel`.
    ratio
        c = p/n.
    x
        Points at which to evaluate the density and the CDF.
    n_samples
        n, to place the order-n outlier (optional).
    n_features
        p (optional): with it, a note warns when the diagonal's O(p^{-1/2}) fluctuation is a sizeable
        part of the bulk's width (slow convergence, derivation §3).
    data_model
        ``"isotropic"`` (x = z), ``"population"`` (x = Σ^{1/2}z with the spectrum ``eigenvalues``,
        ``weights`` of Σ) or ``"gaussian_mixture"`` (x = μ_a + z in class a, ``means`` k × d with
        d ≤ p (zero-padded; only μ_aᵀμ_b matter), ``proportions`` π_a, default equal).

    Returns
    -------
    KernelMatrixSpectrum

    Notes
    -----
    Bulk: El Karoui (2010), Ann. Statist. 38(1), Thm 2.1 (inner-product kernels, eq. of M̃ there)
    and Thm 2.2 (distance kernels), written for any h(a, b, t) in
    docs/derivations/kernel_matrix_spectrum.md §2; the law of G is Marchenko–Pastur of ratio 1/c
    (isotropic, mixture) or c·μ_S(c ·) + (1 − c)δ₀ with μ_S the generalized MP law (Silverstein 1995).
    Outliers: §3–§5 of the derivation.
    """
    c, xv, n_samples, t, w, m, pi = _iv(
        kernel, ratio, x, n_samples, data_model, eigenvalues, weights, means, proportions
    )
    tau = float(np.dot(w, t)) if t is not None else 1.0
    s = float(np.dot(w, t * t)) if t is not None else 1.0
    profile = kernel_profile(kernel, tau=tau)
    beta = profile.d_inner
    gamma = profile.diagonal - profile.value - tau * beta
    law = _GramLaw(c, t, w)
    notes: list[str] = []

    # Bulk: the law of βG + γ.
    if beta == 0.0:
        density = np.zeros_like(xv)
        cdf = (xv >= gamma).astype(np.float64)
        intervals: list[tuple[float, float]] = []
        atom_mass = 1.0
        notes.append(
            "∂h/∂t = 0 at (τ, τ, 0): the linear part vanishes and the whole bulk collapses onto γ in the limit "
            "(at finite p it is smeared over O(1/√p) around it)."
        )
    else:
        y = (xv - gamma) / beta
        dens_g, cdf_g = law.evaluate(y)
        density = dens_g / abs(beta)
        cdf = cdf_g if beta > 0 else np.clip(1.0 - cdf_g + law.atom * (y == 0), 0.0, 1.0)
        intervals = sorted((min(beta * a, beta * b) + gamma, max(beta * a, beta * b) + gamma) for a, b in law.intervals)
        atom_mass = law.atom

    if n_features is not None:
        spread = abs(profile.d_diagonal) * math.sqrt(2.0 * s / v.positive_int("n_features", n_features))
        width = max((b - a for a, b in intervals), default=0.0)
        if spread > 0.05 * max(width, _TINY):
            notes.append(
                f"Finite size: at p = {n_features} the diagonal K(x_i, x_i) fluctuates by about {spread:.3g} "
                f"(|d h(a,a,a)/da|·√(2s/p)), {spread / max(width, _TINY):.0%} of the bulk's width: a simulated spectrum is "
                "smeared by that much and converges to this law only like p^(-1/2)."
            )
    outliers = _outliers(profile, law, c, s, n_samples, beta, gamma, m, pi, notes)
    return KernelMatrixSpectrum(
        x=xv,
        density=density,
        cdf=cdf,
        support_intervals=tuple(intervals),
        atom_location=gamma,
        atom_mass=atom_mass,
        slope=beta,
        shift=gamma,
        tau=tau,
        second_moment=s,
        profile=profile,
        outliers=tuple(sorted(outliers, key=lambda o: -o.eigenvalue if math.isfinite(o.eigenvalue) else -math.inf)),
        diagnostics=law.diagnostics,
        notes=tuple(notes),
    )


def _outliers(profile, law, c, s, n_samples, beta, gamma, means, pi, notes) -> list[KernelOutlier]:
    h0, d_a = profile.value, profile.d_norm
    out: list[KernelOutlier] = []
    mean_bar = None if means is None else pi @ means
    # Coefficient of the O(1) spike along the norm fluctuations ψ_i = ‖x_i‖²/p − τ (derivation §4).
    kappa = profile.d_norm_cross - (d_a * d_a / h0 if h0 != 0.0 else 0.0)
    # Finite differences leave ~1e-8 residues: a coefficient below 1e-6 (relative) is 0 (e.g. RBF: f'' − f'²/f = 0).
    psi_spike = abs(kappa) > 1e-6 * max(1.0, abs(h0), abs(profile.d_norm_cross))
    if psi_spike:
        notes.append(
            "The low-rank part also has an O(1) spike along the norm fluctuations ‖x_i‖²/p − τ "
            f"(coefficient {kappa:.6g}·2s/c), which is correlated with G: its eigenvalue is not predicted, "
            "and the other O(1) outliers are labelled heuristic."
        )
    theta_ones = 0.0
    if h0 != 0.0:
        offset = profile.diagonal - h0 + (2.0 * profile.d_norm_norm + 0.5 * profile.d_inner_inner) * s / c
        offset += 2.0 * d_a * d_a * s / (c * h0)
        if means is not None and mean_bar is not None:  # (mean_bar is set exactly when means is)
            offset += beta * float(mean_bar @ mean_bar) / c + 2.0 * d_a * float(pi @ np.sum(means * means, axis=1)) / c
        sd = 2.0 * abs(d_a) * math.sqrt(2.0 * s / c)
        out.append(
            KernelOutlier(
                order="n",
                leading_coefficient=h0,
                eigenvalue_offset=offset,
                eigenvalue=h0 * n_samples + offset if n_samples is not None else math.nan,
                validity="mean" if sd > 0 else "limit",
                standard_deviation=sd,
                direction="ones",
                alignment=math.nan,
                class_vector=(),
            )
        )
        if n_samples is None:
            notes.append("The order-n outlier is h(τ, τ, 0)·n + offset: give `n_samples` to place it.")
    elif d_a != 0.0:
        notes.append(
            "h(τ, τ, 0) = 0 but ∂h/∂a ≠ 0: the low-rank part has two eigenvalues of order ±√n·|∂h/∂a|·√(2s/c), "
            "which are not predicted."
        )
        return out
    else:
        theta_ones = (2.0 * profile.d_norm_norm + 0.5 * profile.d_inner_inner) * s / c
    mean_spikes = []
    if means is not None:
        centred = means - mean_bar if h0 != 0.0 else means  # the order-n spike along 1 projects out the global mean
        mean_spikes = _information_plus_noise(c, centred, pi)
        if not mean_spikes:
            notes.append("No class-mean spike is above the threshold θ⁴ > n/p: no outlier carries the classes.")
    heuristic = psi_spike or (theta_ones != 0.0 and len(mean_spikes) > 0)
    if heuristic and theta_ones != 0.0 and mean_spikes:
        notes.append("The spike along 1 and the class-mean spikes interact; they are computed separately (heuristic).")
    for rho in _additive_spike_outliers(law, beta, gamma, theta_ones):
        out.append(KernelOutlier("1", 0.0, rho, rho, "heuristic" if heuristic else "limit", 0.0, "ones", math.nan, ()))
    if beta == 0.0 and mean_spikes:
        notes.append("β = 0: the class means do not reach the O(1) spectrum at this order.")
        mean_spikes = []
    for eigenvalue, alignment, vector in mean_spikes:
        rho = beta * eigenvalue + gamma
        out.append(
            KernelOutlier(
                "1",
                0.0,
                rho,
                rho,
                "heuristic" if heuristic else "limit",
                0.0,
                "class_means",
                alignment,
                tuple(float(u) for u in vector),
            )
        )
    return out
