"""Conjugate-kernel (CK) limiting spectrum of a random single-layer network, and its outliers.

Conventions of docs/derivations/conjugate_kernel_spectrum.md §1: W (N × p) has i.i.d. N(0, 1) entries, X (p × n)
i.i.d. N(0, 1/p) entries (columns of norm ≈ 1), Σ = σ(WX) (N × n), so every pre-activation is
≈ N(0, 1). The ``"features"`` matrix is K_N = (1/n)ΣΣᵀ (N × N, Pennington–Worah's M = (1/m)YYᵀ) and the
``"gram"`` matrix is K_n = (1/n)ΣᵀΣ (n × n, the talk's matrix); they share their non-zero eigenvalues,
μ_{K_n} = (N/n) μ_{K_N} + (1 − N/n) δ_0.

Dimensions enter through two ratios: ``ratio`` φ = p/n (PW's φ = n₀/m) and ``neurons_per_sample``
r = N/n (PW's φ/ψ, so ψ = p/N = φ/r). The law depends on σ only through θ1 = E[σ(ξ)²] and
θ2 = (E[σ'(ξ)])² of the **centred** activation (derivation §2); it is homogeneous in (θ1, θ2), so it is
solved once for θ1 = 1 and rescaled.

The Stieltjes transform G(z) = ∫ μ_{K_N}(dt)/(z − t) (PW's sign: G ~ 1/z, Im G < 0 on ℂ⁺) solves the
quartic (3) of the derivation, obtained from PW17 Thm 1 by eliminating P and t. Every support edge is
a real root of the quartic's discriminant; the branch on each interval between those roots is labelled
once per law by a sweep from +∞ (derivation §4), so a point costs one vectorised solve of the quartic (Ferrari + Newton).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import scipy.fft
from numpy.polynomial import chebyshev
from numpy.polynomial import polynomial as npoly
from scipy import optimize

from solvers import _validation as v
from solvers._results import Diagnostics
from solvers.activations import Activation, activation_moments, as_activation
from solvers.exceptions import InvalidParameterError

__all__ = [
    "CKActivationConstants",
    "CKOutlier",
    "ConjugateKernelSpectrum",
    "ck_activation_constants",
    "conjugate_kernel_spectrum",
]

Matrix = Literal["gram", "features"]
Distribution = Literal["gaussian", "rademacher", "spherical"]

REFERENCE = (
    "Pennington & Worah (2017), NeurIPS, Thm 1 (quartic in G through P, P_phi, P_psi); Benigni & Péché (2021), "
    "Electron. J. Probab. 26 (LSD for sub-Gaussian W, X); every edge from the discriminant, branch labelled by a "
    "sweep over its real roots: docs/derivations/conjugate_kernel_spectrum.md §3-§4"
)
REFERENCE_OUTLIERS = (
    "Benigni & Péché (2022), arXiv:2201.04753 (at most two outliers, none if E[xi^2 sigma] = 0); "
    "Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111, D-transform; docs/methods/conjugate_kernel.md §4 "
    "(derivation checked by Monte Carlo, not BP22's theorem)"
)

# Root selection on the real axis (docs/derivations/conjugate_kernel_spectrum.md §4): every support edge
# is a real root of the discriminant Δ(z) of the quartic in G; between two consecutive real roots the
# roots in G neither collide nor change their number of real values, so the physical branch keeps one
# label (its rank among the real roots, or "the complex root with Im G < 0"). The labels are decided
# once per law by a sweep from +∞ (G ~ 1/z) down to 0 through every real root b of Δ, comparing the
# roots at b ± δ; the grid then needs one vectorised solve of the quartic and one Newton step.
_PROBE_REL = 1e-7  # probes at b ± δ, δ = 1e-7 b (colliding pair ~3e-4 |G| apart, eigensolver error ~1e-8 |G|)
_PROBE_GAP = 1e-3  # ... and δ ≤ 1e-3 of the distance to the neighbouring root of Δ (narrow gaps)
_REAL_TOL = 1e-7  # a root with |Im G| ≤ 1e-7 |G| counts as real (a pair within ~1e-14 of colliding)
_CLEAR = 30.0  # the nearest root is "the same branch" when the next one is ≥ 30× farther
_EDGE_ZONE = 1e-8  # points within 1e-8 (relative) of a root of Δ may show the colliding pair either way
_FAR = 1e3  # the top interval is labelled at 10³ × the largest root of Δ, where G = 1/z (1 + O(10⁻³))
_HEAL_ROUNDS = 3  # missed roots of Δ found by bisection on the number of real roots, at most this often
_RESIDUAL_TOL = 1e-10  # relative residual |P(G)| / Σ|c_k G^k| counted as converged
# Continuation in Im z (complex arguments only): adaptive steps in log Im z from 50× the support scale.
_START_FACTOR = 50.0
_MAX_STEPS = 2000
_LINEAR_TOL = 1e-12  # θ1 − θ2 ≤ 1e-12 θ1: the linear case (cubic)
_ZERO_THETA2 = 1e-14  # θ2 ≤ 1e-14 θ1: Marchenko–Pastur (quadratic)
# CDF: composite Clenshaw–Curtis in t (x = a + (b − a)((1 − cos t)/2)^k) with adaptive bisection of panels.
_PANEL_NODES = 32
_PANEL_START = 4
_PANEL_TOL = 1e-13  # Chebyshev tail of one panel's mass (absolute; masses add up to ≤ 1)
_PANEL_LEVELS = 30
_FOURTH_MOMENT = {"gaussian": 3.0, "rademacher": 1.0}

_CAVEAT_PAIR = (
    "Heuristic: with Gaussian W and X the two outliers predicted to coincide are split at finite size "
    "(by 1.32, 1.25, 0.77 at N = 1000, 2000, 4000 in the Monte Carlo of docs/methods/conjugate_kernel.md §4) while the mean of the pair "
    "approaches this location; only the mean of the pair was checked, the rate of the splitting is not "
    "established, and the derivation treats the centred part as bi-orthogonally invariant (not proven). "
    "BP22's exact statement was not checked against the paper."
)
_CAVEAT_MEAN = (
    "Heuristic (leading order): the mean E[σ(ξ)]·1_N 1_nᵀ of a non-centred activation adds one eigenvalue "
    "≈ (E σ)² N to both K_N and K_n (docs/methods/conjugate_kernel.md §2: algebra only, not simulated); it grows with N."
)


# --------------------------------------------------------------------------------------------
# activation constants (docs/methods/conjugate_kernel.md §2)


@dataclass(frozen=True, slots=True)
class CKActivationConstants:
    """Gaussian constants of an activation for the CK spectrum (docs/derivations/conjugate_kernel_spectrum.md §2).

    Attributes
    ----------
    theta1
        θ1 = E[σ_c(ξ)²] = Var σ(ξ), σ_c = σ − E σ(ξ) the centred activation (PW's η).
    theta2
        θ2 = (E[σ'(ξ)])² = (E[ξσ(ξ)])² (Stein; PW's ζ); centring does not change it.
    kappa
        κ = E[(ξ² − 1)σ(ξ)] = E[σ''(ξ)], which drives the outliers of docs/methods/conjugate_kernel.md §4.
    mean
        E[σ(ξ)] of the activation as given (0 for a centred one).
    method, error_bound
        How the Gaussian moments were computed (closed form, or trapezoid quadrature with its
        estimated error), from :func:`solvers.activations.activation_moments`.
    reference
        Where the constants are defined.
    """

    theta1: float
    theta2: float
    kappa: float
    mean: float
    method: str
    error_bound: float
    reference: str = (
        "Pennington & Worah (2017), NeurIPS, constants η, ζ of Thm 1 (here θ1, θ2); Benigni & Péché (2021) for κ; "
        "docs/methods/conjugate_kernel.md §2"
    )


def ck_activation_constants(*, activation: Activation | str) -> CKActivationConstants:
    """θ1 = Var σ(ξ), θ2 = (E σ'(ξ))², κ = E[(ξ² − 1)σ(ξ)] for ξ ~ N(0, 1).

    Parameters
    ----------
    activation
        An activation of the catalogue of :mod:`solvers.activations` (or its name or dict form).

    Returns
    -------
    CKActivationConstants

    Notes
    -----
    Pennington & Worah (2017), NeurIPS, eqs. (5)-(6) (η and ζ with σ_w = σ_x = 1), for the centred
    activation as prescribed by the derivation's §2: a non-centred σ has the bulk of σ − E σ, so
    θ1 is the variance. Moments by closed forms or the trapezoid rule of ``activation_moments``.
    """
    moments = activation_moments(activation=activation)
    theta1 = max(moments.mean_square - moments.mean**2, 0.0)
    theta2 = moments.mean_derivative**2
    # θ1 ≥ θ2 (Cauchy–Schwarz, ξ ⟂ 1); equality iff σ is linear: snap rounding to the linear case.
    if theta2 > theta1 or theta1 - theta2 <= _LINEAR_TOL * theta1:
        theta2 = theta1
    return CKActivationConstants(
        theta1=theta1,
        theta2=theta2,
        kappa=moments.second_hermite,
        mean=moments.mean,
        method=moments.method,
        error_bound=moments.error_bound,
    )


# --------------------------------------------------------------------------------------------
# the quartic (derivation §3), normalised to θ1 = 1, θ2 = τ


_OMEGA = np.exp(2j * np.pi / 3 * np.arange(3))  # cube roots of unity


def _quartic_roots(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Roots of c₄G⁴ + … + c₀ (``c``: (5, M), ascending) by Ferrari's method in complex arithmetic, then two
    Newton steps on each; ``ok`` where every root has relative residual |P(G)|/Σ|c_k G^k| ≤ 1e-11 and the
    four are pairwise distinct to 1e-6 (relative)."""
    c = np.asarray(c, dtype=np.complex128)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a, b, cc, d = c[3] / c[4], c[2] / c[4], c[1] / c[4], c[0] / c[4]
        a2 = a * a
        p = b - 3.0 * a2 / 8.0  # depressed quartic y⁴ + p y² + q y + r, G = y − a/4
        q = cc - a * b / 2.0 + a2 * a / 8.0
        r = d - a * cc / 4.0 + a2 * b / 16.0 - 3.0 * a2 * a2 / 256.0
        # resolvent cubic m³ + p m² + (p²/4 − r) m − q²/8 = 0 by Cardano (m = t − p/3); the root of largest modulus
        e2 = p * p / 4.0 - r
        big_p = e2 - p * p / 3.0
        big_q = 2.0 * p**3 / 27.0 - p * e2 / 3.0 - q * q / 8.0
        root = np.sqrt(big_q * big_q / 4.0 + big_p**3 / 27.0)
        u = np.where(
            np.abs(-big_q / 2.0 + root) >= np.abs(-big_q / 2.0 - root), -big_q / 2.0 + root, -big_q / 2.0 - root
        )
        cube = u ** (1.0 / 3.0)
        t = _OMEGA[None, :] * cube[:, None] - big_p[:, None] / (3.0 * _OMEGA[None, :] * cube[:, None])
        t = np.where((cube == 0)[:, None], 0.0, t)
        m = t - p[:, None] / 3.0
        m = m[np.arange(m.shape[0]), np.argmax(np.abs(m), axis=1)]
        s = np.sqrt(2.0 * m)
        w = np.where(s != 0, q / s, 0.0)
        r1 = np.sqrt(-(2.0 * p + 2.0 * m + 2.0 * w))
        r2 = np.sqrt(-(2.0 * p + 2.0 * m - 2.0 * w))
        g = np.stack([s + r1, s - r1, -s + r2, -s - r2], axis=1) / 2.0 - (a / 4.0)[:, None]
        coef = c.T[:, :, None]
        for _ in range(2):
            value = coef[:, 4] * g + coef[:, 3]
            slope = coef[:, 4] * np.ones_like(g)
            for k in (2, 1, 0):
                slope = slope * g + value
                value = value * g + coef[:, k]
            new = g - value / slope
            g = np.where(np.isfinite(new), new, g)
        value = coef[:, 4] * g + coef[:, 3]
        for k in (2, 1, 0):
            value = value * g + coef[:, k]
        size = np.abs(g)
        scale = np.abs(coef[:, 0]) + size * (
            np.abs(coef[:, 1]) + size * (np.abs(coef[:, 2]) + size * (np.abs(coef[:, 3]) + size * np.abs(coef[:, 4])))
        )
        ok = np.all(np.abs(value) <= 1e-13 * scale, axis=1) & np.all(np.isfinite(g), axis=1)
        gap = np.where(np.eye(4, dtype=bool)[None], np.inf, np.abs(g[:, :, None] - g[:, None, :]))
        ok &= np.all(gap.min(axis=2) > 1e-4 * size, axis=1)
    return g, ok


_REAL, _COMPLEX, _COMPLEX2 = (
    0,
    1,
    2,
)  # physical branch on an interval: a real root, the complex root with Im G < 0, one of two


@dataclass(frozen=True, slots=True)
class _Interval:
    """An interval between consecutive real roots of Δ and the label of the physical branch on it."""

    lo: float
    hi: float
    kind: int  # _REAL, _COMPLEX or _COMPLEX2
    n_real: int  # number of real roots G there
    rank: int  # _REAL: rank of G among them, ascending
    g_lo: complex  # G at lo + δ (nan when lo = 0)
    g_hi: complex  # G at hi − δ (at the far point for the top interval)


class _Law:
    """The quartic (3) of the derivation for θ1 = 1, θ2 = τ, φ = p/n, r = N/n, and everything derived from it."""

    def __init__(self, tau: float, phi: float, r: float) -> None:
        self.tau, self.phi, self.r = tau, phi, r
        self.psi = phi / r
        self.linear = tau == 1.0
        self.mp = tau == 0.0
        self.degree = 2 if self.mp else 3 if self.linear else 4
        t, psi = tau, self.psi
        q = t * (1.0 - t)
        # c_k(z) as ascending polynomials in z (docs/derivations/conjugate_kernel_spectrum.md eq. (3)).
        self.poly = [
            np.array([-psi]),
            np.array([psi * (r - 1.0) + t * (1.0 - r), psi]),
            np.array([(1.0 - r) ** 2 * q, -psi * r + (2.0 * r - 1.0) * t]),
            np.array([0.0, 2.0 * r * (1.0 - r) * q, -r * t]),
            np.array([0.0, 0.0, r * r * q]),
        ][: self.degree + 1]
        # the same as a (degree + 1) × 3 table: c_k(z) = A[k, 0] + A[k, 1] z + A[k, 2] z² (one broadcast per call)
        self._table = np.zeros((self.degree + 1, 3))
        for k, p in enumerate(self.poly):
            self._table[k, : p.size] = p
        # Upper bound of the spectrum: K_N is a sample covariance of ratio r with population
        # C = τ WWᵀ/p + (1 − τ) I (Gaussian equivalent), ‖C‖ → τ(1 + √(N/p))² + 1 − τ.
        c_norm = t * (1.0 + math.sqrt(1.0 / psi)) ** 2 + 1.0 - t
        self.scale = c_norm * (1.0 + math.sqrt(r)) ** 2
        rank = min(1.0, phi) / r if self.linear else 1.0 / r  # min(n, p)/N if linear, else n/N
        self.atom = max(0.0, 1.0 - rank)
        self._intervals: tuple[_Interval, ...] | None = None
        self._support: tuple[tuple[float, float], ...] | None = None
        self._extra_roots: list[float] = []
        self._far_isolated = True
        self.label_diag = Diagnostics(0, 0.0, True)
        self.label_notes: tuple[str, ...] = ()
        self._cdf_parts: list[tuple[float, float, int, np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._cdf_scale = 1.0
        self.cdf_diag = Diagnostics(0, 0.0, True)
        self.cdf_notes: tuple[str, ...] = ()

    # ---- polynomial evaluation ----------------------------------------------------------
    def coefficients(self, z: np.ndarray) -> np.ndarray:
        """c_k(z), shape (degree + 1, M), ascending in k (real for real z)."""
        a = self._table
        z = np.asarray(z)[None, :]
        return a[:, :1] + z * (a[:, 1:2] + z * a[:, 2:3])

    def residual(self, g: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(G), ∂P/∂G and the scale Σ_k |c_k G^k| at each point."""
        c = self.coefficients(z)
        value = np.zeros_like(g)
        slope = np.zeros_like(g)
        for k in range(self.degree, -1, -1):  # Horner for P and P'
            slope = slope * g + value
            value = value * g + c[k]
        powers = np.abs(g)[None, :] ** np.arange(self.degree + 1)[:, None]
        return value, slope, np.sum(np.abs(c) * powers, axis=0)

    def _dz(self, g: np.ndarray, z: np.ndarray) -> np.ndarray:
        """∂P/∂z at (G, z)."""
        a = self._table
        dc = a[:, 1:2] + 2.0 * np.asarray(z)[None, :] * a[:, 2:3]
        out = np.zeros_like(g)
        for k in range(self.degree, -1, -1):
            out = out * g + dc[k]
        return out

    def roots(self, z: np.ndarray) -> np.ndarray:
        """All roots in G at each z, shape (M, degree).

        Quartic: Ferrari's formulas in complex arithmetic and two Newton steps on every root (about
        5× cheaper than an eigensolver per point); a point where any root misses a relative residual of
        1e-11, or two roots come within 1e-6 of each other (near an edge, where Newton stalls on the
        nearly double root), is redone as the eigenvalues of the companion matrix. Those are also used
        for the cubic and the quadratic; for real z the companion matrix is real, and its eigensolver
        returns real roots exactly real and complex ones in exact conjugate pairs.
        """
        c = self.coefficients(z)
        if self.degree == 4:
            g, ok = _quartic_roots(c)
            if np.all(ok):
                return g
            g[~ok] = self._companion_roots(c[:, ~ok])
            return g
        return self._companion_roots(c)

    def _companion_roots(self, c: np.ndarray) -> np.ndarray:
        d = self.degree
        comp = np.zeros((c.shape[1], d, d), dtype=c.dtype)
        comp[:, 0, :] = -(c[d - 1 :: -1] / c[d]).T
        idx = np.arange(d - 1)
        comp[:, idx + 1, idx] = 1.0
        return np.linalg.eigvals(comp).astype(np.complex128, copy=False)

    # ---- the real roots of the discriminant (candidate edges) ---------------------------------
    def discriminant(self, magnitude: bool = False) -> np.ndarray:
        """Discriminant in G of the quartic (cubic, quadratic) as an ascending polynomial in z.

        With ``magnitude=True``: the same sum with every term and coefficient replaced by its absolute
        value, a bound on the rounding of each coefficient (exact zeros, e.g. the factor z⁴, come out
        as ~1e-27 otherwise and create spurious edges near 0).
        """

        def prod(*ps):
            out = np.ones(1)
            for p in ps:
                out = np.convolve(out, np.abs(p) if magnitude else p)
            return out

        def lin(*terms):
            out = np.zeros(
                2 * self.degree - 1
            )  # deg_z Δ ≤ 2·degree − 2 (each c_k has degree ≤ 2 in z; checked by shape)
            for coef, ps in terms:
                term = (abs(coef) if magnitude else coef) * prod(*ps)
                out = out if out.size >= term.size else np.r_[out, np.zeros(term.size - out.size)]
                out[: term.size] += term
            return out

        if self.degree == 2:
            c0, c1, c2 = self.poly
            return lin((1, (c1, c1)), (-4, (c2, c0)))
        if self.degree == 3:
            d, c, b, aa = self.poly  # aG³ + bG² + cG + d
            return lin(
                (18, (aa, b, c, d)), (-4, (b, b, b, d)), (1, (b, b, c, c)), (-4, (aa, c, c, c)), (-27, (aa, aa, d, d))
            )
        e, d, c, b, aa = self.poly
        return lin(
            (256, (aa, aa, aa, e, e, e)),
            (-192, (aa, aa, b, d, e, e)),
            (-128, (aa, aa, c, c, e, e)),
            (144, (aa, aa, c, d, d, e)),
            (-27, (aa, aa, d, d, d, d)),
            (144, (aa, b, b, c, e, e)),
            (-6, (aa, b, b, d, d, e)),
            (-80, (aa, b, c, c, d, e)),
            (18, (aa, b, c, d, d, d)),
            (16, (aa, c, c, c, c, e)),
            (-4, (aa, c, c, c, d, d)),
            (-27, (b, b, b, b, e, e)),
            (18, (b, b, b, c, d, e)),
            (-4, (b, b, b, d, d, d)),
            (-4, (b, b, c, c, c, e)),
            (1, (b, b, c, c, d, d)),
        )

    def discriminant_roots(self) -> np.ndarray:
        """Every positive real root of Δ(z), ascending (the candidate edges): those of the polynomial solver
        and those found by bisection when it missed one (:meth:`intervals`)."""
        real = np.sort(np.concatenate([self._polynomial_roots(), self._extra_roots]))
        if real.size > 1:  # one root per edge: a double root of Δ may come out as two copies
            real = real[np.r_[True, np.diff(real) > 1e-12 * real[1:]]]
        return real

    def _polynomial_roots(self) -> np.ndarray:
        """The positive real roots of Δ(z) from the companion matrix of its coefficients, Newton-polished."""
        disc = self.discriminant()
        bound = self.discriminant(magnitude=True)
        disc = np.where(np.abs(disc) <= 1e-12 * bound, 0.0, disc)
        nz = np.flatnonzero(disc)
        # drop the exact factor z^k (the atom and the degree drop at z = 0), then trailing zeros
        disc = npoly.polytrim(disc[nz[0] :], tol=0.0) if nz.size else np.array([0.0])
        cand = npoly.polyroots(disc) if disc.size > 1 else np.array([], dtype=np.complex128)
        real = cand[np.abs(cand.imag) <= 1e-6 * np.abs(cand)].real
        real = real[real > 0.0]
        deriv = npoly.polyder(disc)
        for _ in range(4):  # polish the simple roots of the discriminant
            with np.errstate(divide="ignore", invalid="ignore"):
                step = npoly.polyval(real, disc) / npoly.polyval(real, deriv)
            step = np.where(np.isfinite(step) & (np.abs(step) < 1e-6 * real), step, 0.0)
            real = real - step
        return real

    # ---- labels of the physical branch (the sweep) --------------------------------------------
    def _label(self, roots: np.ndarray, g: complex) -> tuple[int, int, int]:
        """(kind, number of real roots, rank) of the root ``g`` among ``roots`` at one point."""
        realish = np.abs(roots.imag) <= _REAL_TOL * np.abs(roots)
        n_real = int(np.count_nonzero(realish))
        if abs(g.imag) <= _REAL_TOL * abs(g):
            reals = np.sort(roots[realish].real)
            return _REAL, n_real, int(np.argmin(np.abs(reals - g.real)))
        return (_COMPLEX if n_real == self.degree - 2 else _COMPLEX2), n_real, 0

    def _across(self, right: np.ndarray, left: np.ndarray, g: complex, kind: int, b: float, delta: float) -> complex:
        """The physical root at b − δ given its value ``g`` at b + δ (``kind`` above b).

        A root of the quartic that does not take part in the collision at b moves by O(δ): the nearest
        root on the left, ≥ ``_CLEAR``× closer than any other. Otherwise G is one of the colliding pair:
        the one with Im G < 0 if the pair is complex (the support continues or starts below b); the
        larger if it is real below a support (G' = −∫ μ(dt)/(x − t)² < 0 in a gap, so G grows leftwards
        from the edge like +√(b − x)); the one continuing G's slope for a real tangential crossing.
        """
        dist = np.abs(left - g)
        order = np.argsort(dist)
        if dist[order[1]] >= _CLEAR * dist[order[0]]:
            return complex(left[order[0]])
        pair = left[order[:2]]
        if np.any(np.abs(pair.imag) > _REAL_TOL * np.abs(pair)):
            return complex(pair[np.argmin(pair.imag)])
        if kind != _REAL:
            return complex(pair[np.argmax(pair.real)])
        gg, zz = np.array([g]), np.array([complex(b + delta)])
        _, slope_g, _ = self.residual(gg, zz)
        predicted = g + 2.0 * delta * self._dz(gg, zz)[0] / slope_g[0]  # G(b − δ) ≈ G(b + δ) − 2δ G'
        return complex(pair[np.argmin(np.abs(pair - predicted))])

    def _sweep(self, edges: np.ndarray) -> tuple[list[_Interval], list[tuple[float, float]]]:
        """Labels of every interval between the roots ``edges`` of Δ, from +∞ down to 0.

        Returns the intervals, ascending, and the pairs of points between which the number of real roots
        changes although no root of Δ lies between them (a missed root, to be found by bisection).
        """
        top = float(edges[-1]) if edges.size else self.scale
        far = _FAR * max(top, 1.0)
        roots_far = self.roots(np.array([far]))[0]
        dist = np.abs(roots_far - 1.0 / far)
        order = np.argsort(dist)
        g = complex(roots_far[order[0]].real)  # G(x) = 1/x (1 + O(1/x)) for x → +∞
        self._far_isolated = bool(dist[order[1]] >= _CLEAR * dist[order[0]])  # never seen otherwise; reported
        kind, n_real, rank = self._label(roots_far, g)
        n = edges.size
        below = np.r_[0.0, edges[:-1]] if n else np.array([])
        above = np.r_[edges[1:], np.inf] if n else np.array([])
        delta = np.minimum(_PROBE_REL * edges, _PROBE_GAP * np.minimum(edges - below, above - edges))
        right = self.roots(edges + delta) if n else np.empty((0, self.degree))
        left = self.roots(edges - delta) if n else np.empty((0, self.degree))
        intervals: list[_Interval] = []
        missed: list[tuple[float, float]] = []
        hi, g_hi, x_hi, n_hi = math.inf, g, far, n_real
        for k in range(n - 1, -1, -1):
            b = float(edges[k])
            g_plus = self._pick_one(right[k], kind, n_real, rank, g_hi)
            n_plus = int(np.count_nonzero(np.abs(right[k].imag) <= _REAL_TOL * np.abs(right[k])))
            if n_plus != n_hi:
                missed.append((b + delta[k], x_hi))
            intervals.append(_Interval(b, hi, kind, n_real, rank, g_plus, g_hi))
            g_minus = self._across(right[k], left[k], g_plus, kind, b, float(delta[k]))
            kind, n_real, rank = self._label(left[k], g_minus)
            hi, g_hi, x_hi, n_hi = b, g_minus, b - float(delta[k]), n_real
        # the first interval (0, b_1): check the count of real roots near 0 too
        x0 = 1e-3 * (hi if math.isfinite(hi) else top)
        roots0 = self.roots(np.array([x0]))[0]
        if int(np.count_nonzero(np.abs(roots0.imag) <= _REAL_TOL * np.abs(roots0))) != n_hi:
            missed.append((x0, x_hi))
        intervals.append(_Interval(0.0, hi, kind, n_real, rank, complex(math.nan, math.nan), g_hi))
        intervals.reverse()
        return intervals, missed

    def _pick_one(self, roots: np.ndarray, kind: int, n_real: int, rank: int, ref: complex) -> complex:
        g, _ = self._pick(roots[None, :], np.array([kind]), np.array([n_real]), np.array([rank]), np.array([ref]))
        return complex(g[0])

    def _pick(self, roots, kind, n_real, rank, ref) -> tuple[np.ndarray, np.ndarray]:
        """The physical root at each point from its interval's label; ``mismatch`` where the roots there
        do not show the interval's pattern (a pair within ~1e-14 of colliding near an end, or a missed
        root of Δ), in which case the root nearest to ``ref`` (G at the nearer end) is taken."""
        m = roots.shape[0]
        rows = np.arange(m)
        size = np.abs(roots)
        realish = np.abs(roots.imag) <= _REAL_TOL * size
        count = np.count_nonzero(realish, axis=1)
        ordered = np.sort(np.where(realish, roots.real, np.inf), axis=1)
        g_real = ordered[rows, np.clip(rank, 0, self.degree - 1)]
        ok_real = (kind == _REAL) & (count == n_real)
        negative = roots.imag < -_REAL_TOL * size
        g_complex = roots[rows, np.argmin(np.where(negative, roots.imag, np.inf), axis=1)]
        ok_complex = (kind == _COMPLEX) & (count == n_real) & (np.count_nonzero(negative, axis=1) == 1)
        g = np.where(ok_real, g_real + 0j, g_complex)
        mismatch = ~(ok_real | ok_complex)
        if np.any(mismatch):
            near = roots[mismatch][
                np.arange(np.count_nonzero(mismatch)), np.argmin(np.abs(roots[mismatch] - ref[mismatch, None]), axis=1)
            ]
            near = np.where(kind[mismatch] == _REAL, near.real + 0j, near.real - 1j * np.abs(near.imag))
            g[mismatch] = near
        return g, mismatch

    def intervals(self) -> tuple[_Interval, ...]:
        """The labelled intervals (cached); roots of Δ missed by the polynomial solver are found by
        bisection on the number of real roots and the sweep repeated."""
        if self._intervals is not None:
            return self._intervals
        notes: list[str] = []
        converged = True
        for round_ in range(_HEAL_ROUNDS + 1):
            edges = self.discriminant_roots()
            intervals, missed = self._sweep(edges)
            if not missed:
                break
            if round_ == _HEAL_ROUNDS:
                converged = False
                notes.append(
                    f"The number of real roots of the quartic changes between {len(missed)} pair(s) of points with no "
                    "root of its discriminant between them; the labels there may be wrong."
                )
                break
            for lo, hi in missed:
                self._extra_roots.append(self._bisect_count(lo, hi))
        if not self._far_isolated:
            converged = False
            notes.append("The root G ~ 1/z was not isolated at the far point: the labels may be wrong.")
        self._intervals = tuple(intervals)
        self.label_diag = Diagnostics(round_ + 1, 0.0, converged)
        self.label_notes = tuple(notes)
        return self._intervals

    def _bisect_count(self, lo: float, hi: float) -> float:
        """A point where the number of real roots changes between ``lo`` and ``hi`` (a root of Δ)."""

        def count(x: float) -> int:
            rts = self.roots(np.array([x]))[0]
            return int(np.count_nonzero(np.abs(rts.imag) <= _REAL_TOL * np.abs(rts)))

        c_lo = count(lo)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if hi - lo <= 1e-14 * hi or mid in (lo, hi):
                break
            if count(mid) == c_lo:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    # ---- boundary values on the real axis ---------------------------------------------------
    def boundary(self, x: np.ndarray) -> tuple[np.ndarray, Diagnostics, int]:
        """G(x + i0) at real x > 0, vectorised: all roots (:meth:`roots`), the interval's label,
        one guarded Newton step. Returns G, diagnostics, and the number of points away from every root
        of Δ whose roots did not show their interval's pattern (never expected)."""
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return np.empty(0, np.complex128), Diagnostics(0, 0.0, True), 0
        ivs = self.intervals()
        lo = np.array([iv.lo for iv in ivs])
        hi = np.array([iv.hi for iv in ivs])
        idx = np.clip(np.searchsorted(lo, x, side="right") - 1, 0, len(ivs) - 1)
        kind = np.array([iv.kind for iv in ivs])[idx]
        n_real = np.array([iv.n_real for iv in ivs])[idx]
        rank = np.array([iv.rank for iv in ivs])[idx]
        g_lo = np.array([iv.g_lo for iv in ivs])[idx]
        g_hi = np.array([iv.g_hi for iv in ivs])[idx]
        lo_x, hi_x = lo[idx], hi[idx]
        ref = np.where((x - lo_x < hi_x - x) & (lo_x > 0), g_lo, g_hi)
        roots = self.roots(x)
        g, mismatch = self._pick(roots, kind, n_real, rank, ref)
        zone = _EDGE_ZONE * x
        interior = mismatch & (x - lo_x > zone) & ((hi_x - x) > zone)
        g = self._polish(g, x, kind)
        value, _, size = self.residual(g, x.astype(np.complex128))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(size > 0, np.abs(value) / size, 0.0)
        worst = float(np.max(np.where(np.isfinite(rel), rel, np.inf), initial=0.0))
        wrong = int(np.count_nonzero(interior))
        diag = Diagnostics(
            iterations=2,
            residual=worst,
            converged=bool(worst <= _RESIDUAL_TOL and wrong == 0 and self.label_diag.converged),
        )
        return g, diag, wrong

    def _polish(self, g: np.ndarray, x: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """One Newton step on the quartic at real x, kept only if it lowers the residual and moves G by
        less than 1e-3 |G| (near an edge the pair is nearly double and Newton is ill-conditioned)."""
        z = x.astype(np.complex128)
        value, slope, _ = self.residual(g, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = g - value / slope
        new = np.where(kind == _REAL, new.real + 0j, new.real + 1j * np.minimum(new.imag, 0.0))
        new_value, _, _ = self.residual(np.where(np.isfinite(new), new, g), z)
        ok = np.isfinite(new) & (np.abs(new - g) <= 1e-3 * np.abs(g)) & (np.abs(new_value) < np.abs(value))
        return np.where(ok, new, g)

    def density(self, x: np.ndarray) -> tuple[np.ndarray, Diagnostics, int]:
        """Density of the continuous part of μ_{K_N} at real x (normalised units): −Im G(x + i0)/π inside
        the support, exactly 0 outside it (where G(x + i0) is real)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        inside = self.inside(x) & (x > 0)
        if not np.any(inside):
            return out, Diagnostics(0, 0.0, self.label_diag.converged), 0
        g, diag, wrong = self.boundary(x[inside])
        out[inside] = np.maximum(-g.imag / math.pi, 0.0)
        return out, diag, wrong

    def inside(self, x: np.ndarray) -> np.ndarray:
        """Whether each x lies in the (closed) support."""
        out = np.zeros(np.shape(x), dtype=bool)
        for lo, hi in self.support():
            out |= (x >= lo) & (x <= hi)
        return out

    def support(self) -> tuple[tuple[float, float], ...]:
        """Intervals of the continuous part: the labelled intervals whose branch is complex, merged
        across roots of Δ at which the physical branch does not take part in the collision."""
        if self._support is not None:
            return self._support
        out: list[list[float]] = []
        for iv in self.intervals():
            if iv.kind == _REAL:
                continue
            if out and out[-1][1] == iv.lo:
                out[-1][1] = iv.hi
            else:
                out.append([iv.lo, iv.hi])
        self._support = tuple((float(lo), float(hi)) for lo, hi in out)
        return self._support

    def edge_value(self, edge: float) -> float:
        """G at a real edge: the real double root, i.e. the real root of ∂P/∂G nearest G(edge + i0)."""
        g, _, _ = self.boundary(np.array([edge]))
        c = self.coefficients(np.array([edge]))[:, 0]
        deriv = np.array([k * c[k] for k in range(1, self.degree + 1)])
        crit = npoly.polyroots(deriv)
        crit = crit[np.abs(crit.imag) <= 1e-6 * np.maximum(np.abs(crit), 1e-300)].real
        if crit.size == 0:
            return float(g[0].real)
        return float(crit[np.argmin(np.abs(crit - g[0]))])

    # ---- complex arguments: continuation in Im z --------------------------------------------
    def stieltjes(self, z: np.ndarray) -> tuple[np.ndarray, Diagnostics]:
        """G(z) for Im z > 0 by predictor–corrector continuation down from Im z = 50 × the support scale.

        Each step predicts G(z + Δz) ≈ G + Δz G'(z) (G' = −∂_zP/∂_GP) and takes the root nearest the
        prediction only if it is within 1/4 of the distance to the next root and within 1/10 of the step
        G moved (or 1e-8 |G|): otherwise the step in log Im z is halved (it grows by 1.3 after a success). The physical
        branch is analytic in ℂ⁺, so it never meets another root on the way.
        """
        z = np.asarray(z, dtype=np.complex128)
        x, y = z.real, z.imag
        top = max(self.scale, float(self.discriminant_roots()[-1]) if self.discriminant_roots().size else 0.0)
        y0 = np.maximum(_START_FACTOR * np.maximum(top, np.abs(x)), y)
        s, s_t = np.log(y0), np.log(y)
        z_cur = x + 1j * y0
        roots = self.roots(z_cur)
        g = roots[np.arange(z.size), np.argmin(np.abs(roots - 1.0 / z_cur[:, None]), axis=1)]
        h = np.maximum((s - s_t) / 16.0, 1e-3)
        steps = 0
        while steps < _MAX_STEPS:
            active = s > s_t
            if not np.any(active):
                break
            steps += 1
            a = np.flatnonzero(active)
            s_new = np.maximum(s[a] - h[a], s_t[a])
            z_new = x[a] + 1j * np.exp(s_new)
            value, slope_g, _ = self.residual(g[a], z_cur[a])
            predicted = g[a] - (z_new - z_cur[a]) * self._dz(g[a], z_cur[a]) / slope_g
            rts = self.roots(z_new)
            dist = np.sort(np.abs(rts - predicted[:, None]), axis=1)
            pick = rts[np.arange(a.size), np.argmin(np.abs(rts - predicted[:, None]), axis=1)]
            ok = (dist[:, 0] <= 0.25 * dist[:, 1]) & (
                dist[:, 0] <= np.maximum(0.1 * np.abs(predicted - g[a]), 1e-8 * np.abs(g[a]))
            )
            acc = a[ok]
            g[acc], s[acc], z_cur[acc] = pick[ok], s_new[ok], z_new[ok]
            h[acc] *= 1.3
            h[a[~ok]] *= 0.5
        reached = s <= s_t
        for _ in range(2):
            value, slope_g, _ = self.residual(g, z)
            with np.errstate(divide="ignore", invalid="ignore"):
                new = g - value / slope_g
            g = np.where(np.isfinite(new) & (np.abs(new - g) <= 1e-6 * np.abs(g)), new, g)
        value, _, size = self.residual(g, z)
        worst = float(np.max(np.abs(value) / size, initial=0.0))
        return g, Diagnostics(steps, worst, bool(np.all(reached) and worst <= _RESIDUAL_TOL))

    # ---- CDF: composite Chebyshev antiderivative of ρ(x(t)) x'(t), x = a + (b − a)((1 − cos t)/2)^k ----
    def _build_cdf(self) -> None:
        """Panels in t ∈ [0, π] on every support interval, bisected until the Chebyshev tail of the integrand
        on each is below ``_PANEL_TOL`` (Clenshaw–Curtis with adaptive splitting; the substitution makes
        square-root edges smooth, and a narrow peak inside an interval gets small panels)."""
        pieces = []
        support = self.support()
        m = _PANEL_NODES
        u = np.cos(math.pi * (np.arange(m) + 0.5) / m)  # Chebyshev points of the first kind, descending
        pending = [
            (j, math.pi * i / _PANEL_START, math.pi * (i + 1) / _PANEL_START)
            for j in range(len(support))
            for i in range(_PANEL_START)
        ]
        accepted: list[tuple[int, float, float, np.ndarray]] = []
        evaluations, levels, worst, converged = 0, 0, 0.0, True
        while pending:
            levels += 1
            j = np.array([p[0] for p in pending])
            t0 = np.array([p[1] for p in pending])
            t1 = np.array([p[2] for p in pending])
            half = 0.5 * (t1 - t0)
            t = (0.5 * (t0 + t1))[:, None] + half[:, None] * u[None, :]
            a = np.array([support[i][0] for i in j])[:, None]
            b = np.array([support[i][1] for i in j])[:, None]
            power = np.where(a == 0.0, 3, 1)
            values = self._integrand(t, a, b, power) * half[:, None]  # d(mass)/du on the panel
            evaluations += values.size
            coef = scipy.fft.dct(values, type=2, axis=1) / m
            coef[:, 0] *= 0.5
            tail = np.sum(np.abs(coef[:, -3:]), axis=1)
            last = levels >= _PANEL_LEVELS
            keep = (tail <= _PANEL_TOL) | last
            if last and not np.all(tail <= _PANEL_TOL):
                converged = False
            worst = max(worst, float(np.max(tail[keep], initial=0.0)))
            nxt = []
            for i in range(len(pending)):
                if keep[i]:
                    accepted.append((int(j[i]), float(t0[i]), float(t1[i]), coef[i]))
                else:
                    mid = 0.5 * (t0[i] + t1[i])
                    nxt += [(int(j[i]), float(t0[i]), mid), (int(j[i]), mid, float(t1[i]))]
            pending = nxt
        total = 0.0
        for i, (lo, hi) in enumerate(support):
            panels = sorted((p for p in accepted if p[0] == i), key=lambda p: p[1])
            edges = np.array([p[1] for p in panels] + [panels[-1][2]])
            anti = chebyshev.chebint(np.array([p[3] for p in panels]), lbnd=-1.0, axis=1)
            mass = np.sum(anti, axis=1)  # T_k(1) = 1
            base = np.r_[0.0, np.cumsum(mass)]
            pieces.append((lo, hi, 3 if lo == 0.0 else 1, edges, anti, base))
            total += float(base[-1])
        expected = 1.0 - self.atom
        error = abs(total - expected)
        notes = []
        if error > 1e-6:
            notes.append(
                f"The continuous mass integrates to {total:.8f} instead of 1 − atom = {expected:.8f}; "
                "the CDF is renormalised to it."
            )
        self._cdf_parts = pieces
        self._cdf_scale = expected / total if total > 0 else 0.0
        self.cdf_diag = Diagnostics(evaluations, max(error, worst), converged and error <= 1e-6)
        self.cdf_notes = tuple(notes)

    def _integrand(self, t: np.ndarray, a, b, power) -> np.ndarray:
        """ρ(x(t)) x'(t) for x = a + (b − a) s^k, s = (1 − cos t)/2: smooth in t at square-root edges (k = 1) and
        at a hard edge 0 where ρ ~ x^(−1/2) or x^(−2/3) (k = 3, linear case with two equal dimensions)."""
        half = 0.5 * (1.0 - np.cos(t))
        x = a + (b - a) * half**power
        rho = np.zeros_like(x)
        pos = x > 0
        if np.any(pos):
            g, _, _ = self.boundary(x[pos])
            rho[pos] = np.maximum(-g.imag / math.pi, 0.0)
        return rho * (b - a) * power * half ** (power - 1) * 0.5 * np.sin(t)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """CDF of μ_{K_N} (atom included) at real x, normalised units."""
        if self._cdf_parts is None:
            self._build_cdf()
        x = np.asarray(x, dtype=np.float64)
        out = np.where(x >= 0.0, self.atom, 0.0)
        assert self._cdf_parts is not None  # _build_cdf sets it
        for a, b, power, edges, anti, base in self._cdf_parts:
            out = out + np.where(x >= b, base[-1] * self._cdf_scale, 0.0)
            inside = (x > a) & (x < b)
            if not np.any(inside):
                continue
            s = np.clip((x[inside] - a) / (b - a), 0.0, 1.0) ** (1.0 / power)
            t = np.arccos(np.clip(1.0 - 2.0 * s, -1.0, 1.0))
            k = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2)
            u = np.clip((2.0 * t - edges[k] - edges[k + 1]) / (edges[k + 1] - edges[k]), -1.0, 1.0)
            c = anti[k]  # Clenshaw with one coefficient row per point
            b1 = np.zeros_like(u)
            b2 = np.zeros_like(u)
            for col in range(c.shape[1] - 1, 0, -1):
                b1, b2 = 2.0 * u * b1 - b2 + c[:, col], b1
            value = u * b1 - b2 + c[:, 0]
            out[inside] += (base[k] + value) * self._cdf_scale
        return np.clip(out, 0.0, 1.0)


@lru_cache(maxsize=64)
def _law(tau: float, phi: float, r: float) -> _Law:
    return _Law(tau, phi, r)


# --------------------------------------------------------------------------------------------
# public results


@dataclass(frozen=True, slots=True)
class CKOutlier:
    """One predicted outlier eigenvalue of the conjugate kernel (docs/methods/conjugate_kernel.md §4, §2).

    Attributes
    ----------
    source
        ``"weight_norms"`` (fluctuations of ‖w_i‖), ``"data_norms"`` (of ‖x_j‖), or ``"mean"``
        (the rank-one mean of a non-centred σ, docs/methods/conjugate_kernel.md §2).
    location
        Predicted eigenvalue of K_N (and of K_n: same non-zero eigenvalues); ``nan`` for the mean
        outlier when N is not known (it grows like (E σ)² N).
    spike_strength
        ϑ² = κ²(m₄ − 1)N/(4p) of the rank-one term (docs/methods/conjugate_kernel.md §4); (E σ)² N for the mean outlier.
    threshold
        ϑ_c² = 1/D(λ_edge⁺); ``nan`` for the mean outlier.
    validity
        ``"verified"``: the derivation was checked by Monte Carlo for this configuration (single
        spike); ``"heuristic"``: not verified, see ``caveat``.
    caveat
        What was not verified (empty for verified predictions).
    """

    source: str
    location: float
    spike_strength: float
    threshold: float
    validity: str
    caveat: str


@dataclass(frozen=True, slots=True)
class ConjugateKernelSpectrum:
    """Limiting spectral distribution of the conjugate kernel, and its outliers.

    Attributes
    ----------
    matrix
        ``"gram"`` (K_n = (1/n)ΣᵀΣ, n × n) or ``"features"`` (K_N = (1/n)ΣΣᵀ, N × N).
    ratio, neurons_per_sample
        φ = p/n and r = N/n.
    theta1, theta2, kappa, activation_mean
        θ1 = E σ_c², θ2 = (E σ')², κ = E[(ξ²−1)σ], E σ actually used (docs/methods/conjugate_kernel.md §2; σ_c the centred σ).
    centred
        ``True`` when σ had a non-zero mean and its centred version's bulk is returned.
    x
        Evaluation points.
    density
        Density of the continuous part at ``x``, ≥ 0 and finite; ``nan`` only at x = 0 on a hard
        edge, where it diverges (note).
    cdf
        CDF at ``x`` (atom included), from the composite Clenshaw–Curtis antiderivative of the density
        on each support component (``None`` if not requested).
    support
        Every component of the continuous part, ascending (edges: real roots of the discriminant of
        the quartic; the branch between them labelled by the sweep of the derivation's §4).
    atom_location, atom_mass
        The atom at 0: for K_N (1 − n/N)⁺ if θ1 > θ2 and (1 − min(n, p)/N)⁺ in the linear case
        (docs/methods/conjugate_kernel.md §3); for K_n, 1 − (N/n)(1 − atom_N).
    outliers
        Predicted outliers (docs/methods/conjugate_kernel.md §4); empty when none is predicted.
    degree
        Degree of the polynomial solved: 4, 3 (linear σ, product Wishart) or 2 (θ2 = 0, MP).
    diagnostics
        Root solves per point (one solve of the polynomial + one Newton step) plus the CDF's density
        evaluations; the largest relative residual |P(G)|/Σ|c_k G^k| of the polynomial at the returned
        roots, or the CDF's panel tail / mass error if larger; and whether every root met 1e-10, every
        point showed its interval's root pattern, and the CDF converged.
    notes
        Centring, outlier reasoning, divergent values, finite-size caveats.
    reference
        Papers and sections.
    """

    matrix: str
    ratio: float
    neurons_per_sample: float
    theta1: float
    theta2: float
    kappa: float
    activation_mean: float
    centred: bool
    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray | None
    support: tuple[tuple[float, float], ...]
    atom_location: float
    atom_mass: float
    outliers: tuple[CKOutlier, ...]
    degree: int
    diagnostics: Diagnostics
    notes: tuple[str, ...]
    reference: str = REFERENCE


# --------------------------------------------------------------------------------------------
# validation


def _iv(
    activation, ratio, neurons_per_sample, matrix, x, weight_distribution, data_distribution, n_neurons
) -> tuple[Activation, float, float, np.ndarray, int | None]:
    activation = as_activation(activation)
    phi = v.positive("ratio", ratio)
    r = v.positive("neurons_per_sample", neurons_per_sample)
    if matrix not in ("gram", "features"):
        raise InvalidParameterError("matrix", f"`matrix` must be 'gram' or 'features', got {matrix!r}.")
    x = v.finite_array("x", x)
    for name, value in (("weight_distribution", weight_distribution), ("data_distribution", data_distribution)):
        if value not in ("gaussian", "rademacher", "spherical"):
            raise InvalidParameterError(
                name, f"`{name}` must be 'gaussian', 'rademacher' or 'spherical', got {value!r}."
            )
    if n_neurons is not None:
        n_neurons = v.positive_int("n_neurons", n_neurons)
    return activation, phi, r, x, n_neurons


def _scale_check(phi: float, r: float) -> None:
    for name, value in (("ratio", phi), ("neurons_per_sample", r), ("ratio / neurons_per_sample", phi / r)):
        if not 1e-2 <= value <= 1e2:
            raise InvalidParameterError(
                name.split(" ")[0],
                f"`{name}` must lie in [0.01, 100] (the range in which the quartic is solved and tested), got {value!r}.",
            )


# --------------------------------------------------------------------------------------------
# outliers (docs/methods/conjugate_kernel.md §4)


def _d_transform(law: _Law, lam: float, g: float | None = None) -> float:
    """D(λ) = λ G(λ)(r G(λ) + (1 − r)/λ) for λ above the bulk (normalised units; docs/methods/conjugate_kernel.md §4)."""
    if g is None:
        gg, _, _ = law.boundary(np.array([lam]))
        g = float(gg[0].real)
    return lam * g * (law.r * g + (1.0 - law.r) / lam)


def _outlier_location(law: _Law, edge: float, strength: float) -> tuple[float, float]:
    """(λ, ϑ_c²) with D(λ) = 1/ϑ² above the edge, or (nan, ϑ_c²) below threshold (normalised units)."""
    d_edge = _d_transform(law, edge, law.edge_value(edge))
    threshold = 1.0 / d_edge if d_edge > 0 else math.inf
    if not strength > threshold:
        return math.nan, threshold
    target = 1.0 / strength
    lo, hi = edge * (1.0 + 1e-9), edge + max(edge, 1.0)
    while _d_transform(law, hi) > target:
        lo, hi = hi, 2.0 * hi
    lam = optimize.brentq(lambda t: _d_transform(law, t) - target, lo, hi, xtol=1e-13 * hi, rtol=1e-13)
    return float(lam), threshold


def _outliers(law, constants, weight_distribution, data_distribution, centred_by_request, n_neurons, notes):
    theta1, kappa, mean = constants.theta1, constants.kappa, constants.mean
    out: list[CKOutlier] = []
    non_centred = abs(mean) > 1e-12 * math.sqrt(max(theta1, 1e-300)) and not centred_by_request
    if non_centred:
        strength = mean * mean * n_neurons if n_neurons is not None else math.nan
        out.append(CKOutlier("mean", strength, strength, math.nan, "heuristic", _CAVEAT_MEAN))
        notes.append(
            "Outliers from norm fluctuations (docs/methods/conjugate_kernel.md §4) were derived and checked for centred σ only; with a non-zero "
            "mean the rank-2 term shares the directions 1_N, 1_n of the mean term, so none is predicted here. "
            "Set `subtract_mean` to study a network that uses σ − E σ(ξ)."
        )
        return tuple(out)
    support = law.support()
    if not support:
        return ()
    edge = support[-1][1]
    ratio_np = law.r / law.phi  # N/p
    sources = []
    for source, dist in (("weight_norms", weight_distribution), ("data_norms", data_distribution)):
        if dist == "spherical" or kappa == 0.0:
            continue
        m4 = _FOURTH_MOMENT[dist]
        strength = kappa * kappa * (m4 - 1.0) * ratio_np / 4.0
        if strength > 0.0:
            sources.append((source, strength))
    if abs(kappa) <= 1e-12 * math.sqrt(theta1):
        notes.append(
            "κ = E[(ξ² − 1)σ(ξ)] = 0 (e.g. odd σ): no outlier is predicted (docs/methods/conjugate_kernel.md §4; verified for tanh)."
        )
        return ()
    if not sources:
        notes.append(
            "No norm fluctuations (spherical or Rademacher W and X): no outlier is predicted (docs/methods/conjugate_kernel.md §4; verified for "
            "norm-normalised W and X)."
        )
        return ()
    above = []
    for source, strength in sources:
        lam, threshold = _outlier_location(law, edge, strength / theta1)
        if math.isfinite(lam):
            above.append((source, lam * theta1, strength, threshold * theta1))
        else:
            notes.append(
                f"{source}: ϑ² = {strength:.6g} is below the threshold ϑ_c² = {threshold * theta1:.6g}: no outlier "
                "(docs/methods/conjugate_kernel.md §4; verified below threshold)."
            )
    pair = len(above) == 2
    for source, lam, strength, threshold in above:
        if pair:
            out.append(CKOutlier(source, lam, strength, threshold, "heuristic", _CAVEAT_PAIR))
        else:
            out.append(CKOutlier(source, lam, strength, threshold, "verified", ""))
    if above and not pair:
        notes.append(
            "Single outlier (one side has no norm fluctuations): location from D(λ) = 1/ϑ² (docs/methods/conjugate_kernel.md §4), a derivation "
            "checked by Monte Carlo (6.24 ± 0.08 vs 6.25 at N = 2000), not BP22's theorem."
        )
    return tuple(out)


# --------------------------------------------------------------------------------------------
# the law for given θ1, θ2 (internal API, also for the NTK spectrum)


@dataclass(frozen=True, slots=True)
class CKLaw:
    """The Pennington–Worah law for given θ1, θ2 and ratios at real points (no activation involved).

    Attributes
    ----------
    matrix
        ``"gram"`` (K_n, n × n) or ``"features"`` (K_N, N × N).
    theta1, theta2, ratio, neurons_per_sample
        θ1, θ2 (θ2 snapped to 0 or θ1 within 1e-14, 1e-12 relative), φ = p/n and r = N/n.
    x, density, cdf
        Points, density of the continuous part (``nan`` only at x = 0 on a hard edge), CDF with the
        atom (``None`` if not requested).
    support
        Components of the continuous part, ascending: every one, from the real roots of the
        discriminant of the quartic.
    atom_mass
        Mass of the atom at 0.
    degree
        4 (quartic), 3 (θ1 = θ2, product Wishart) or 2 (θ2 = 0, Marchenko–Pastur).
    diagnostics
        Root solves per point + CDF evaluations, largest relative residual of the polynomial at the
        returned roots (or the CDF's mass error, if larger), and whether all checks passed.
    notes
        Finite-size caveats (several components), anything unexpected.
    """

    matrix: str
    theta1: float
    theta2: float
    ratio: float
    neurons_per_sample: float
    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray | None
    support: tuple[tuple[float, float], ...]
    atom_mass: float
    degree: int
    diagnostics: Diagnostics
    notes: tuple[str, ...]
    reference: str = REFERENCE


def _law_iv(theta1, theta2, ratio, neurons_per_sample, matrix) -> tuple[float, float, float, float]:
    theta1 = v.positive("theta1", theta1)
    theta2 = float(theta2)
    if not 0.0 <= theta2 <= theta1 * (1.0 + 1e-12):
        raise InvalidParameterError("theta2", f"`theta2` must lie in [0, theta1] = [0, {theta1!r}], got {theta2!r}.")
    phi = v.positive("ratio", ratio)
    r = v.positive("neurons_per_sample", neurons_per_sample)
    if matrix not in ("gram", "features"):
        raise InvalidParameterError("matrix", f"`matrix` must be 'gram' or 'features', got {matrix!r}.")
    _scale_check(phi, r)
    return theta1, _tau(theta1, theta2), phi, r


def _tau(theta1: float, theta2: float) -> float:
    """τ = θ2/θ1, snapped to 0 (Marchenko–Pastur) or 1 (linear σ) within rounding; the key of the law's cache."""
    tau = min(theta2 / theta1, 1.0)
    if tau <= _ZERO_THETA2:
        return 0.0
    if 1.0 - tau <= _LINEAR_TOL:
        return 1.0
    return tau


def _component_note(support: tuple[tuple[float, float], ...]) -> str:
    return (
        f"The support has {len(support)} components. A real network can converge slowly to this law: for gelu at "
        "p/n = 0.137, N/n = 4.08 (components [0.107, 0.811] and [3.12, 15.7] of K_n) the empirical CDF at 0.338 is "
        "0.457, 0.442, 0.428, 0.422 at n = 750, 1500, 3000, 6000 against the limit 0.414 (the gap roughly halves as n "
        "doubles), while the Gaussian-equivalent model (σ(WX) replaced by √θ2·WX + √(θ1 − θ2)·Z) is within 1e-3 of "
        "it at n = 1500; tanh with a narrow gap (p/n = 0.6, N/n = 2) is at KS distance 0.005 at n = 1000 "
        "(docs/derivations/conjugate_kernel_spectrum.md §6)."
    )


def conjugate_kernel_law(
    *,
    theta1: float,
    theta2: float,
    ratio: float,
    neurons_per_sample: float,
    x: np.ndarray | Sequence[float] = (),
    matrix: Matrix = "features",
    with_cdf: bool = True,
) -> CKLaw:
    """Density, CDF, support and atom of the CK law for given θ1 ≥ θ2 ≥ 0 (Pennington & Worah 2017, Thm 1).

    The law of K_N = (1/n)ΣΣᵀ (``"features"``) or K_n = (1/n)ΣᵀΣ (``"gram"``) for Σ = σ(WX) depends on σ
    only through θ1 = E σ_c(ξ)² and θ2 = (E σ'(ξ))²; it is also the law of the Gaussian equivalent
    √θ2·WX + √(θ1 − θ2)·Z. Solved in G (docs/derivations/conjugate_kernel_spectrum.md §3–§5): the branch
    of the quartic is labelled once per law on the intervals between the real roots of its
    discriminant (every support edge is one), then each point costs one vectorised solve of the
    quartic (Ferrari + Newton, checked; companion eigenvalues as fallback) and one Newton step; the
    CDF is a composite Clenshaw–Curtis antiderivative of the density on each support component.

    Parameters
    ----------
    theta1, theta2
        θ1 > 0 and 0 ≤ θ2 ≤ θ1.
    ratio, neurons_per_sample
        φ = p/n and r = N/n, each (and φ/r) in [0.01, 100].
    x
        Real points.
    matrix
        ``"features"`` (default) or ``"gram"``.
    with_cdf
        Also the CDF at ``x``.

    Returns
    -------
    CKLaw
    """
    theta1, tau, phi, r = _law_iv(theta1, theta2, ratio, neurons_per_sample, matrix)
    x = v.finite_array("x", x)
    law = _law(tau, phi, r)
    notes: list[str] = []
    xn = x / theta1
    density_n, diag, wrong = law.density(xn)
    support = law.support()
    density = density_n / theta1
    notes.extend(law.label_notes)
    if len(support) > 1:
        notes.append(_component_note(support))
    hard_edge = bool(support) and support[0][0] == 0.0
    if hard_edge and np.any(x == 0.0):
        density = np.where(x == 0.0, np.nan, density)
        notes.append("The support reaches the hard edge 0, where the density diverges: its value at x = 0 is null.")
    if wrong:
        notes.append(
            f"At {wrong} point(s) away from every edge the roots of the quartic did not show the pattern of their "
            "interval (unexpected; the nearest root to the interval's end value was taken; see diagnostics)."
        )
    cdf = None
    if with_cdf:
        cdf = law.cdf(xn)
        diag = Diagnostics(
            iterations=diag.iterations + law.cdf_diag.iterations,
            residual=max(diag.residual, law.cdf_diag.residual),
            converged=diag.converged and law.cdf_diag.converged,
        )
        notes.extend(law.cdf_notes)
    # features (K_N) → gram (K_n): μ_n = r μ_N + (1 − r) δ_0
    atom = law.atom
    if matrix == "gram":
        density = law.r * density
        atom = law.r * atom + 1.0 - law.r
        atom = 0.0 if abs(atom) < 1e-15 else atom
        if cdf is not None:
            cdf = np.clip(law.r * cdf + np.where(x >= 0.0, 1.0 - law.r, 0.0), 0.0, 1.0)
    return CKLaw(
        matrix=matrix,
        theta1=theta1,
        theta2=tau * theta1,
        ratio=phi,
        neurons_per_sample=r,
        x=x,
        density=density,
        cdf=cdf,
        support=tuple((lo * theta1, hi * theta1) for lo, hi in support),
        atom_mass=float(atom),
        degree=law.degree,
        diagnostics=diag,
        notes=tuple(notes),
    )


def conjugate_kernel_stieltjes(
    *,
    theta1: float,
    theta2: float,
    ratio: float,
    neurons_per_sample: float,
    z: np.ndarray | list[complex] | complex,
    matrix: Matrix = "features",
) -> tuple[np.ndarray, Diagnostics]:
    """G(z) = ∫ μ(dt)/(z − t) of the CK law (Pennington & Worah's sign: G ~ 1/z, Im G < 0 on ℂ⁺).

    Real z > 0 gives the boundary value G(x + i0) (the labelled branch, docs/derivations/
    conjugate_kernel_spectrum.md §4); Im z > 0, or real z < 0, the continuation in Im z of §5 (slower:
    tens of batched eigensolves). ``"gram"``: G_n = r G + (1 − r)/z.

    Parameters
    ----------
    theta1, theta2, ratio, neurons_per_sample, matrix
        As in :func:`conjugate_kernel_law`.
    z
        Points with Im z ≥ 0, z ≠ 0.

    Returns
    -------
    values, diagnostics
    """
    theta1, tau, phi, r = _law_iv(theta1, theta2, ratio, neurons_per_sample, matrix)
    z = np.atleast_1d(np.asarray(z, dtype=np.complex128))
    if not np.all(np.isfinite(z)) or np.any(z.imag < 0) or np.any(z == 0):
        raise InvalidParameterError("z", "`z` must be finite, with Im z >= 0 and z != 0.")
    law = _law(tau, phi, r)
    zn = z / theta1
    out = np.empty_like(zn)
    real = (zn.imag == 0) & (zn.real > 0)
    parts = []
    if np.any(real):
        g, diag, _ = law.boundary(zn.real[real])
        out[real] = g
        parts.append(diag)
    if np.any(~real):
        zc = zn[~real]
        lift = np.where(zc.imag == 0, 1e-13 * max(law.scale, 1.0), 0.0)  # real z < 0: G is real and smooth there
        g, diag = law.stieltjes(zc + 1j * lift)
        out[~real] = np.where(zc.imag == 0, g.real + 0j, g)
        parts.append(diag)
    out = out / theta1
    if matrix == "gram":
        out = r * out + (1.0 - r) / z
    diag = Diagnostics(
        iterations=max((d.iterations for d in parts), default=0),
        residual=max((d.residual for d in parts), default=0.0),
        converged=all(d.converged for d in parts),
    )
    return out, diag


# --------------------------------------------------------------------------------------------
# main entry


def conjugate_kernel_spectrum(
    *,
    activation: Activation | str,
    ratio: float,
    neurons_per_sample: float,
    matrix: Matrix = "gram",
    x: np.ndarray | Sequence[float] = (),
    weight_distribution: Distribution = "gaussian",
    data_distribution: Distribution = "gaussian",
    subtract_mean: bool = False,
    n_neurons: int | None = None,
    with_cdf: bool = True,
) -> ConjugateKernelSpectrum:
    r"""Limiting eigenvalue law of the conjugate kernel (1/n)σ(WX)ᵀσ(WX) (or (1/n)σ(WX)σ(WX)ᵀ).

    Solves Pennington & Worah (2017), NeurIPS, Theorem 1, in the form of docs/derivations/conjugate_kernel_spectrum.md §3: the
    Stieltjes transform G(z) = ∫ μ_{K_N}(dt)/(z − t) of K_N is a root of

    .. math:: c_4G^4 + c_3G^3 + c_2G^2 + c_1G + c_0 = 0

    with c_k(z) polynomial in z, θ1, θ2, ψ = p/N and r = N/n (a cubic for linear σ — the product of
    two Wisharts — and the Marchenko–Pastur quadratic for θ2 = 0). Benigni & Péché (2021), EJP 26,
    prove the law for sub-Gaussian W, X. Every support edge is a real root of the discriminant of the
    quartic; the physical branch keeps one label between consecutive roots, found once per law by a
    sweep from +∞ (derivation §4), so each point costs one vectorised solve of the quartic and one
    Newton step; the CDF is a composite Clenshaw–Curtis antiderivative (derivation §6). The law for
    given θ1, θ2 is :func:`conjugate_kernel_law`. Outliers follow docs/methods/conjugate_kernel.md §4 (Benaych-Georges &
    Nadakuditi's D-transform applied to the norm-fluctuation spikes of Benigni & Péché 2022).

    Parameters
    ----------
    activation
        σ from the catalogue of :mod:`solvers.activations`. A non-centred σ is replaced by
        σ − E σ(ξ) for the bulk (docs/methods/conjugate_kernel.md §2) and a note says so.
    ratio
        φ = p/n (input dimension per sample; PW's φ).
    neurons_per_sample
        r = N/n (PW's φ/ψ).
    matrix
        ``"gram"`` for K_n = (1/n)ΣᵀΣ (n × n), ``"features"`` for K_N = (1/n)ΣΣᵀ (N × N).
    x
        Real points at which to evaluate density and CDF.
    weight_distribution, data_distribution
        Law of the entries of W and X: ``"gaussian"`` (fourth moment 3), ``"rademacher"`` (±1, scaled;
        fourth moment 1), ``"spherical"`` (rows of W / columns of X normalised). Only the outliers depend
        on them (docs/methods/conjugate_kernel.md §4).
    subtract_mean
        ``True`` when the network uses σ − E σ(ξ) itself: no mean outlier, norm-fluctuation outliers
        are predicted as for a centred σ.
    n_neurons
        N, needed only to place the mean outlier ≈ (E σ)² N of a non-centred σ.
    with_cdf
        Also return the CDF at ``x`` (a few hundred density evaluations per law, cached with it).

    Returns
    -------
    ConjugateKernelSpectrum

    Raises
    ------
    InvalidParameterError
        A parameter outside its domain (named), or an activation whose centred version vanishes.
    """
    activation, phi, r, x, n_neurons = _iv(
        activation, ratio, neurons_per_sample, matrix, x, weight_distribution, data_distribution, n_neurons
    )
    _scale_check(phi, r)
    constants = ck_activation_constants(activation=activation)
    theta1, theta2 = constants.theta1, constants.theta2
    if not theta1 > 1e-300:
        raise InvalidParameterError(
            "activation", f"`activation` {activation.name!r} is constant on the Gaussian: its centred version vanishes."
        )
    result = conjugate_kernel_law(
        theta1=theta1, theta2=theta2, ratio=phi, neurons_per_sample=r, x=x, matrix=matrix, with_cdf=with_cdf
    )
    law = _law(_tau(theta1, theta2), phi, r)  # the cached law solved above
    notes: list[str] = []
    centred = abs(constants.mean) > 1e-12 * math.sqrt(theta1)
    if centred:
        notes.append(
            f"σ = {activation.name} is not centred (E σ(ξ) = {constants.mean:.6g}): the bulk is that of σ − E σ(ξ) "
            f"with θ1 = Var σ(ξ) (docs/derivations/conjugate_kernel_spectrum.md §2)"
            + (
                "; the network uses σ − E σ(ξ) (`subtract_mean`)."
                if subtract_mean
                else "; its mean adds one large outlier."
            )
        )
    if constants.method == "quadrature":
        notes.append(f"θ1, θ2, κ by trapezoid quadrature (estimated error {constants.error_bound:.1e}).")
    if law.mp:
        notes.append(
            "θ2 = 0: the law is Marchenko–Pastur with ratio N/n and variance θ1. For purely nonlinear σ the "
            "top eigenvalue approaches the edge slowly at finite N (0.37 above it at N = 2000 for He_3; "
            "docs/derivations/conjugate_kernel_spectrum.md §6)."
        )
    notes.extend(result.notes)
    density, cdf, atom, diag = result.density, result.cdf, result.atom_mass, result.diagnostics

    outliers = _outliers(law, constants, weight_distribution, data_distribution, subtract_mean, n_neurons, notes)
    reference = REFERENCE + ("; outliers: " + REFERENCE_OUTLIERS if outliers or constants.kappa else "")
    return ConjugateKernelSpectrum(
        matrix=matrix,
        ratio=phi,
        neurons_per_sample=r,
        theta1=theta1,
        theta2=result.theta2,
        kappa=constants.kappa,
        activation_mean=constants.mean,
        centred=centred,
        x=x,
        density=density,
        cdf=cdf,
        support=result.support,
        atom_location=0.0,
        atom_mass=atom,
        outliers=outliers,
        degree=result.degree,
        diagnostics=diag,
        notes=tuple(notes),
        reference=reference,
    )
