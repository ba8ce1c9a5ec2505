"""Conjugate-kernel (CK) limiting spectrum of a random single-layer network, and its outliers.

Conventions of ``docs/methods/conjugate_kernel.md`` §1: W (N × p) has i.i.d. N(0, 1) entries, X (p × n)
i.i.d. N(0, 1/p) entries (columns of norm ≈ 1), Σ = σ(WX) (N × n), so every pre-activation is
≈ N(0, 1). The ``"features"`` matrix is K_N = (1/n)ΣΣᵀ (N × N, Pennington–Worah's M = (1/m)YYᵀ) and the
``"gram"`` matrix is K_n = (1/n)ΣᵀΣ (n × n, the talk's matrix); they share their non-zero eigenvalues,
μ_{K_n} = (N/n) μ_{K_N} + (1 − N/n) δ_0.

Dimensions enter through two ratios: ``ratio`` φ = p/n (PW's φ = n₀/m) and ``neurons_per_sample``
r = N/n (PW's φ/ψ, so ψ = p/N = φ/r). The law depends on σ only through θ1 = E[σ(ξ)²] and
θ2 = (E[σ'(ξ)])² of the **centred** activation (docs/methods/conjugate_kernel.md §2); it is homogeneous in (θ1, θ2), so it is
solved once for θ1 = 1 and rescaled.

The Stieltjes transform G(z) = ∫ μ_{K_N}(dt)/(z − t) (PW's sign: G ~ 1/z, Im G < 0 on ℂ⁺) solves the
quartic of docs/methods/conjugate_kernel.md §3, obtained from PW17 Thm 1 by eliminating P and t; roots are selected by
continuation in Im z (docs/methods/conjugate_kernel.md §3 "Root selection").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.polynomial import Chebyshev
from numpy.polynomial import polynomial as npoly
from scipy import optimize

from solvers import _validation as v
from solvers._results import Diagnostics
from solvers.activations import Activation, as_activation, activation_moments
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
    "Electron. J. Probab. 26 (LSD for sub-Gaussian W, X); root selection by continuation in Im z, "
    "docs/methods/conjugate_kernel.md §1-§3"
)
REFERENCE_OUTLIERS = (
    "Benigni & Péché (2022), arXiv:2201.04753 (at most two outliers, none if E[xi^2 sigma] = 0); "
    "Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111, D-transform; docs/methods/conjugate_kernel.md §4 "
    "(derivation checked by Monte Carlo, not BP22's theorem)"
)

# Root selection (docs/methods/conjugate_kernel.md §3): start 50 × the support scale above the axis, 45 geometric levels down to
# η = 1e-10 × scale (25 levels failed in the linear case; 40 and 90 gave identical results).
_START_FACTOR = 50.0
_LEVELS = 45
_ETA_FINAL = 1e-10
_NEWTON_STEPS = 3
_NEWTON_GUARD = 1e-3  # reject Newton steps longer than 1e-3 |G| (docs/methods/conjugate_kernel.md §3 step 3)
_REAL_POLISH_STEPS = 6
_RESIDUAL_TOL = 1e-10  # relative residual |P(G)| / Σ|c_k G^k| counted as converged
_IMAG_SUPPORT = 1e-7  # |Im G| > 1e-7 |G| on the real axis: the point is inside the support
_LINEAR_TOL = 1e-12  # θ1 − θ2 ≤ 1e-12 θ1: the linear case (cubic)
_ZERO_THETA2 = 1e-14  # θ2 ≤ 1e-14 θ1: Marchenko–Pastur (quadratic)
_CHEB_START, _CHEB_MAX = 64, 1024
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
    """Gaussian constants of an activation for the CK spectrum (docs/methods/conjugate_kernel.md §2).

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
        "spec ck_spectrum.md §2"
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
    activation as prescribed by docs/methods/conjugate_kernel.md §2: a non-centred σ has the bulk of σ − E σ, so
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
# the quartic (docs/methods/conjugate_kernel.md §3), normalised to θ1 = 1, θ2 = τ


class _Law:
    """The quartic of docs/methods/conjugate_kernel.md §3 for θ1 = 1, θ2 = τ, φ = p/n, r = N/n, and everything derived from it."""

    def __init__(self, tau: float, phi: float, r: float) -> None:
        self.tau, self.phi, self.r = tau, phi, r
        self.psi = phi / r
        self.linear = tau == 1.0
        self.mp = tau == 0.0
        self.degree = 2 if self.mp else 3 if self.linear else 4
        t, psi = tau, self.psi
        q = t * (1.0 - t)
        # c_k(z) as ascending polynomials in z (docs/methods/conjugate_kernel.md §3).
        self.poly = [
            np.array([-psi]),
            np.array([psi * (r - 1.0) + t * (1.0 - r), psi]),
            np.array([(1.0 - r) ** 2 * q, -psi * r + (2.0 * r - 1.0) * t]),
            np.array([0.0, 2.0 * r * (1.0 - r) * q, -r * t]),
            np.array([0.0, 0.0, r * r * q]),
        ][: self.degree + 1]
        # Upper bound of the spectrum: K_N is a sample covariance of ratio r with population
        # C = τ WWᵀ/p + (1 − τ) I (docs/methods/conjugate_kernel.md §3, Gaussian equivalent), ‖C‖ → τ(1 + √(N/p))² + 1 − τ.
        c_norm = t * (1.0 + math.sqrt(1.0 / psi)) ** 2 + 1.0 - t
        self.scale = c_norm * (1.0 + math.sqrt(r)) ** 2
        if self.linear:
            rank = min(1.0, phi) / r  # min(n, p)/N
        else:
            rank = 1.0 / r  # n/N
        self.atom = max(0.0, 1.0 - rank)
        self._support: tuple[tuple[float, float], ...] | None = None
        self._cdf_parts: list[tuple[float, float, Chebyshev, float]] | None = None
        self.cdf_diag = Diagnostics(0, 0.0, True)
        self.cdf_notes: tuple[str, ...] = ()

    # ---- polynomial evaluation ----------------------------------------------------------
    def coefficients(self, z: np.ndarray) -> np.ndarray:
        """c_k(z), shape (degree + 1, M), ascending in k."""
        return np.stack([npoly.polyval(z, p) for p in self.poly])

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

    def roots(self, z: np.ndarray) -> np.ndarray:
        """All roots in G at each z, shape (M, degree): eigenvalues of the batched companion matrix."""
        c = self.coefficients(z)
        d = self.degree
        comp = np.zeros((z.size, d, d), dtype=np.complex128)
        comp[:, 0, :] = -(c[d - 1 :: -1] / c[d]).T
        if d > 1:
            idx = np.arange(d - 1)
            comp[:, idx + 1, idx] = 1.0
        return np.linalg.eigvals(comp)

    # ---- root selection (docs/methods/conjugate_kernel.md §3) ----------------------------------------------------------
    def stieltjes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, Diagnostics, int]:
        """G(x + i0) at real x > 0 (boundary value), vectorised.

        Returns G, the point at which it is exact (x, or x + iη where the real-axis polish was
        refused), diagnostics, and the number of points whose continuation left ℂ⁻ (never expected).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return np.empty(0, np.complex128), np.empty(0, np.complex128), Diagnostics(0, 0.0, True), 0
        y0 = _START_FACTOR * np.maximum(self.scale, np.abs(x))
        # The floor is relative to the local scale: near the hard edge 0 (and the atom) G varies on the
        # scale x, so an η-error is O(η/x); points below the scale get proportionally more levels.
        eta_f = _ETA_FINAL * np.clip(np.abs(x), 1e-12 * self.scale, self.scale)
        span = float(np.max(np.log(y0 / eta_f)))
        levels = max(_LEVELS, math.ceil(_LEVELS * span / math.log(_START_FACTOR / _ETA_FINAL)))
        frac = np.arange(levels + 1)[:, None] / levels
        etas = y0[None, :] * (eta_f / y0)[None, :] ** frac  # (levels + 1, M), geometric per point
        g = g1 = None
        for k in range(levels + 1):
            z = x + 1j * etas[k]
            roots = self.roots(z)
            if k == 0:
                target = 1.0 / z
            elif k == 1:
                target = g
            else:  # linear extrapolation in η of the previous two (docs/methods/conjugate_kernel.md §3 step 2)
                target = g + (g - g1) * (etas[k] - etas[k - 1]) / (etas[k - 1] - etas[k - 2])
            pick = np.argmin(np.abs(roots - target[:, None]), axis=1)
            g1, g = g, roots[np.arange(x.size), pick]
        wrong_side = int(np.count_nonzero(g.imag > 1e-8 * np.abs(g)))  # beyond rounding of the eigensolver
        z = x + 1j * etas[-1]
        g = self._newton(g, z, _NEWTON_STEPS)
        # Boundary value on the real axis: guarded Newton from the η-solution. Refused steps keep the
        # η-value (exact at x + iη); a conjugate-root jump is impossible under the 1e-3 |G| guard
        # except where Im G is itself below that, i.e. at the edges, where both agree to ~√η.
        zr = x.astype(np.complex128)
        gr = self._newton(g, zr, _REAL_POLISH_STEPS, keep_sign=True)
        moved = gr != g
        gr = np.where(moved, gr.real + 1j * np.minimum(gr.imag, 0.0), gr)
        at = np.where(moved, zr, z)
        value, _, size = self.residual(gr, at)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(value) / size
        rel = np.where(np.isfinite(rel), rel, 0.0)
        worst = float(np.max(rel, initial=0.0))
        diag = Diagnostics(
            iterations=levels + 1 + _NEWTON_STEPS + _REAL_POLISH_STEPS,
            residual=worst,
            converged=bool(worst <= _RESIDUAL_TOL and wrong_side == 0),
        )
        return gr, at, diag, wrong_side

    def _newton(self, g: np.ndarray, z: np.ndarray, steps: int, keep_sign: bool = False) -> np.ndarray:
        g = g.copy()
        for _ in range(steps):
            value, slope, size = self.residual(g, z)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = value / slope
                new = g - step
            new_value, _, new_size = self.residual(np.where(np.isfinite(new), new, g), z)
            ok = (
                np.isfinite(new)
                & (np.abs(step) <= _NEWTON_GUARD * np.abs(g))
                & ((np.abs(new_value) <= np.abs(value)) | (np.abs(new_value) <= 1e-15 * new_size))
            )
            if keep_sign:  # stay on the physical side (Im G ≤ 0 on the closure of ℂ⁺), up to rounding
                ok &= new.imag <= 1e-13 * np.abs(new)
            g = np.where(ok, new, g)
        return g

    def density(self, x: np.ndarray) -> tuple[np.ndarray, Diagnostics, int]:
        """Density of the continuous part of μ_{K_N} at real x (normalised units); 0 for x ≤ 0."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        pos = (x > 0) & (x < 1.5 * self.scale)  # the support lies in (0, scale]: beyond, ρ = 0
        if not np.any(pos):
            return out, Diagnostics(0, 0.0, True), 0
        g, at, diag, wrong = self.stieltjes(x[pos])
        # ρ = −Im(G − w0/z)/π; on the real axis the atom's term is real, at x + iη it is the
        # Lorentzian w0 η/(x² + η²) (docs/methods/conjugate_kernel.md §3 step 4).
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = -(g - self.atom / at).imag / math.pi
        out[pos] = np.maximum(np.where(np.isfinite(rho), rho, 0.0), 0.0)
        return out, diag, wrong

    # ---- support (docs/methods/conjugate_kernel.md §3: edges from the discriminant) ------------------------------------
    def discriminant(self, magnitude: bool = False) -> np.ndarray:
        """Discriminant in G of the quartic (cubic, quadratic) as an ascending polynomial in z.

        With ``magnitude=True``: the same sum with every term and coefficient replaced by its absolute
        value, a bound on the rounding of each coefficient (exact zeros, e.g. the factor z⁴, come out
        as ~1e-27 otherwise and create spurious edges near 0).
        """
        m, a = npoly.polymul, npoly.polyadd

        def prod(*ps):
            out = np.array([1.0])
            for p in ps:
                out = m(out, np.abs(p) if magnitude else p)
            return out

        def lin(*terms):
            out = np.array([0.0])
            for coef, ps in terms:
                out = a(out, (abs(coef) if magnitude else coef) * prod(*ps))
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
            (256, (aa, aa, aa, e, e, e)), (-192, (aa, aa, b, d, e, e)), (-128, (aa, aa, c, c, e, e)),
            (144, (aa, aa, c, d, d, e)), (-27, (aa, aa, d, d, d, d)), (144, (aa, b, b, c, e, e)),
            (-6, (aa, b, b, d, d, e)), (-80, (aa, b, c, c, d, e)), (18, (aa, b, c, d, d, d)),
            (16, (aa, c, c, c, c, e)), (-4, (aa, c, c, c, d, d)), (-27, (b, b, b, b, e, e)),
            (18, (b, b, b, c, d, e)), (-4, (b, b, b, d, d, d)), (-4, (b, b, c, c, c, e)), (1, (b, b, c, c, d, d)),
        )

    def support(self) -> tuple[tuple[float, float], ...]:
        """Intervals of the continuous part: real roots of the discriminant in (0, scale], classified by
        whether G(mid + i0) is real (gap) or not (support)."""
        if self._support is not None:
            return self._support
        disc = self.discriminant()
        bound = self.discriminant(magnitude=True)
        disc = np.where(np.abs(disc) <= 1e-12 * bound, 0.0, disc)
        nz = np.flatnonzero(disc)
        # drop the exact factor z^k (the atom and the degree drop at z = 0), then trailing zeros
        disc = npoly.polytrim(disc[nz[0]:], tol=0.0) if nz.size else np.array([0.0])
        cand = npoly.polyroots(disc) if disc.size > 1 else np.array([])
        ceiling = 1.5 * self.scale
        real = cand[(np.abs(cand.imag) <= 1e-6 * np.maximum(np.abs(cand), 1e-3 * self.scale))].real
        real = real[(real > 1e-12 * self.scale) & (real < ceiling)]
        deriv = npoly.polyder(disc)
        for _ in range(4):  # polish the simple roots of the discriminant
            with np.errstate(divide="ignore", invalid="ignore"):
                step = npoly.polyval(real, disc) / npoly.polyval(real, deriv)
            step = np.where(np.isfinite(step) & (np.abs(step) < 1e-6 * np.maximum(real, 1e-12)), step, 0.0)
            real = real - step
        points = np.unique(np.concatenate([[0.0], np.sort(real), [ceiling]]))
        mids = 0.5 * (points[:-1] + points[1:])
        g, at, _, _ = self.stieltjes(mids)
        inside = (np.abs(g.imag) > _IMAG_SUPPORT * np.abs(g)) & (at.imag == 0)
        # a refused real-axis polish leaves G at x + iη: decide there by comparing with the η-floor
        inside |= (at.imag != 0) & (np.abs(g.imag) > 1e3 * _ETA_FINAL * np.abs(g))
        intervals: list[list[float]] = []
        for lo, hi, keep in zip(points[:-1], points[1:], inside, strict=True):
            if not keep or hi - lo <= 1e-12 * self.scale:
                continue
            if intervals and intervals[-1][1] == lo:
                intervals[-1][1] = hi
            else:
                intervals.append([lo, hi])
        self._support = tuple((float(lo), float(hi)) for lo, hi in intervals)
        return self._support

    def edge_value(self, edge: float) -> float:
        """G at a real edge: the real double root, i.e. the real root of ∂P/∂G nearest G(edge + i0)."""
        g, _, _, _ = self.stieltjes(np.array([edge]))
        c = self.coefficients(np.array([complex(edge)]))[:, 0].real
        deriv = np.array([k * c[k] for k in range(1, self.degree + 1)])
        crit = npoly.polyroots(deriv)
        crit = crit[np.abs(crit.imag) <= 1e-6 * np.maximum(np.abs(crit), 1e-300)].real
        if crit.size == 0:
            return float(g[0].real)
        return float(crit[np.argmin(np.abs(crit - g[0]))])

    # ---- CDF: Chebyshev antiderivative of ρ(x(t)) x'(t), x = a + (b − a)(1 − cos t)/2 -----------
    def _build_cdf(self) -> None:
        parts = []
        iterations, worst_tail, converged, notes = 0, 0.0, True, []
        for a, b in self.support():
            deg = _CHEB_START
            while True:
                power = 3 if a == 0.0 else 1
                fit = Chebyshev.interpolate(lambda t: self._integrand(t, a, b, power), deg, domain=[0.0, math.pi])
                iterations += deg + 1
                coef = np.abs(fit.coef)
                tail = float(np.max(coef[-4:]) / max(np.max(coef), 1e-300))
                if tail <= 1e-11 or deg >= _CHEB_MAX:
                    break
                deg *= 2
            worst_tail = max(worst_tail, tail)
            if tail > 1e-8:
                converged = False
            integral = fit.integ(lbnd=0.0)
            parts.append((a, b, integral, float(integral(math.pi)), power))
        total = sum(part[3] for part in parts)
        expected = 1.0 - self.atom
        error = abs(total - expected)
        if error > 1e-6:
            notes.append(
                f"The continuous mass integrates to {total:.8f} instead of 1 − atom = {expected:.8f}; "
                "the CDF is renormalised to it (docs/methods/conjugate_kernel.md §3 pitfall iii)."
            )
        scale = expected / total if total > 0 else 0.0
        self._cdf_parts = [(a, b, f, m * scale, k) for a, b, f, m, k in parts]
        self._cdf_scale = scale
        self.cdf_diag = Diagnostics(iterations, max(error, worst_tail), converged and error <= 1e-6)
        self.cdf_notes = tuple(notes)

    def _integrand(self, t: np.ndarray, a: float, b: float, power: int) -> np.ndarray:
        """ρ(x(t)) x'(t) for x = a + (b − a) s^k, s = (1 − cos t)/2: smooth in t at square-root edges (k = 1) and
        at a hard edge 0 where ρ ~ x^(−1/2) or x^(−2/3) (k = 3, linear case with two equal dimensions)."""
        half = 0.5 * (1.0 - np.cos(t))
        x = a + (b - a) * half**power
        rho, _, _ = self.density(x)
        return rho * (b - a) * power * half ** (power - 1) * 0.5 * np.sin(t)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """CDF of μ_{K_N} (atom included) at real x, normalised units."""
        if self._cdf_parts is None:
            self._build_cdf()
        x = np.asarray(x, dtype=np.float64)
        out = np.where(x >= 0.0, self.atom, 0.0)
        for a, b, integral, mass, power in self._cdf_parts:  # type: ignore[union-attr]
            inside = (x > a) & (x < b)
            out = out + np.where(x >= b, mass, 0.0)
            if np.any(inside):
                half = np.clip((x[inside] - a) / (b - a), 0.0, 1.0) ** (1.0 / power)
                t = np.arccos(1.0 - 2.0 * half)
                out[inside] += integral(t) * self._cdf_scale
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
        ``"verified"``: our derivation (docs/methods/conjugate_kernel.md §4) was checked by Monte Carlo for this configuration (single
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
        CDF at ``x`` (atom included), from the Chebyshev antiderivative of the density on each
        support interval (``None`` if not requested).
    support
        Intervals of the continuous part, ascending (edges: real roots of the discriminant of the
        quartic, classified by the boundary value of G).
    atom_location, atom_mass
        The atom at 0: for K_N (1 − n/N)⁺ if θ1 > θ2 and (1 − min(n, p)/N)⁺ in the linear case
        (docs/methods/conjugate_kernel.md §3); for K_n, 1 − (N/n)(1 − atom_N).
    outliers
        Predicted outliers (docs/methods/conjugate_kernel.md §4); empty when none is predicted.
    degree
        Degree of the polynomial solved: 4, 3 (linear σ, product Wishart) or 2 (θ2 = 0, MP).
    diagnostics
        Continuation levels + Newton steps, the largest relative residual |P(G)|/Σ|c_k G^k| of the
        polynomial at the returned roots, and whether every root met 1e-10 (and the CDF converged).
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


def _iv(activation, ratio, neurons_per_sample, matrix, x, weight_distribution, data_distribution, n_neurons):
    activation = as_activation(activation)
    phi = v.positive("ratio", ratio)
    r = v.positive("neurons_per_sample", neurons_per_sample)
    if matrix not in ("gram", "features"):
        raise InvalidParameterError("matrix", f"`matrix` must be 'gram' or 'features', got {matrix!r}.")
    x = v.finite_array("x", x)
    for name, value in (("weight_distribution", weight_distribution), ("data_distribution", data_distribution)):
        if value not in ("gaussian", "rademacher", "spherical"):
            raise InvalidParameterError(name, f"`{name}` must be 'gaussian', 'rademacher' or 'spherical', got {value!r}.")
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
        gg, _, _, _ = law.stieltjes(np.array([lam]))
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
        notes.append("κ = E[(ξ² − 1)σ(ξ)] = 0 (e.g. odd σ): no outlier is predicted (docs/methods/conjugate_kernel.md §4; verified for tanh).")
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
# main entry


def conjugate_kernel_spectrum(
    *,
    activation: Activation | str,
    ratio: float,
    neurons_per_sample: float,
    matrix: Matrix = "gram",
    x: np.ndarray | list[float] = (),
    weight_distribution: Distribution = "gaussian",
    data_distribution: Distribution = "gaussian",
    subtract_mean: bool = False,
    n_neurons: int | None = None,
    with_cdf: bool = True,
) -> ConjugateKernelSpectrum:
    r"""Limiting eigenvalue law of the conjugate kernel (1/n)σ(WX)ᵀσ(WX) (or (1/n)σ(WX)σ(WX)ᵀ).

    Solves Pennington & Worah (2017), NeurIPS, Theorem 1, in the form of docs/methods/conjugate_kernel.md §3: the
    Stieltjes transform G(z) = ∫ μ_{K_N}(dt)/(z − t) of K_N is a root of

    .. math:: c_4G^4 + c_3G^3 + c_2G^2 + c_1G + c_0 = 0

    with c_k(z) polynomial in z, θ1, θ2, ψ = p/N and r = N/n (a cubic for linear σ — the product of
    two Wisharts — and the Marchenko–Pastur quadratic for θ2 = 0). Benigni & Péché (2021), EJP 26,
    prove the law for sub-Gaussian W, X. Roots are selected by continuation in Im z (45 geometric
    levels from 50× the support scale to 1e-10 of it, nearest root to the linear extrapolation of
    the previous two, docs/methods/conjugate_kernel.md §3 "Root selection"), then 3 guarded Newton steps and a guarded Newton
    polish on the real axis. Outliers follow docs/methods/conjugate_kernel.md §4 (Benaych-Georges & Nadakuditi's D-transform
    applied to the norm-fluctuation spikes of Benigni & Péché 2022).

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
        Also return the CDF at ``x`` (costs a few hundred extra density evaluations per interval).

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
    tau = theta2 / theta1
    if tau <= _ZERO_THETA2:
        tau = 0.0
    law = _law(tau, phi, r)
    notes: list[str] = []
    centred = abs(constants.mean) > 1e-12 * math.sqrt(theta1)
    if centred:
        notes.append(
            f"σ = {activation.name} is not centred (E σ(ξ) = {constants.mean:.6g}): the bulk is that of σ − E σ(ξ) "
            f"with θ1 = Var σ(ξ) (docs/methods/conjugate_kernel.md §2)"
            + ("; the network uses σ − E σ(ξ) (`subtract_mean`)." if subtract_mean else "; its mean adds one large outlier.")
        )
    if constants.method == "quadrature":
        notes.append(f"θ1, θ2, κ by trapezoid quadrature (estimated error {constants.error_bound:.1e}).")
    if law.mp:
        notes.append(
            "θ2 = 0: the law is Marchenko–Pastur with ratio N/n and variance θ1 (docs/methods/conjugate_kernel.md §3). For purely nonlinear σ the "
            "top eigenvalue approaches the edge slowly at finite N (docs/methods/conjugate_kernel.md §3: 0.37 above it at N = 2000 for He_3)."
        )

    xn = x / theta1
    density_n, diag, wrong = law.density(xn)
    support = law.support()
    density = density_n / theta1
    # Outside the support (edges from the discriminant) the boundary value of G is real: the density is
    # exactly 0; what the η-floor leaves there is rounding.
    inside = np.zeros(x.shape, dtype=bool)
    for lo, hi in support:
        inside |= (xn >= lo * (1 - 1e-12)) & (xn <= hi * (1 + 1e-12))
    leak = float(np.max(np.where(inside, 0.0, density), initial=0.0))
    peak = float(np.max(density, initial=0.0))
    if leak > 1e-6 * max(peak, 1e-300):
        notes.append(f"Density {leak:.3g} found outside the support intervals (largest); kept as computed.")
    else:
        density = np.where(inside, density, 0.0)
    hard_edge = bool(support) and support[0][0] == 0.0
    if hard_edge and np.any(x == 0.0):
        density = np.where(x == 0.0, np.nan, density)
        notes.append("The support reaches the hard edge 0, where the density diverges: its value at x = 0 is null.")
    if wrong:
        notes.append(f"{wrong} points ended the continuation with Im G > 0 (unexpected; see diagnostics).")

    cdf = None
    if with_cdf:
        cdf_n = law.cdf(xn)
        diag = Diagnostics(
            iterations=diag.iterations + law.cdf_diag.iterations,
            residual=diag.residual,
            converged=diag.converged and law.cdf_diag.converged,
        )
        notes.extend(law.cdf_notes)
        cdf = cdf_n

    # features (K_N) → gram (K_n): μ_n = r μ_N + (1 − r) δ_0
    atom_n = law.atom
    if matrix == "gram":
        density = law.r * density
        atom = law.r * atom_n + 1.0 - law.r
        atom = 0.0 if abs(atom) < 1e-15 else atom
        if cdf is not None:
            cdf = np.clip(law.r * cdf + np.where(x >= 0.0, 1.0 - law.r, 0.0), 0.0, 1.0)
    else:
        atom = atom_n

    outliers = _outliers(law, constants, weight_distribution, data_distribution, subtract_mean, n_neurons, notes)
    reference = REFERENCE + ("; outliers: " + REFERENCE_OUTLIERS if outliers or constants.kappa else "")
    return ConjugateKernelSpectrum(
        matrix=matrix,
        ratio=phi,
        neurons_per_sample=r,
        theta1=theta1,
        theta2=law.tau * theta1,
        kappa=constants.kappa,
        activation_mean=constants.mean,
        centred=centred,
        x=x,
        density=density,
        cdf=cdf,
        support=tuple((lo * theta1, hi * theta1) for lo, hi in support),
        atom_location=0.0,
        atom_mass=float(atom),
        outliers=outliers,
        degree=law.degree,
        diagnostics=diag,
        notes=tuple(notes),
        reference=reference,
    )
