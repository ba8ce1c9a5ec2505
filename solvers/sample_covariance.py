"""Generalized Marchenko–Pastur law: sample covariance with a discrete population spectrum.

Model (``docs/methods/spectra.md`` §2): S = (1/n) Σ^{1/2} Z Zᵀ Σ^{1/2} (p × p), Z i.i.d. (0, 1),
c = p/n = ``ratio``, and the spectrum of Σ tends to H = Σ_k w_k δ_{t_k} (``eigenvalues`` t_k,
``weights`` w_k). The companion Stieltjes transform m̲ solves Silverstein's equation

    z = −1/m̲ + c Σ_k w_k t_k / (1 + t_k m̲),      Im z > 0 ⇒ Im m̲ > 0,

and everything else (density, CDF, support, m of S) follows from it (docs/methods/spectra.md §2, §2.1, §2.2).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from solvers._results import Diagnostics
from solvers._validation import finite_array, positive
from solvers.exceptions import ConvergenceError, InvalidParameterError

REFERENCE = (
    "Silverstein (1995), J. Multivariate Anal. 55:331-339, eq. (1.4) (companion equation); "
    "Silverstein & Choi (1995), J. Multivariate Anal. 54:295-309, Thm 4.1-4.2 (support via x(u)); "
    "Bai & Silverstein (1999), Ann. Probab. 27:1536-1555 (exact separation); "
    "docs/methods/spectra.md §2"
)

# Continuation parameters of docs/methods/spectra.md §2.1. The floor is relative to the scale of the spectrum:
# 1e-10 keeps Im m̲ accurate to ~1e-10 inside the bulk before the η = 0 polish removes the rest,
# and costs ~35 halvings from the starting height.
_ETA_FLOOR = 1e-10
_START_FIXED_POINT_STEPS = 200
_LEVEL_TOL = 1e-7  # intermediate levels only need a start inside Newton's quadratic basin
_FINAL_TOL = 1e-14
_LEVEL_MAX_NEWTON = 8
_FINAL_MAX_NEWTON = 60  # edges are double roots of F: Newton is only linear there
_MAX_BACKTRACK = 30
_FALLBACK_STEPS = 50
_POLISH_STEPS = 8
_POLISH_MAX_MOVE = 1e-6
_REAL_IM_ZERO = 1e-13
_CONVERGED_RESIDUAL = 1e-9  # relative to the scale t_max (1 + √c)² + |x|

# The domain where the support search (docs/methods/spectra.md §2.2) was checked to resolve every interval: mapped on
# populations {t_min, 1}, {t_min, 3, 10} with weights from 0.01 to 0.99 for c from 1e-12 to 1e6
# (tests/solvers/test_sample_covariance.py). Outside it, intervals of width ~√c·t_k were missed:
# masses summing to 0.499 and a decreasing CDF at t = [1e-300, 3, 10], c = 0.1; no interval at
# all at c = 1e-12. Requests outside are refused rather than answered wrongly.
MIN_RATIO = 1e-8
MAX_DYNAMIC_RANGE = 1e8
_MASS_TOLERANCE = 1e-6
_EDGE_BLOCK_ELEMENTS = 1 << 22  # grid points × atoms per block of the edge search (32 MB per array)
_MASS_IM_TOL = 1e-6  # docs/methods/spectra.md §2.2: an interval carries mass if Im m̲(mid) > 1e-6 |m̲|


@dataclass(frozen=True, slots=True)
class SampleCovarianceSpectrum:
    """Limiting spectral distribution of S = (1/n) Σ^{1/2} Z Zᵀ Σ^{1/2} (generalized MP law).

    Attributes
    ----------
    support_intervals
        Disjoint closed intervals ``(a, b)`` carrying the continuous mass, ascending
        (Silverstein & Choi 1995; docs/methods/spectra.md §2.2). Gaps are resolved; for ``ratio == 1`` the first
        interval starts at the hard edge 0.
    atom_location, atom_mass
        The atom at 0 of mass (1 − 1/c)⁺ (p − n exactly zero eigenvalues when c > 1).
    x
        Evaluation points (copy of the input).
    density
        Density of the continuous part, f(x) = Im m̲(x + i0)/(π c); exactly 0 outside the
        support, ``nan`` (with a note) only at x = 0 when c = 1, where it diverges.
    cdf
        Cumulative distribution function at ``x``, atom included: the closed-form
        log-potential of the GMP law (see ``_cdf_from_companion``) at m̲(x + i0) inside the
        support, a step function of the masses outside it.
    interval_masses
        Continuous mass of each support interval; with the atom they sum to 1 up to ~1e-14.
        Under exact separation (Bai & Silverstein 1999) each equals the total population
        weight of the atoms the interval belongs to.
    moments
        First three moments M_1 = h_1, M_2 = h_2 + c h_1², M_3 = h_3 + 3c h_1 h_2 + c² h_1³,
        h_j = Σ_k w_k t_k^j (Bai & Silverstein 2010, Lemma 3.1 generalised; docs/methods/spectra.md §2).
    stieltjes_at, stieltjes
        Points z (Im z ≠ 0) and m(z) = ∫ μ(dt)/(t − z) of S there, from
        m = −(1/z) Σ_k w_k / (1 + t_k m̲(z)) (no cancellation near z = 0).
    diagnostics
        Worst-case state of the companion solver over all evaluation points.
    notes
        Human-readable remarks (undefined points, merged duplicate eigenvalues, ...).
    reference
        Papers and equations of the formulas.
    """

    support_intervals: tuple[tuple[float, float], ...]
    atom_location: float
    atom_mass: float
    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray
    interval_masses: tuple[float, ...]
    moments: tuple[float, ...]
    stieltjes_at: np.ndarray
    stieltjes: np.ndarray
    diagnostics: Diagnostics
    notes: tuple[str, ...]
    reference: str = REFERENCE


# --------------------------------------------------------------------------------------------
# validation


def _population(eigenvalues, weights) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validated, sorted population atoms with duplicates merged (weights summed)."""
    t = finite_array("eigenvalues", eigenvalues)
    w = finite_array("weights", weights)
    if t.size == 0:
        raise InvalidParameterError("eigenvalues", "`eigenvalues` must not be empty.")
    if np.any(t <= 0):
        raise InvalidParameterError(
            "eigenvalues",
            "`eigenvalues` must be > 0 (put zero population eigenvalues into a smaller `ratio`).",
        )
    if w.shape != t.shape:
        raise InvalidParameterError(
            "weights", f"`weights` must have the same length as `eigenvalues` ({t.size}), got {w.size}."
        )
    if np.any(w <= 0):
        raise InvalidParameterError("weights", "`weights` must be > 0.")
    total = float(np.sum(w))
    if abs(total - 1.0) > 1e-9:
        raise InvalidParameterError("weights", f"`weights` must sum to 1 (within 1e-9), got {total!r}.")
    order = np.argsort(t, kind="stable")
    t, w = t[order], w[order]
    unique, start = np.unique(t, return_index=True)
    merged = unique.size != t.size
    if merged:
        w = np.add.reduceat(w, start)
        t = unique
    return t, w / np.sum(w), merged


# --------------------------------------------------------------------------------------------
# companion Stieltjes transform (docs/methods/spectra.md §2.1)


class _Population:
    """Precomputed products of the population atoms used by every evaluation of F."""

    __slots__ = ("c", "t", "tmax", "wt", "wt2")

    def __init__(self, c: float, t: np.ndarray, w: np.ndarray) -> None:
        self.c = c
        self.t = t
        # c is folded into the weights once: F is evaluated thousands of times.
        self.wt = (c * w * t).astype(np.complex128)
        self.wt2 = (c * w * t * t).astype(np.complex128)
        self.tmax = float(t[-1])

    def sums(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """c Σ w t/(1+tm) and c Σ w t²/(1+tm)²; BLAS gemv does the K-sums."""
        r = 1.0 / (1.0 + m[:, None] * self.t)
        return r @ self.wt, (r * r) @ self.wt2

    def first_sum(self, m: np.ndarray) -> np.ndarray:
        return (1.0 / (1.0 + m[:, None] * self.t)) @ self.wt

    def residual(self, m: np.ndarray, z: np.ndarray) -> np.ndarray:
        return z + 1.0 / m - self.first_sum(m)

    def residual_and_slope(self, m: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """F, F' and the round-off level of F (below it |F| cannot decrease any further)."""
        s1, s2 = self.sums(m)
        inv = 1.0 / m
        noise = 8e-16 * (np.abs(z) + np.abs(inv) + np.abs(s1))
        return z + inv - s1, s2 - inv * inv, noise

    def fixed_point(self, m: np.ndarray, z: np.ndarray) -> np.ndarray:
        """T(m̲) = −1/(z − c Σ w t/(1+t m̲)): maps C⁺ into C⁺ (docs/methods/spectra.md §2.1 step 1)."""
        return -1.0 / (z - self.first_sum(m))


def _newton(
    pop: _Population,
    state: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    z: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], int]:
    """Safeguarded Newton on F at fixed z, for all points.

    ``state`` is (m̲, F, F', round-off level of F) at this z; returns the new state and the
    number of iterations used.

    Steps are halved until the iterate stays in C⁺ and |F| decreases (docs/methods/spectra.md §2.1 step 2);
    points whose backtracking fails get damped fixed-point steps and are retried (step 3).
    Only the points that have not met ``tol`` are carried from one iteration to the next, so
    the few slow points at the edges (where Newton is linear) do not cost the whole grid.
    """
    m, F, dF, noise = (a.copy() for a in state)
    active = np.flatnonzero(np.abs(F) > noise)
    used = 0
    for _ in range(max_iter):
        if active.size == 0:
            break
        used += 1
        ma, za, Fa = m[active], z[active], F[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = -Fa / dF[active]
        step[~np.isfinite(step)] = 0.0
        absF = np.abs(Fa)
        cand = ma + step
        Fc, dFc, nc = pop.residual_and_slope(cand, za)
        bad = (cand.imag <= 0) | ~((np.abs(Fc) < absF) | (np.abs(Fc) <= nc))
        halvings = 0
        sub = np.flatnonzero(bad)
        while sub.size and halvings < _MAX_BACKTRACK:
            halvings += 1
            step[sub] *= 0.5
            cand[sub] = ma[sub] + step[sub]
            Fc[sub], dFc[sub], nc[sub] = pop.residual_and_slope(cand[sub], za[sub])
            still = (cand[sub].imag <= 0) | ~(np.abs(Fc[sub]) < absF[sub])
            sub = sub[still]
        if sub.size:
            # Newton stalled: fall back to the damped fixed point, which cannot leave C⁺.
            ms, zs = ma[sub], za[sub]
            for _ in range(_FALLBACK_STEPS):
                ms = 0.5 * ms + 0.5 * pop.fixed_point(ms, zs)
            cand[sub] = ms
            Fc[sub], dFc[sub], nc[sub] = pop.residual_and_slope(ms, zs)
            step[sub] = np.inf  # never counted as converged on a fallback step
        m[active], F[active], dF[active], noise[active] = cand, Fc, dFc, nc
        done = (np.abs(step) <= tol * np.abs(cand)) | (np.abs(Fc) <= nc)
        active = active[~done]
    return (m, F, dF, noise), used


def _solve_companion(pop: _Population, x: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, Diagnostics]:
    """m̲ at z = x + iη for η ≥ 0 (η = 0 means the boundary value x + i0), vectorised.

    Implements docs/methods/spectra.md §2.1: start high with the fixed point, halve η level by level with
    safeguarded Newton, stop at the floor 1e-10 × scale for real points and polish at η = 0.
    """
    c = pop.c
    n = x.size
    if n == 0:
        return np.empty(0, np.complex128), Diagnostics(0, 0.0, True)
    bulk = pop.tmax * (1.0 + math.sqrt(c)) ** 2
    scale = bulk + np.abs(x)
    real = eta == 0
    # The floor is relative to the local scale: near the c = 1 hard edge (and the tiny left edge
    # σ²(1 − √c)² when c ≈ 1) m̲ varies on the scale x, so an η-error is O(η/x) and the floor must
    # shrink with x (costs a few more levels for small x only).
    local = np.minimum(scale, np.abs(x))
    floor = _ETA_FLOOR * np.where(local > 0, local, scale)
    eta_target = np.where(real, floor, eta)
    # Start above the whole spectrum (and above the target), where T is a strong contraction.
    eta0 = np.maximum(2.0 * bulk + np.abs(x), eta_target)
    z = x + 1j * eta0
    m = -1.0 / z
    iterations = 0
    for _ in range(_START_FIXED_POINT_STEPS):
        new = pop.fixed_point(m, z)
        iterations += 1
        converged = np.max(np.abs(new - m) / np.abs(new)) < 1e-13
        m = new
        if converged:
            break
    levels = int(np.max(np.ceil(np.log2(eta0 / eta_target))))
    state = (m, *pop.residual_and_slope(m, z))
    for level in range(1, levels + 1):
        eta_level = np.maximum(eta0 * 0.5**level, eta_target)
        z_new = x + 1j * eta_level
        # F depends on z only through the additive z: shift it instead of re-evaluating.
        state = (state[0], state[1] + (z_new - z), state[2], state[3])
        z = z_new
        final = level == levels
        state, used = _newton(
            pop, state, z, _FINAL_TOL if final else _LEVEL_TOL, _FINAL_MAX_NEWTON if final else _LEVEL_MAX_NEWTON
        )
        iterations += used
    if levels == 0:
        state, used = _newton(pop, state, z, _FINAL_TOL, _FINAL_MAX_NEWTON)
        iterations += used
    m = state[0]

    # Real axis (docs/methods/spectra.md §2.1 step 4): plain Newton exactly at η = 0, accepted only when it reduces
    # |F| and keeps Im m̲ ≥ 0. The bound on the move (< 1e-6 |m̲|) protects points
    # outside/at the edges; inside the bulk we also accept moves < ½ Im m̲: there the only root
    # with Im > 0 is the physical one (docs/methods/spectra.md §2.1, polynomial check), so a step that cannot reach
    # the conjugate root is safe, and it removes the O(η/d) bias of the η-floor value at a
    # distance d from an edge (1e-3 relative at d = 1e-6, far above the 1e-6 target).
    idx = np.flatnonzero(real)
    if idx.size:
        mr, xr = m[idx], x[idx].astype(np.complex128)
        Fr, dFr, _ = pop.residual_and_slope(mr, xr)
        active = np.arange(idx.size)
        for _ in range(_POLISH_STEPS):
            if active.size == 0:
                break
            iterations += 1
            ma, Fa = mr[active], Fr[active]
            with np.errstate(divide="ignore", invalid="ignore"):
                step = -Fa / dFr[active]
            cand = ma + step
            Fc, dFc, nc = pop.residual_and_slope(cand, xr[active])
            move = np.abs(step)
            ok = (
                np.isfinite(step)
                & (np.abs(Fc) < np.abs(Fa))
                & ((move < _POLISH_MAX_MOVE * np.abs(ma)) | (move < 0.5 * ma.imag))
                & (cand.imag >= -_REAL_IM_ZERO * np.abs(cand))
            )
            sel = active[ok]
            mr[sel], Fr[sel], dFr[sel] = cand[ok], Fc[ok], dFc[ok]
            # Stop polishing a point once it is rejected or at round-off.
            active = sel[(np.abs(Fc[ok]) > nc[ok]) & (move[ok] > 1e-15 * np.abs(cand[ok]))]
        # Outside the support the boundary value is real (docs/methods/spectra.md §2.1 step 4).
        im = mr.imag
        mr = np.where(np.abs(im) < _REAL_IM_ZERO * np.abs(mr), mr.real + 0j, mr)
        m[idx] = mr
        z = z.copy()
        z[idx] = xr
    residual = np.abs(pop.residual(m, z))
    bad = ~np.isfinite(residual)
    worst = float(np.max(np.where(bad, 0.0, residual)))
    converged = bool(np.all(residual <= _CONVERGED_RESIDUAL * scale))
    return m, Diagnostics(iterations=iterations, residual=worst, converged=converged)


def _companion_core(z: np.ndarray, pop: _Population) -> tuple[np.ndarray, Diagnostics]:
    """Companion transform at arbitrary complex z via conjugate symmetry m̲(z̄) = conj m̲(z)."""
    lower = z.imag < 0
    zz = np.where(lower, np.conj(z), z)
    x, eta = zz.real.copy(), zz.imag.copy()
    # At z = 0 m̲ has a pole (companion atom 1 − c when c < 1) or an x^{-1/2} blow-up (c = 1).
    singular = (x == 0) & (eta == 0) & (pop.c <= 1.0)
    ok = ~singular
    m = np.full(z.shape, np.nan + 0j, dtype=np.complex128)
    if ok.all():
        m, diag = _solve_companion(pop, x, eta)
    else:
        m[ok], diag = _solve_companion(pop, x[ok], eta[ok])
    m = np.where(lower, np.conj(m), m)
    return m, diag


def companion_stieltjes(z, *, ratio: float, eigenvalues, weights) -> tuple[np.ndarray, Diagnostics]:
    """Companion Stieltjes transform m̲(z) of the generalized Marchenko–Pastur law.

    Solves Silverstein (1995), eq. (1.4), in the companion form of docs/methods/spectra.md §2,

        z = −1/m̲ + c Σ_k w_k t_k / (1 + t_k m̲),

    with the recommended solver of ``docs/methods/spectra.md`` §2.1: start at z₀ = x + iη₀ high
    above the spectrum with the fixed point, halve η with safeguarded Newton (backtracking keeps
    m̲ in C⁺ and decreases |F|), damped fixed-point fallback, and for real points stop at
    η = 10⁻¹⁰ × scale and polish at η = 0. All points are solved at once.

    Parameters
    ----------
    z
        Complex (or real) evaluation points, any shape. Real points give the boundary value
        m̲(x + i0); Im z < 0 uses m̲(z̄) = conj m̲(z).
    ratio
        c = p/n > 0.
    eigenvalues, weights
        Population atoms t_k > 0 and their weights w_k > 0 (Σ w_k = 1); duplicates are merged.

    Returns
    -------
    m : numpy.ndarray
        Complex array of the shape of ``z``; ``nan`` at z = 0 when c ≤ 1 (pole / hard edge).
    diagnostics : Diagnostics
        Iterations (levels × inner steps, maximum over points), largest |F|, convergence flag.

    Notes
    -----
    The density of S is Im m̲(x + i0)/(π c) (x > 0) and m(z) = (m̲ + (1 − c)/z)/c.
    """
    c = positive("ratio", ratio)
    t, w, _ = _population(eigenvalues, weights)
    zz = np.asarray(z, dtype=np.complex128)
    if not np.all(np.isfinite(zz)):
        raise InvalidParameterError("z", "`z` must contain only finite values.")
    m, diag = _companion_core(zz.ravel(), _Population(c, t, w))
    return m.reshape(zz.shape), diag


# --------------------------------------------------------------------------------------------
# support (docs/methods/spectra.md §2.2, Silverstein & Choi 1995)


def _xprime_scalar(u: float, c: float, t: tuple[float, ...], wt2: tuple[float, ...]) -> float:
    """x'(u) in pure Python: Brent calls it one point at a time, where numpy's overhead dominates."""
    s = 0.0
    for tk, ak in zip(t, wt2, strict=True):
        d = 1.0 + tk * u
        if d == 0.0:
            return -math.inf
        s += ak / (d * d)
    return 1.0 / (u * u) - c * s


def _edge_candidates(c: float, t: np.ndarray, w: np.ndarray) -> list[float]:
    """Images x(u*) of the sign changes of x'(u) on each interval between the poles {−1/t_k, 0}."""
    wt, wt2 = w * t, w * t * t
    poles = np.concatenate([-1.0 / t, [0.0]])  # ascending because t is ascending
    # Grids clustered geometrically at both ends of each interval: zeros of x' can sit within
    # ~√(c w_k) of a pole when a weight is small.
    frac = np.geomspace(1e-13, 0.5, 48)
    frac = np.concatenate([frac, 1.0 - frac[::-1][1:]])
    segments = []
    for a, b in itertools.pairwise(poles):
        segments.append(a + (b - a) * frac)
    # The outer intervals are unbounded; their edge zeros run off to |u| ~ 1/(t|1 − √c|) as
    # c → 1, hence the 29 decades.
    reach = np.geomspace(1e-13, 1e16, 160)
    left = poles[0] - reach[::-1] / t[0]  # (−∞, −1/t_min)
    right = reach / t[-1]  # (0, ∞)
    segments = [left, *segments, right]
    grids = np.concatenate(segments)
    # With clustered atoms the pole interval is narrower than the grid's resolution, so a grid
    # point may land on a pole: drop those (x' is −∞ there; no zero can be bracketed by them).
    # Evaluated in blocks of rows: the full (grid × atoms) matrix is ~100 K² values (2 GB of
    # temporaries at K = 1000 atoms); a block keeps them under ~100 MB, with the same values.
    xp = np.empty(grids.size)
    rows = max(1, _EDGE_BLOCK_ELEMENTS // t.size)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for start in range(0, grids.size, rows):
            g = grids[start : start + rows]
            d = 1.0 + np.outer(g, t)
            xp[start : start + rows] = 1.0 / g**2 - c * ((1.0 / (d * d)) @ wt2)
    t_tuple, wt2_tuple = tuple(float(v) for v in t), tuple(float(v) for v in wt2)

    def f(u: float) -> float:
        return _xprime_scalar(u, c, t_tuple, wt2_tuple)

    def xu(u: float) -> float:
        return float(-1.0 / u + c * np.sum(wt / (1.0 + t * u)))

    zeros: list[float] = []
    start = 0
    for k, seg in enumerate(segments):
        vals = xp[start : start + seg.size]
        start += seg.size
        finite = np.isfinite(vals)
        seg, vals = seg[finite], vals[finite]
        if seg.size < 2:
            continue
        sign = vals > 0
        changes = np.flatnonzero(sign[:-1] != sign[1:])
        for i in changes:
            zeros.append(scipy.optimize.brentq(f, seg[i], seg[i + 1], xtol=1e-300, rtol=1e-15, maxiter=200))
        finite_interval = 0 < k < len(segments) - 1 and k < len(segments) - 2
        if finite_interval and changes.size == 0:
            # Between two population poles x' → −∞ at both ends: a small gap shows up as a
            # positive maximum the grid may have stepped over; look for it explicitly.
            top = int(np.argmax(vals))
            lo, hi = seg[max(top - 1, 0)], seg[min(top + 1, seg.size - 1)]
            res = scipy.optimize.minimize_scalar(
                lambda u: -f(u), bounds=(lo, hi), method="bounded", options={"xatol": 1e-14 * abs(hi - lo) + 1e-300}
            )
            if -res.fun > 0:
                zeros.append(scipy.optimize.brentq(f, lo, res.x, xtol=1e-300, rtol=1e-15, maxiter=200))
                zeros.append(scipy.optimize.brentq(f, res.x, hi, xtol=1e-300, rtol=1e-15, maxiter=200))
    return [xu(u) for u in zeros]


def _cdf_from_companion(x: np.ndarray, m: np.ndarray, c: float, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    """μ((−∞, x]) in closed form from m̲(x + i0), real x.

    Integrating m(z) = (c − 1 − z m̲)/(c z) with z m̲' = c (Σ w log(1 + t m̲))' − (log m̲)'
    (both from Silverstein's equation) gives the log-potential
        L(z) = ∫ log(t − z) μ(dt) = ((c − 1)/c) log z − z m̲/c + Σ_k w_k log(1 + t_k m̲) − (log m̲)/c + C,
    and F(x) = −Im L(x + i0)/π. The constant follows from F(+∞) = 1. All three logarithms have
    arguments in the closed upper half-plane, so their arguments are taken in [0, π]. The
    expression is stationary in m̲ at the root (its m̲-derivative is F(m̲)/c = 0), so an error
    δ in m̲ costs only O(δ²) in the CDF.
    """

    def arg(v: np.ndarray) -> np.ndarray:
        return np.arctan2(np.abs(v.imag), v.real)

    log_terms = (x * m.imag) / c - (arg(1.0 + m[:, None] * t) @ w) + arg(m) / c
    log_terms -= np.where(x < 0, np.pi, 0.0) * (c - 1.0) / c
    return 1.0 - 1.0 / c + log_terms / np.pi


def _support_intervals(
    pop: _Population, t: np.ndarray, w: np.ndarray
) -> tuple[list[tuple[float, float]], list[float], Diagnostics]:
    """Support intervals (docs/methods/spectra.md §2.2) and the CDF just right of each of them.

    Candidate edges are the images of the zeros of x'; a candidate interval carries mass when
    Im m̲ at its midpoint exceeds 1e-6 |m̲|. The CDF at the midpoints of the gaps (where m̲ is
    real and exact) gives the mass of every interval without quadrature.
    """
    c = pop.c
    candidates = [e for e in _edge_candidates(c, t, w) if e > 0]
    if c == 1.0:
        candidates.append(0.0)  # hard edge: x'(u) has no zero on (−∞, −1/t_min) when c = 1
    edges = np.unique(np.asarray(candidates, dtype=np.float64))
    if edges.size < 2:  # cannot happen for a valid population; keep a clear failure mode
        raise InvalidParameterError("eigenvalues", "`eigenvalues` produced a degenerate support.")
    mids = 0.5 * (edges[:-1] + edges[1:])
    left = edges[0] / 2 if edges[0] > 0 else -1.0
    right = 2.0 * edges[-1] + 1.0
    probes = np.concatenate([mids, [left, right]])
    m, diag = _solve_companion(pop, probes, np.zeros_like(probes))
    carries = m[:-2].imag > _MASS_IM_TOL * np.abs(m[:-2])
    cdf_probe = _cdf_from_companion(probes, m, c, t, w)
    intervals: list[tuple[float, float]] = []
    right_cdf: list[float] = []
    for k, (a, b, keep) in enumerate(zip(edges[:-1], edges[1:], carries, strict=True)):
        if not keep:
            if intervals and len(right_cdf) < len(intervals):
                right_cdf.append(float(cdf_probe[k]))  # the gap just right of an interval
            continue
        if intervals and intervals[-1][1] == a:  # a spurious edge inside the bulk: merge
            intervals[-1] = (intervals[-1][0], float(b))
        else:
            intervals.append((float(a), float(b)))
    if len(right_cdf) < len(intervals):
        right_cdf.append(float(cdf_probe[-1]))
    left_cdf = 0.0 if edges[0] == 0 else float(cdf_probe[-2])
    return intervals, [left_cdf, *right_cdf], diag


# --------------------------------------------------------------------------------------------
# public entry point


def _merge_diagnostics(*diags: Diagnostics) -> Diagnostics:
    return Diagnostics(
        iterations=max(d.iterations for d in diags),
        residual=max(d.residual for d in diags),
        converged=all(d.converged for d in diags),
    )


def _down_to_the_axis(
    m_s: np.ndarray,
    m_z: np.ndarray,
    z: np.ndarray,
    eta: np.ndarray,
    low: np.ndarray,
    c: float,
    t: np.ndarray,
    w: np.ndarray,
) -> np.ndarray:
    """m(x + iη) for the points ``low`` solved at z = x + iη_f instead (η < η_f), by Taylor expansion.

    m(x + i0) = m(z) − iη_f m'(z) + O(η_f²), with Im m(x + i0) = π × density ≥ 0 (clipped, since
    outside the support it is a difference of nearly equal numbers), then m(x + iη) = m(x + i0) +
    iη m'(z). m'(z) follows from m = −(1/z) Σ_k w_k/(1 + t_k m̲) and m̲'(z) = 1/(dz/dm̲),
    dz/dm̲ = 1/m̲² − c Σ_k w_k t_k²/(1 + t_k m̲)² (Silverstein 1995, eq. 1.4).
    """
    ml = m_z[low][:, None]
    zl = z[low]
    denominator = 1.0 + ml * t
    dz_dml = 1.0 / ml[:, 0] ** 2 - c * ((t * t / denominator**2) @ w)
    s_sum = (1.0 / denominator) @ w
    derivative = s_sum / zl**2 + (1.0 / zl) * ((t / denominator**2) @ w) / dz_dml
    boundary = m_s[low] - 1j * zl.imag * derivative
    boundary = boundary.real + 1j * np.maximum(boundary.imag, 0.0)
    out = m_s.copy()
    out[low] = boundary + 1j * eta[low] * derivative
    return out


def sample_covariance_spectrum(
    *,
    ratio: float,
    eigenvalues,
    weights,
    x,
    stieltjes_at=None,
) -> SampleCovarianceSpectrum:
    """Generalized Marchenko–Pastur law of S = (1/n) Σ^{1/2} Z Zᵀ Σ^{1/2}.

    The companion transform solves Silverstein (1995), eq. (1.4) (docs/methods/spectra.md §2.1 solver, see
    :func:`companion_stieltjes`); the support, its gaps and edges come from the real inverse
    x(u) = −1/u + c Σ_k w_k t_k/(1 + t_k u) of Silverstein & Choi (1995), Thm 4.1–4.2
    (complement = {x(u): x'(u) > 0}, edges at the zeros of x', refined by Brent; docs/methods/spectra.md §2.2).
    The density is f(x) = Im m̲(x + i0)/(π c) (docs/methods/spectra.md §2). The CDF is the closed-form
    log-potential of :func:`_cdf_from_companion` evaluated at the same m̲(x + i0), plus the atom
    (1 − 1/c)⁺ at 0; interval masses are its values in the gaps (Bai & Silverstein 1999, exact
    separation: they equal the population weights an interval belongs to). Moments follow
    docs/methods/spectra.md §2 (h_j formula).

    Parameters
    ----------
    ratio
        c = p/n ≥ 1e-8 (c < 1, c = 1 with the hard edge at 0, and c > 1 with an atom are allowed).
    eigenvalues, weights
        Population spectrum H = Σ_k w_k δ_{t_k}: t_k > 0 with max/min ≤ 1e8, w_k > 0, Σ w_k = 1
        (within 1e-9). Duplicate eigenvalues are merged.
    x
        Real evaluation points for the density and the CDF.
    stieltjes_at
        Optional complex points z with Im z ≠ 0 at which m(z) of S is returned.

    Returns
    -------
    SampleCovarianceSpectrum

    Raises
    ------
    InvalidParameterError
        If a parameter is out of its domain (the message names it), including the checked domain
        c ≥ 1e-8 and max/min ≤ 1e8 of the support search.
    ConvergenceError
        If the support search still misses mass (atom and interval masses not summing to 1).

    Notes
    -----
    docs/methods/spectra.md §2.2 integrates the density with an angle-variable midpoint rule for the CDF.
    That rule converges only algebraically when the density nearly vanishes inside an interval
    (a nearly closed gap, e.g. c = 0.5, H = {1, 3, 10}: mass error 3e-4 with 256 nodes, 1e-8 with
    4096), whereas the closed form is exact to the solver's accuracy (~1e-14) at no extra cost.
    The midpoint rule is kept as the independent check in the tests.
    """
    c = positive("ratio", ratio)
    t, w, merged = _population(eigenvalues, weights)
    if c < MIN_RATIO:
        raise InvalidParameterError(
            "ratio", f"`ratio` must be at least {MIN_RATIO:g} for the generalized Marchenko–Pastur law, got {c:.3g}."
        )
    if t[-1] / t[0] > MAX_DYNAMIC_RANGE:
        raise InvalidParameterError(
            "eigenvalues",
            f"`eigenvalues` may span a dynamic range max/min of at most {MAX_DYNAMIC_RANGE:g}, got {t[-1] / t[0]:.3g}: "
            "merge eigenvalues far below the others into a smaller `ratio` (they contribute a near-atom at 0).",
        )
    xv = finite_array("x", x)
    if stieltjes_at is None:
        zs = np.empty(0, dtype=np.complex128)
    else:
        zs = np.asarray(stieltjes_at, dtype=np.complex128)
        if zs.ndim != 1:
            raise InvalidParameterError("stieltjes_at", f"`stieltjes_at` must be 1-dimensional, got shape {zs.shape}.")
        if not np.all(np.isfinite(zs)):
            raise InvalidParameterError("stieltjes_at", "`stieltjes_at` must contain only finite values.")
        if np.any(zs.imag == 0):
            raise InvalidParameterError("stieltjes_at", "`stieltjes_at` must have Im z != 0 (off the real axis).")
    notes: list[str] = []
    if merged:
        notes.append("Duplicate `eigenvalues` were merged and their weights summed.")
    pop = _Population(c, t, w)
    intervals, step_cdf, diag_support = _support_intervals(pop, t, w)
    atom_mass = max(0.0, 1.0 - 1.0 / c)
    masses = [step_cdf[k + 1] - step_cdf[k] for k in range(len(intervals))]
    total = atom_mass + math.fsum(masses)
    if not abs(total - 1.0) <= _MASS_TOLERANCE:
        # A missed interval: never answer with a law that is not a probability.
        raise ConvergenceError(
            f"the support search missed part of the law (atom and interval masses sum to {total:.6g}, not 1)",
            iterations=diag_support.iterations,
            residual=abs(total - 1.0),
        )

    # One batched solve: the points strictly inside the support, then the Stieltjes points.
    inside = np.zeros(xv.shape, dtype=bool)
    for a, b in intervals:
        inside |= (xv > a) & (xv < b)
    zpos = np.where(zs.imag < 0, np.conj(zs), zs)
    # Points hugging the real axis are solved at the continuation floor η_f = 1e-10 × scale and moved
    # down to their own η to first order (below): the halving would need log2(η₀/η) levels, ~1000
    # at η = 1e-300 and an overflow at a subnormal η.
    local = np.minimum(pop.tmax * (1.0 + math.sqrt(c)) ** 2 + np.abs(zpos.real), np.abs(zpos.real))
    eta_floor = _ETA_FLOOR * np.where(local > 0, local, pop.tmax * (1.0 + math.sqrt(c)) ** 2)
    low = zpos.imag < eta_floor
    eta_solved = np.where(low, eta_floor, zpos.imag)
    n_in = int(np.count_nonzero(inside))
    xin = xv[inside]
    m, diag = _solve_companion(pop, np.concatenate([xin, zpos.real]), np.concatenate([np.zeros(n_in), eta_solved]))
    m_in, m_z = m[:n_in], m[n_in:]

    density = np.zeros(xv.shape)
    density[inside] = m_in.imag / (np.pi * c)
    # Outside the support the CDF is a step function of the masses to the left.
    cdf = np.where(xv >= 0, atom_mass, 0.0)
    for (_a, b), mass in zip(intervals, masses, strict=True):
        cdf += np.where(xv >= b, mass, 0.0)
    cdf[inside] = _cdf_from_companion(xin, m_in, c, t, w)

    if c == 1.0 and np.any(xv == 0):
        density[xv == 0] = np.nan
        notes.append("The density diverges like x^(-1/2) at the hard edge x = 0 when `ratio` = 1: returned nan.")
    bad = inside.copy()
    bad[inside] = ~np.isfinite(m_in)
    if bad.any():
        density[bad] = np.nan
        cdf[bad] = np.nan
        notes.append(f"The companion solver failed at {int(bad.sum())} point(s) of `x`: returned nan.")
    if not diag.converged or not diag_support.converged:
        notes.append("The companion solver did not meet its tolerance at every point; see diagnostics.")

    # m of S from m̲ without the 1/z cancellation near z = 0: m = −(1/z) Σ w_k / (1 + t_k m̲).
    if zs.size:
        z_solved = zpos.real + 1j * eta_solved
        wc = w.astype(np.complex128)
        m_s = -(1.0 / z_solved) * ((1.0 / (1.0 + m_z[:, None] * t)) @ wc)
        if low.any():
            m_s = _down_to_the_axis(m_s, m_z, z_solved, zpos.imag, low, c, t, wc)
            notes.append(
                "`stieltjes_at` points with |Im z| below 1e-10 × the scale of the spectrum are solved at that height "
                "and moved to their own Im z to first order: m(x + iη) = m(x + i0) + iη m'(x) + O(η_f²)."
            )
        stieltjes = np.where(zs.imag < 0, np.conj(m_s), m_s)
    else:
        stieltjes = np.empty(0, dtype=np.complex128)

    h1, h2, h3 = (float(np.sum(w * t**j)) for j in (1, 2, 3))
    moments = (h1, h2 + c * h1 * h1, h3 + 3 * c * h1 * h2 + c * c * h1**3)
    xout, zcopy = xv.copy(), zs.copy()
    for array in (xout, density, cdf, zcopy, stieltjes):
        array.setflags(write=False)
    return SampleCovarianceSpectrum(
        support_intervals=tuple(intervals),
        atom_location=0.0,
        atom_mass=atom_mass,
        x=xout,
        density=density,
        cdf=cdf,
        interval_masses=tuple(masses),
        moments=moments,
        stieltjes_at=zcopy,
        stieltjes=stieltjes,
        diagnostics=_merge_diagnostics(diag, diag_support),
        notes=tuple(notes),
    )
