"""Limiting spectrum of the neural tangent kernel (NTK) of a random two-layer network.

Network f(x) = vᵀσ(Wx)/√N with θ = (W, v), W (N × p) with i.i.d. N(0, 1) entries, v_k i.i.d. N(0, 1),
and data X (p × n) with i.i.d. N(0, 1/p) entries (the conjugate-kernel endpoint's conventions). The NTK
Gram matrix K_ij = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩ is, in closed form,

    K = (1/N) σ(WX)ᵀσ(WX) + (XᵀX) ⊙ ((1/N) σ'(WX)ᵀ diag(v)² σ'(WX))        (n × n).

Its limiting eigenvalue law (docs/derivations/neural_tangent_kernel_spectrum.md) is that of

    K ≃ A^{1/2}(I + GᵀG/N)A^{1/2} + (a − θ1) I,   A = b² XᵀX + (θ1 − b²) I,

with G (N × n) an independent Gaussian matrix, θ1 = Var σ(ξ), b = E σ'(ξ), a = E σ'(ξ)², ξ ~ N(0, 1):
the "linear combination of CK-type matrices" of Fan & Wang (2020), §3.2. Its Stieltjes transform solves
a deterministic-equivalent fixed point that extends the Marchenko–Pastur map; eliminating the auxiliary
unknown gives a polynomial of degree ≤ 6 in the Stieltjes transform, solved by continuation in Im z.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import Chebyshev
from scipy import optimize, special

from solvers import _validation as v
from solvers._results import Diagnostics
from solvers.activations import Activation, activation_moments, as_activation
from solvers.exceptions import InvalidParameterError

__all__ = [
    "NTKActivationConstants",
    "NeuralTangentKernelSpectrum",
    "activation_derivative",
    "neural_tangent_kernel_spectrum",
    "ntk_activation_constants",
]

REFERENCE = (
    "Fan & Wang (2020), NeurIPS, arXiv:2005.11879, §3.2 (NTK limit = law of a linear combination of CK-type "
    "matrices, fixed-point equations extending the Marchenko-Pastur map); Gaussian-equivalent form and "
    "Stieltjes-transform polynomial derived in docs/derivations/neural_tangent_kernel_spectrum.md"
)

# Continuation (same design as the CK solver, independent code): 60 geometric levels of Im z from
# 50 × the support scale down to 1e-10 of it, the root nearest to the linear extrapolation of the
# previous two, then Newton polishing on the polynomial.
_START_FACTOR = 50.0
_LEVELS = 60
_ETA_FINAL = 1e-10
_NEWTON_STEPS = 3
_TRACK_STEPS = 2  # Newton steps per level in the cheap tracking
_RESIDUAL_TOL = 1e-9
# density > 1e-4 × (1/scale) at a midpoint: inside. Outside the support the computed density is not exactly
# 0: the η-floor leaks ~1e-8 next to an edge, and where s ≈ 1 (below a small bulk born of the atom of A)
# m = (u − 1)/z amplifies the rounding of s to ~1e-6; true interiors have densities ≳ 1e-2/scale.
_SUPPORT_TOL = 1e-4
_SUPPORT_GRID = 1500
_CHEB_START, _CHEB_MAX = 32, 1024
_CDF_TOL = 1e-7  # mass change between Chebyshev degrees n and 2n (divergent lower edges converge algebraically)

_DERIVATIVES = {
    "linear": lambda t, p: np.ones_like(t),
    "relu": lambda t, p: (t > 0).astype(np.float64),
    "abs": lambda t, p: np.sign(t),
    "leaky_relu": lambda t, p: np.where(t > 0, 1.0, p["negative_slope"]),
    "quadratic": lambda t, p: 2.0 * p["a"] * t + p["b"],
    "erf": lambda t, p: (2.0 / math.sqrt(math.pi)) * np.exp(-t * t),
    "cos": lambda t, p: -np.sin(t),
    "sin": lambda t, p: np.cos(t),
    "gaussian": lambda t, p: -t * np.exp(-0.5 * t * t),
    "tanh": lambda t, p: 1.0 - np.tanh(t) ** 2,
    "sigmoid": lambda t, p: special.expit(t) * (1.0 - special.expit(t)),
    "gelu": lambda t, p: special.ndtr(t) + t * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi),
    "softplus": lambda t, p: special.expit(t),
    "swish": lambda t, p: special.expit(t) * (1.0 + t * (1.0 - special.expit(t))),
}
# E[σ'(ξ)²] where σ' is piecewise constant (trapezoid quadrature would converge slowly).
_PIECEWISE_SQUARE = {
    "relu": lambda p: 0.5,
    "abs": lambda p: 1.0,
    "leaky_relu": lambda p: 0.5 * (1.0 + p["negative_slope"] ** 2),
    "linear": lambda p: 1.0,
}


def activation_derivative(activation: Activation | str, t: np.ndarray) -> np.ndarray:
    """σ'(t) for the activations whose NTK is defined (``sign`` and ``step`` have σ' = 0 a.e. and are refused).

    The derivative of ``relu`` at 0 is taken as 0 and that of ``abs`` as 0 (a null set under a Gaussian).
    """
    activation = as_activation(activation)
    if activation.name not in _DERIVATIVES:
        raise InvalidParameterError(
            "activation",
            f"`activation` {activation.name!r} has a zero derivative almost everywhere: its NTK is not defined.",
        )
    return _DERIVATIVES[activation.name](np.asarray(t, dtype=np.float64), dict(activation.parameters))


@dataclass(frozen=True, slots=True)
class NTKActivationConstants:
    """Gaussian constants of an activation for the NTK spectrum (ξ ~ N(0, 1)).

    Attributes
    ----------
    theta1
        θ1 = Var σ(ξ) (the CK's θ1).
    mean_derivative
        b = E σ'(ξ) = E[ξσ(ξ)] (Fan & Wang's b_σ); θ2 = b².
    mean_square_derivative
        a = E[σ'(ξ)²], the diagonal of the Hadamard term.
    mean
        E σ(ξ).
    method
        ``"closed_form"`` or ``"quadrature"`` (trapezoid rule on the Gaussian, step 1/32 on [-13, 13]).
    reference
        Where the constants are defined.
    """

    theta1: float
    mean_derivative: float
    mean_square_derivative: float
    mean: float
    method: str
    reference: str = (
        "Fan & Wang (2020), NeurIPS, arXiv:2005.11879, §3.2 (b_σ, and a = E σ'(ξ)² of the NTK's Hadamard term); "
        "docs/derivations/neural_tangent_kernel_spectrum.md §1-§2"
    )


def ntk_activation_constants(*, activation: Activation | str) -> NTKActivationConstants:
    """θ1 = Var σ(ξ), b = E σ'(ξ), a = E σ'(ξ)² and E σ(ξ), ξ ~ N(0, 1).

    Notes
    -----
    θ1 and b from :func:`solvers.activations.activation_moments`; a in closed form for piecewise-linear σ,
    otherwise by the trapezoid rule on a Gaussian weight (exponentially accurate for analytic σ').
    Cauchy–Schwarz gives a ≥ b² and θ1 ≥ b²; equalities hold iff σ is affine.
    """
    activation = as_activation(activation)
    derivative = activation_derivative(activation, np.zeros(1))  # refuses sign/step
    del derivative
    moments = activation_moments(activation=activation)
    params = dict(activation.parameters)
    if activation.name in _PIECEWISE_SQUARE:
        a = _PIECEWISE_SQUARE[activation.name](params)
        method = moments.method
    elif activation.name == "quadratic":
        a = 4.0 * params["a"] ** 2 + params["b"] ** 2
        method = moments.method
    else:
        step = 1.0 / 32.0
        t = np.arange(-13.0, 13.0 + step / 2, step)
        w = step * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
        d = activation_derivative(activation, t)
        a = float((d * d) @ w)
        method = "quadrature"
    b = moments.mean_derivative
    theta1 = max(moments.mean_square - moments.mean**2, 0.0)
    # Affine σ: snap the rounding of θ1 − b² and a − b² to exact zeros.
    if theta1 - b * b <= 1e-12 * max(theta1, 1e-300):
        theta1 = b * b
    if a - b * b <= 1e-12 * max(a, 1e-300):
        a = b * b
    return NTKActivationConstants(
        theta1=theta1, mean_derivative=b, mean_square_derivative=a, mean=moments.mean, method=method
    )


# --------------------------------------------------------------------------------------------
# the law of K' = A^{1/2}(I + GᵀG/N)A^{1/2}, A = b²T + c², T ~ MP(γ = n/p) (derivation §4-§5)


class _Law:
    """Stieltjes transform m(z) = ∫ μ(dt)/(t − z) of K' (b² = θ2, c² = θ1 − θ2, γ = n/p, ρ = n/N)."""

    def __init__(self, b2: float, c2: float, gamma: float, rho: float) -> None:
        self.b2, self.c2, self.gamma, self.rho = b2, c2, gamma, rho
        lam_minus, lam_plus = (1.0 - math.sqrt(gamma)) ** 2, (1.0 + math.sqrt(gamma)) ** 2
        self.a_support = (c2 + b2 * lam_minus, c2 + b2 * lam_plus) if b2 > 0 else (c2, c2)
        self.a_norm = c2 + b2 * lam_plus
        # ‖K'‖ ≤ ‖A‖ (1 + ‖GᵀG/N‖) → ‖A‖(1 + (1 + √ρ)²): the support lies in [c², scale].
        # (5 % above the bound: when A = c²I the upper edge attains it exactly, and must stay a candidate)
        self.scale = 1.05 * self.a_norm * (1.0 + (1.0 + math.sqrt(rho)) ** 2)
        self.lower = c2
        # atoms (Belinschi: μ⊠ν({st}) = (μ({s}) + ν({t}) − 1)⁺ for st ≠ 0; μ⊠ν({0}) = max(μ({0}), ν({0})))
        w_a = 1.0 if b2 == 0.0 else max(0.0, 1.0 - 1.0 / gamma)
        w_b = max(0.0, 1.0 - 1.0 / rho)
        if c2 == 0.0:
            self.atom_location, self.atom_mass = 0.0, w_a
        else:
            self.atom_location, self.atom_mass = c2, max(0.0, w_a + w_b - 1.0)
        self.pole = b2 == 0.0 or gamma > 1.0  # m_A has a pole at c² (A = c²I, or its atom of mass 1 − p/n)
        self._quadratic = self._coefficients_in_z()
        self.degree = self._degree()

    # ---- the polynomial in s (derivation §5) ----------------------------------------------
    def _coefficients_in_z(self) -> np.ndarray:
        """The quintic (5.2) as Q₀(s) + z Q₁(s) + z² Q₂(s): rows Q₀, Q₁, Q₂ of ascending coefficients in s, (3, 6).

        With P(s) = −s² + (2 − ρ)s + ρ:
        −γb²c² s P² + γb² z P² − (b²(1 − γ) + c²) ρ z P (s − 1) + ρ z² (2 − s)(s − 1) = 0.
        Built once per law: the tracking evaluates the coefficients at every level of η and every Newton step
        (hundreds of times per request), where assembling the products of polynomials anew cost more than all
        the arithmetic on them (half of a one-point request).
        """
        g, b2, c2, rho = self.gamma, self.b2, self.c2, self.rho
        p = np.array([rho, 2.0 - rho, -1.0])
        p2 = np.convolve(p, p)
        out = np.zeros((3, 6))
        out[0] = -g * b2 * c2 * np.convolve([0.0, 1.0], p2)
        out[1, :5] += g * b2 * p2
        out[1, :4] -= (b2 * (1.0 - g) + c2) * rho * np.convolve(p, [-1.0, 1.0])
        out[2, :3] = rho * np.array([-2.0, 3.0, -1.0])  # (2 − s)(s − 1) = −2 + 3s − s²
        return out

    def coefficients(self, z: np.ndarray) -> np.ndarray:
        """Ascending coefficients in s of the quintic (5.2) at each z, shape (M, 6) (see :meth:`_coefficients_in_z`)."""
        z = np.asarray(z, dtype=np.complex128).reshape(-1, 1)
        q0, q1, q2 = self._quadratic
        return q0 + z * (q1 + z * q2)

    def to_m(self, s: np.ndarray, z: np.ndarray) -> np.ndarray:
        """m = (u − 1)/z with u = (1 + zm) = s(2 − s)/(ρ(s − 1)) (derivation (5.1))."""
        u = s * (2.0 - s) / (self.rho * (s - 1.0))
        return (u - 1.0) / z

    def _degree(self) -> int:
        probe = self.coefficients(np.array([0.37 + 0.61j]) * max(self.scale, 1.0))[0]
        big = np.max(np.abs(probe))
        nz = np.nonzero(np.abs(probe) > 1e-12 * big)[0]
        return int(nz[-1])

    def roots(self, z: np.ndarray) -> np.ndarray:
        """All roots in s at each z (batched companion matrices), shape (M, degree)."""
        c = self.coefficients(z)[:, : self.degree + 1]
        d = self.degree
        comp = np.zeros((z.size, d, d), dtype=np.complex128)
        comp[:, 0, :] = -(c[:, d - 1 :: -1] / c[:, d : d + 1])
        idx = np.arange(d - 1)
        comp[:, idx + 1, idx] = 1.0
        return np.linalg.eigvals(comp)

    def residual(self, m: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """R(s), ∂R/∂s and Σ_k |c_k s^k| (the scale of the rounding), R the quintic (5.2)."""
        c = self.coefficients(z)[:, : self.degree + 1]
        value = np.zeros_like(m)
        slope = np.zeros_like(m)
        for k in range(self.degree, -1, -1):
            slope = slope * m + value
            value = value * m + c[:, k]
        size = np.sum(np.abs(c) * np.abs(m)[:, None] ** np.arange(self.degree + 1), axis=1)
        return value, slope, size

    def _track(self, x: np.ndarray, etas: np.ndarray, newton: bool) -> np.ndarray:
        """Follow the physical root s from z = x + i·etas[0] (s ≈ 2) down the levels of η.

        ``newton=True``: predictor (linear extrapolation in η) + 2 Newton steps per level, cheap;
        ``newton=False``: all roots by companion eigenvalues, the one nearest the predictor (robust).
        """
        s: np.ndarray | None = None
        s1: np.ndarray | None = None
        rows = np.arange(x.size)
        for k in range(etas.shape[0]):
            z = x + 1j * etas[k]
            if k == 0:
                target = np.full(x.size, 2.0 + 0j)  # δ → 0 as z → ∞: s = 1 + 1/(1 + δ) → 2
            elif k == 1:
                assert s is not None  # set at level 0
                target = s
            else:
                assert s is not None and s1 is not None  # set at levels k − 1 and k − 2
                target = s + (s - s1) * (etas[k] - etas[k - 1]) / (etas[k - 1] - etas[k - 2])
            if newton:
                new = target
                for _ in range(_TRACK_STEPS if k else 6):
                    value, slope, _ = self.residual(new, z)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        new = new - value / slope
                new = np.where(np.isfinite(new), new, target)
            else:
                r = self.roots(z)
                new = r[rows, np.argmin(np.abs(r - target[:, None]), axis=1)]
            s1, s = s, new
        assert s is not None  # etas holds at least one level
        return s

    def stieltjes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, Diagnostics]:
        """m(x + iη_f) for real x, η_f = 1e-10 × scale (tracking the root s); returns m, the points z, diagnostics.

        Newton tracking first; points whose end value is not a root on the physical side (Im m ≥ 0) or that
        moved by more than 1e-6 relative to the nearest companion-matrix root are redone with the
        eigenvalue tracking.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return np.empty(0, np.complex128), np.empty(0, np.complex128), Diagnostics(0, 0.0, True)
        y0 = _START_FACTOR * np.maximum(self.scale, np.abs(x))
        eta_f = _ETA_FINAL * self.scale
        frac = np.arange(_LEVELS + 1)[:, None] / _LEVELS
        etas = y0[None, :] * (eta_f / y0)[None, :] ** frac
        z = x + 1j * etas[-1]
        s = self._track(x, etas, newton=True)
        value, _, size = self.residual(s, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = self.to_m(s, z)
            bad = ~((np.abs(value) <= _RESIDUAL_TOL * size) & (m.imag >= -1e-8 * np.abs(m)) & np.isfinite(m))
        # Near an edge two roots meet and the Newton track may end on the other one while staying a root:
        # compare every 16th point with the eigenvalue tracking, and if any differs, trust only the latter.
        redo = bad.copy()
        if np.any(~bad):
            probe = np.zeros(x.size, dtype=bool)
            probe[::16] = True
            s_probe = self._track(x[probe], etas[:, probe], newton=False)
            mismatch = np.abs(s_probe - s[probe]) > 1e-6 * np.abs(s_probe)
            if np.any(mismatch):
                redo[:] = True  # the cheap track is not trusted for this law: redo everything
        if np.any(redo):
            s = s.copy()
            s[redo] = self._track(x[redo], etas[:, redo], newton=False)
        for _ in range(_NEWTON_STEPS):
            value, slope, size = self.residual(s, z)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = value / slope
            ok = np.isfinite(step) & (np.abs(step) <= 1e-3 * np.abs(s))
            s = np.where(ok, s - step, s)
        value, _, size = self.residual(s, z)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(value) / size
        rel = np.where(np.isfinite(rel), rel, 0.0)
        m = self.to_m(s, z)
        wrong = int(np.count_nonzero(m.imag < -1e-8 * np.abs(m)))
        worst = float(np.max(rel, initial=0.0))
        iterations = (_LEVELS + 1) * (_TRACK_STEPS if not np.any(redo) else 1) + _NEWTON_STEPS
        diag = Diagnostics(iterations, worst, bool(worst <= _RESIDUAL_TOL and wrong == 0))
        return m, z, diag

    def density(self, x: np.ndarray) -> tuple[np.ndarray, Diagnostics]:
        """Density of the continuous part of the law of K' at real x (the atom's Lorentzian removed)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        inside = (x > self.lower - 1e-12 * self.scale) & (x < self.scale)
        if not np.any(inside):
            return out, Diagnostics(0, 0.0, True)
        m, z, diag = self.stieltjes(x[inside])
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = (m - self.atom_mass / (self.atom_location - z)).imag / math.pi
        out[inside] = np.maximum(np.where(np.isfinite(rho), rho, 0.0), 0.0)
        return out, diag

    # ---- support edges: critical values of the explicit inverse z(w) (derivation §6) ----------
    def _m_a(self, w: np.ndarray) -> np.ndarray:
        """m_A(w) = ∫ μ_A(dt)/(t − w), analytic off supp A (product of principal square roots)."""
        w = np.asarray(w, dtype=np.complex128)
        if self.b2 == 0.0:
            return 1.0 / (self.c2 - w)
        g = self.gamma
        u = (w - self.c2) / self.b2
        lo_a, hi_a = self.a_support
        # u − λ± = (w − edge)/b²: the subtraction w − edge is exact next to an edge (no cancellation noise)
        root = np.sqrt((w - lo_a) / self.b2) * np.sqrt((w - hi_a) / self.b2)
        return ((1.0 - g - u) + root) / (2.0 * g * u) / self.b2

    def inverse(self, w: np.ndarray, branch: float = 1.0) -> np.ndarray:
        """z(w) = w s(w), s = ((2 − q) ± √(q² + 4))/2, q = ρ(1 + w m_A(w)) (derivation §6).

        Both roots s of (4.3) can be the physical one on the real axis (s < 1 where δ < −1, e.g. in the gap
        above an atom), so the edges are sought on both branches (``branch`` = ±1).
        """
        w = np.asarray(w, dtype=np.complex128)
        q = self.rho * (1.0 + w * self._m_a(w))
        s = 0.5 * ((2.0 - q) + branch * np.sqrt(q * q + 4.0))
        return w * s

    def _slope(self, w: np.ndarray, branch: float = 1.0) -> np.ndarray:
        """dz/dw at real w by the complex step (z is real-analytic off supp A)."""
        w = np.asarray(w, dtype=np.float64)
        h = 1e-30 * np.maximum(np.abs(w), 1e-300)
        return self.inverse(w + 1j * h, branch).imag / h

    def edge_candidates(self) -> list[float]:
        """Critical values z(w*) of the inverse on every real interval of (0, ∞) outside supp A."""
        lo_a, hi_a = self.a_support
        scale = self.scale
        intervals: list[tuple[float, float]] = []
        breaks = sorted({lo_a, hi_a, self.c2} - {0.0})
        left = 0.0
        for point in breaks:
            if point > left and not (lo_a < 0.5 * (left + point) < hi_a):
                intervals.append((left, point))
            left = max(left, point)
        intervals.append((left, math.inf))
        out: list[float] = []
        u = np.linspace(0.0, 1.0, 4001)[1:-1]
        for lo, hi in intervals:
            if math.isinf(hi):
                w = lo + scale * np.geomspace(1e-15, 1e4, 5000)
            else:
                t = 0.5 * (1.0 - np.cos(math.pi * u))
                # Critical points can lie very close to an end (a branch point or the pole c² of m_A): sample
                # geometrically down to 1e-15 of the width at both ends.
                t = np.concatenate([np.geomspace(1e-15, 1e-4, 300), t, 1.0 - np.geomspace(1e-4, 1e-15, 300)])
                w = lo + (hi - lo) * np.unique(t)
            w = w[(w > lo) & (w < hi)]
            for branch in (1.0, -1.0):
                d = self._slope(w, branch)
                ok = np.isfinite(d)
                wb, d = w[ok], d[ok]
                change = np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0]
                for i in change:
                    try:
                        ws = optimize.brentq(
                            lambda t, br=branch: float(self._slope(np.array([t]), br)[0]),
                            wb[i],
                            wb[i + 1],
                            xtol=1e-15 * wb[i + 1],
                            rtol=1e-15,
                        )
                    except ValueError:  # pragma: no cover - a sign change always brackets
                        continue
                    zc = float(self.inverse(np.array([ws]), branch)[0].real)
                    if self.lower - 1e-12 * scale <= zc <= scale:
                        out.append(zc)
        return sorted(out)

    def support(self) -> tuple[tuple[float, float], ...]:
        """Intervals of the continuous part.

        The density is evaluated on a grid of 1500 points of [c², scale] together with every candidate edge
        (critical values of z(w)) and the midpoints between consecutive candidates; each run of points with
        density above the threshold is one interval. Its ends are the candidate edges inside the bracketing
        grid cells when there is one (exact), otherwise found by 60 bisections on the same classification
        (the candidate search can miss an edge whose critical point sits within rounding of a pole).
        """
        # The rounding of z' next to the pole c² of m_A (and of m next to an atom) yields spurious candidates and
        # densities within ~1e-7 of c²: that window is treated as outside (no bulk is that narrow here).
        window = 1e-6 * self.scale
        cands = [c for c in self.edge_candidates() if self.lower + window < c < self.scale]
        mids = [0.5 * (a + b) for a, b in itertools.pairwise(cands)]
        grid = np.unique(np.concatenate([np.linspace(self.lower, self.scale, _SUPPORT_GRID), cands, mids]))
        inside = self._inside(grid)
        if not np.any(inside):
            return ()
        flips = np.nonzero(np.diff(inside.astype(np.int8)))[0]  # edge between grid[i] and grid[i + 1]
        edges = []
        cand = np.array(cands)
        todo = []
        for i in flips:
            a, b = grid[i], grid[i + 1]
            hit = cand[(cand >= a) & (cand <= b)] if cand.size else cand
            if hit.size:
                # rising edge: the last candidate ≤ the first inside point; falling: the first ≥ the last inside
                edges.append(float(hit.max() if inside[i + 1] else hit.min()))
            else:
                edges.append(math.nan)
                todo.append((len(edges) - 1, a, b, bool(inside[i + 1])))
        if todo:
            lo = np.array([t[1] for t in todo])
            hi = np.array([t[2] for t in todo])
            rising = np.array([t[3] for t in todo])
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                ins = self._inside(mid)
                # rising: inside at hi; move hi down when mid is inside. falling: inside at lo.
                move_hi = ins == rising
                hi = np.where(move_hi, mid, hi)
                lo = np.where(move_hi, lo, mid)
            for (k, *_), a, b in zip(todo, lo, hi, strict=True):
                edges[k] = float(0.5 * (a + b))
        starts = [self.lower] if inside[0] else []
        bounds = starts + edges + ([float(grid[-1])] if inside[-1] else [])
        return tuple((bounds[j], bounds[j + 1]) for j in range(0, len(bounds) - 1, 2))

    def _inside(self, x: np.ndarray) -> np.ndarray:
        """Whether the density at x exceeds the support threshold (never within 1e-6·scale of c² or of an atom)."""
        x = np.asarray(x, dtype=np.float64)
        dens, _ = self.density(x)
        window = 1e-6 * self.scale
        near = np.abs(x - self.lower) < window
        if self.atom_mass > 0:
            near |= np.abs(x - self.atom_location) < window
        return (dens > _SUPPORT_TOL / self.scale) & ~near

    # ---- CDF: Chebyshev antiderivative of the density on each interval (θ-substitution) ------
    def cdf(self, x: np.ndarray, support) -> tuple[np.ndarray, Diagnostics, list[str]]:
        x = np.asarray(x, dtype=np.float64)
        out = np.where(x >= self.atom_location, self.atom_mass, 0.0) if self.atom_mass > 0 else np.zeros_like(x)
        total = self.atom_mass
        evaluations = 0
        converged = True
        notes: list[str] = []
        for lo, hi in support:
            width = hi - lo

            # x = lo + width·((1 − cos θ)/2)²: x − lo ~ θ⁴ absorbs a divergent lower edge (the density of
            # K' can diverge at c² when an atom of A meets the hard edge of I + GᵀG/N), and the upper
            # square-root edge gives an integrand ~ (π − θ)².
            def integrand(theta, lo=lo, width=width):
                half_chord = 0.5 * (1.0 - np.cos(theta))
                xs = lo + width * half_chord * half_chord
                dens, _ = self.density(xs)
                return dens * width * half_chord * np.sin(theta)

            deg = _CHEB_START
            prev = None
            while True:
                series = Chebyshev.interpolate(integrand, deg, domain=[0.0, math.pi])
                evaluations += deg + 1
                anti = series.integ(lbnd=0.0)
                mass = float(anti(math.pi))
                if prev is not None and abs(mass - prev) <= _CDF_TOL:
                    break
                if deg >= _CHEB_MAX:
                    converged = False
                    change = math.nan if prev is None else abs(mass - prev)
                    notes.append(
                        f"CDF on [{lo:.6g}, {hi:.6g}]: Chebyshev degree {deg} reached, mass change {change:.1e}."
                    )
                    break
                prev, deg = mass, 2 * deg
            theta = np.arccos(np.clip(1.0 - 2.0 * np.sqrt((np.clip(x, lo, hi) - lo) / width), -1.0, 1.0))
            out = out + np.where(x >= hi, mass, np.where(x <= lo, 0.0, anti(theta)))
            total += mass
        if abs(total - 1.0) > 1e-6:
            converged = False
            notes.append(f"The density and atom integrate to {total:.9f}, not 1: the CDF is returned unnormalised.")
        elif total > self.atom_mass:
            # within the quadrature's accuracy: rescale the continuous part so that the CDF ends at 1 exactly
            atom_part = np.where(x >= self.atom_location, self.atom_mass, 0.0)
            out = atom_part + (out - atom_part) * (1.0 - self.atom_mass) / (total - self.atom_mass)
        return np.clip(out, 0.0, 1.0), Diagnostics(evaluations, abs(total - 1.0), converged), notes


# --------------------------------------------------------------------------------------------
# result and entry point


@dataclass(frozen=True, slots=True)
class NeuralTangentKernelSpectrum:
    """Limiting spectral distribution of the NTK Gram matrix of a random two-layer network.

    Attributes
    ----------
    ratio, neurons_per_sample
        φ = p/n and r = N/n.
    theta1, theta2, mean_square_derivative, activation_mean
        θ1 = Var σ(ξ), θ2 = (E σ'(ξ))², a = E σ'(ξ)², E σ(ξ).
    shift
        a − θ1: K ≃ K' + (a − θ1) I (derivation §3).
    x
        Evaluation points.
    density
        Density of the continuous part at ``x`` (≥ 0, finite).
    cdf
        CDF at ``x``, atom included (``None`` if not requested).
    support
        Intervals of the continuous part, ascending.
    atom_location, atom_mass
        The atom: at 0 with mass (1 − p/n)⁺ for affine σ; otherwise at a − θ2 = Var σ'(ξ) with mass
        (1 − (p + N)/n)⁺ (derivation §7); mass 0 if none.
    degree
        Degree in m of the polynomial solved (6 in general, lower for affine σ or θ2 = 0).
    diagnostics
        Continuation levels + Newton steps (+ CDF evaluations), worst relative residual, convergence.
    notes
        Mean outlier, finite-size caveats, quadrature.
    reference
        Papers and derivation.
    """

    ratio: float
    neurons_per_sample: float
    theta1: float
    theta2: float
    mean_square_derivative: float
    activation_mean: float
    shift: float
    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray | None
    support: tuple[tuple[float, float], ...]
    atom_location: float
    atom_mass: float
    degree: int
    diagnostics: Diagnostics
    notes: tuple[str, ...]
    reference: str = REFERENCE


def _iv(activation, ratio, neurons_per_sample, x) -> tuple[Activation, float, float, np.ndarray]:
    activation = as_activation(activation)
    phi = v.positive("ratio", ratio)
    r = v.positive("neurons_per_sample", neurons_per_sample)
    for name, value in (("ratio", phi), ("neurons_per_sample", r)):
        if not 0.1 <= value <= 10.0:
            raise InvalidParameterError(
                name,
                f"`{name}` must lie in [0.1, 10] (the range in which the NTK law is solved and tested), got {value!r}.",
            )
    x = v.finite_array("x", x)
    return activation, phi, r, x


def neural_tangent_kernel_spectrum(
    *,
    activation: Activation | str,
    ratio: float,
    neurons_per_sample: float,
    x: np.ndarray | Sequence[float] = (),
    with_cdf: bool = True,
) -> NeuralTangentKernelSpectrum:
    r"""Limiting eigenvalue law of the NTK Gram matrix K_ij = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩, f(x) = vᵀσ(Wx)/√N.

    By Fan & Wang (2020), NeurIPS (arXiv:2005.11879), §3.2, the NTK's limit is that of a linear
    combination of CK-type matrices; for this network (derivation §2-§3)

    .. math:: K \simeq A^{1/2}(I + G^\top G/N)A^{1/2} + (a - \theta_1) I,\quad A = \theta_2 X^\top X + (\theta_1 - \theta_2) I,

    whose Stieltjes transform m(z) = ∫ μ(dt)/(t − z) solves (derivation §4, eqs. (4.2)-(4.4))

    .. math:: m = \frac{1}{s} m_A(z/s),\qquad s^2 + (q - 2)s - q = 0,\qquad q = \frac{n}{N}(1 + z m),

    with m_A the Stieltjes transform of θ2·MP(n/p) + θ1 − θ2. Eliminating s gives a polynomial of
    degree ≤ 6 in m (eq. (5.1)); roots are selected by continuation in Im z (60 geometric levels from
    50× the support scale to 1e-10 of it, nearest root to the linear extrapolation), then Newton. Support
    edges are the critical values of the explicit inverse z(w) (eq. (6.1)); the CDF integrates the density
    by a Chebyshev antiderivative under x = lo + (hi − lo)(1 − cos θ)/2.

    Parameters
    ----------
    activation
        σ from the catalogue (``sign`` and ``step`` are refused: σ' = 0 almost everywhere).
    ratio
        φ = p/n.
    neurons_per_sample
        r = N/n.
    x
        Real points at which to evaluate density and CDF.
    with_cdf
        Also return the CDF at ``x``.

    Returns
    -------
    NeuralTangentKernelSpectrum

    Raises
    ------
    InvalidParameterError
        A parameter outside its domain (named), or an activation constant on the Gaussian.
    """
    activation, phi, r, x = _iv(activation, ratio, neurons_per_sample, x)
    k = ntk_activation_constants(activation=activation)
    theta1, b, a = k.theta1, k.mean_derivative, k.mean_square_derivative
    if not theta1 > 1e-300:
        raise InvalidParameterError("activation", f"`activation` {activation.name!r} is constant on the Gaussian.")
    theta2 = b * b
    c2 = max(theta1 - theta2, 0.0)
    if theta2 <= 1e-14 * theta1:
        theta2 = 0.0
    # Homogeneity: σ → ασ multiplies K by α²; solve with θ1 = 1 for conditioning.
    law = _law(theta2 / theta1, c2 / theta1, 1.0 / phi, 1.0 / r)
    shift = a - theta1
    notes: list[str] = []
    if k.method == "quadrature":
        notes.append("E σ'(ξ)² (and possibly θ1, θ2) by the trapezoid rule on the Gaussian weight.")
    if abs(k.mean) > 1e-12 * math.sqrt(theta1):
        notes.append(
            f"σ = {activation.name} is not centred (E σ(ξ) = {k.mean:.6g}): the NTK has one outlier ≈ (E σ)² n above the "
            "bulk (the mean term (E σ)² 1 1ᵀ of (1/N)σ(WX)ᵀσ(WX)); it does not change the bulk returned here."
        )
    notes.append(
        "Low-rank terms (the mean of σ, E[σ''(ξ)]² (XᵀX)^⊙2, row-norm fluctuations of W) may add a few outliers "
        "above the bulk; they carry O(1/n) of the mass and are not predicted here."
    )

    if phi < 1.0 and theta2 > 0.0:
        notes.append(
            "n > p: XᵀX has an atom (1 − p/n) that the law turns into a small bulk or a steep lower edge near Var σ'(ξ); "
            "the actual NTK smears it over O(p^(-1/2)) and converges slowly there (erf, p/n = 0.5, N/n = 1.5: KS "
            "distance 0.086, 0.058, 0.039 at n = 750, 1500, 3000, against 0.004, 0.002, 0.001 for the Gaussian-equivalent "
            "matrix; derivation §8)."
        )
    notes.append(
        "With Gaussian v the Hadamard term is multiplied by ‖v‖²/N = 1 ± √(2/N) in each network: one draw's spectrum is "
        "shifted by O(N^(-1/2)) from this law (derivation §8)."
    )
    xn = (x - shift) / theta1
    density_n, diag = law.density(xn)
    support_n = law.support()
    inside = np.zeros(x.shape, dtype=bool)
    for lo, hi in support_n:
        inside |= (xn >= lo - 1e-12 * law.scale) & (xn <= hi + 1e-12 * law.scale)
    density_n = np.where(inside, density_n, 0.0)
    density = density_n / theta1
    cdf = None
    if with_cdf:
        cdf, cdf_diag, cdf_notes = law.cdf(xn, support_n)
        notes.extend(cdf_notes)
        diag = Diagnostics(diag.iterations + cdf_diag.iterations, diag.residual, diag.converged and cdf_diag.converged)
    atom_location = law.atom_location * theta1 + shift
    if law.atom_mass > 0:
        notes.append(
            f"Atom of mass {law.atom_mass:.6g} at {atom_location:.6g}"
            + (
                " (σ affine: rank p of the NTK)."
                if law.c2 == 0.0
                else " (Var σ'(ξ) = a − θ2; the network's eigenvalues near it are spread over O(1/√p) at finite size)."
            )
        )
    return NeuralTangentKernelSpectrum(
        ratio=phi,
        neurons_per_sample=r,
        theta1=theta1,
        theta2=theta2,
        mean_square_derivative=a,
        activation_mean=k.mean,
        shift=shift,
        x=x,
        density=density,
        cdf=cdf,
        support=tuple((lo * theta1 + shift, hi * theta1 + shift) for lo, hi in support_n),
        atom_location=float(atom_location) if law.atom_mass > 0 else 0.0,
        atom_mass=float(law.atom_mass),
        degree=law.degree,
        diagnostics=diag,
        notes=tuple(notes),
    )


def _law(b2: float, c2: float, gamma: float, rho: float) -> _Law:
    if c2 <= 1e-12:
        c2 = 0.0
    return _Law(b2, c2, gamma, rho)
