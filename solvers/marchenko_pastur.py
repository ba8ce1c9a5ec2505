"""The Marchenko–Pastur law: density, CDF, moments and Stieltjes transform.

Conventions follow ``docs/methods/spectra.md`` §0–§1: ``X`` is ``p × n`` with i.i.d. entries of
variance ``variance`` (σ²), columns are samples, ``ratio`` is c = p/n. The *covariance* law is the
limiting eigenvalue distribution of S = (1/n) X Xᵀ (p × p); the *gram* law is that of the companion
matrix (1/n) Xᵀ X (n × n), which has the same non-zero eigenvalues.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from math import comb
from typing import Literal

import numpy as np

from solvers._validation import finite_array, positive, positive_int
from solvers.exceptions import InvalidParameterError

Matrix = Literal["covariance", "gram"]

REFERENCE = (
    "Marchenko & Pastur (1967), Math. USSR-Sb. 1(4):457-483; Bai & Silverstein (2010), "
    "Spectral Analysis of Large Dimensional Random Matrices, Thm 3.6 (density) and Lemma 3.1 "
    "(moments); Stieltjes transform on the branch of docs/methods/spectra.md §1.2"
)

MAX_MOMENTS = 20
#: Up to this many points the density, the CDF and m(z) are evaluated point by point with ``math`` and
#: ``cmath`` instead of numpy: a typical request asks for a handful of points, where each of the ~30
#: numpy calls of the vectorised path costs more than its arithmetic (7 points and one z: 29 → 8 µs,
#: measured; the break-even is ~60 points for the density and CDF, ~16 for m(z)). Both paths evaluate
#: the same expressions in the same order; tests check that they agree to rounding on random inputs.
POINTWISE_MAX = 16
_NOT_FINITE = "`stieltjes_at` must contain only finite values."
_ON_THE_AXIS = "`stieltjes_at` points must have a non-zero imaginary part (the transform has a cut on the real axis)."


@dataclass(frozen=True, slots=True)
class MarchenkoPasturSpectrum:
    """The Marchenko–Pastur law evaluated at the requested points.

    Attributes
    ----------
    support_lower, support_upper
        Edges λ± = σ²(1 ± √c)² of the continuous part.
    atom_location, atom_mass
        The atom at 0: (1 − 1/c)⁺ for the covariance law, (1 − c)⁺ for the gram law.
    x
        Evaluation points.
    density
        Density of the continuous part at ``x``; ``nan`` only where it diverges (x = 0, c = 1).
    cdf
        Cumulative distribution function at ``x`` (atom included).
    moments
        ``moments[k-1]`` is the k-th moment ∫ tᵏ μ(dt), k = 1..n_moments.
    stieltjes_at, stieltjes
        Complex points z (Im z ≠ 0) and m(z) = ∫ μ(dt)/(t − z) there.
    notes
        Human-readable remarks (e.g. why a density value is undefined).
    reference
        Paper and equation of the formulas.
    """

    support_lower: float
    support_upper: float
    atom_location: float
    atom_mass: float
    x: np.ndarray
    density: np.ndarray
    cdf: np.ndarray
    moments: np.ndarray
    stieltjes_at: np.ndarray
    stieltjes: np.ndarray
    notes: tuple[str, ...]
    reference: str = REFERENCE


def marchenko_pastur(
    *,
    ratio: float,
    variance: float = 1.0,
    matrix: Matrix = "covariance",
    x: np.ndarray | Sequence[float] = (),
    n_moments: int = 4,
    stieltjes_at: np.ndarray | Sequence[complex] = (),
) -> MarchenkoPasturSpectrum:
    r"""Evaluate the Marchenko–Pastur law of (1/n)XXᵀ or (1/n)XᵀX.

    The covariance law is

    .. math::
        \mu_{c,\sigma^2}(dx) = (1 - 1/c)^+ \delta_0 + \frac{\sqrt{(\lambda_+ - x)(x - \lambda_-)}}
        {2\pi\sigma^2 c x} \mathbf 1_{[\lambda_-, \lambda_+]}(x)\,dx,
        \qquad \lambda_\pm = \sigma^2(1 \pm \sqrt c)^2,

    (Marchenko & Pastur 1967; Bai & Silverstein 2010, Thm 3.6; talk eq. (17); docs/methods/spectra.md §1.1) and the
    gram law is :math:`(1-c)\delta_0 + c\,\mu_{c,\sigma^2}` (docs/methods/spectra.md §1.5).

    Parameters
    ----------
    ratio
        c = p/n > 0.
    variance
        σ² > 0, the variance of the entries of X.
    matrix
        ``"covariance"`` for (1/n)XXᵀ (p × p), ``"gram"`` for (1/n)XᵀX (n × n).
    x
        Real points at which to evaluate the density and the CDF.
    n_moments
        Number of moments to return (1 ≤ n_moments ≤ 20); Narayana polynomials, docs/methods/spectra.md §1.3.
    stieltjes_at
        Complex points with non-zero imaginary part at which to evaluate m(z) (docs/methods/spectra.md §1.2).

    Returns
    -------
    MarchenkoPasturSpectrum

    Raises
    ------
    InvalidParameterError
        If a parameter is outside its domain; the message names it.
    """
    ratio = positive("ratio", ratio)
    variance = positive("variance", variance)
    if matrix not in ("covariance", "gram"):
        raise InvalidParameterError("matrix", f"`matrix` must be 'covariance' or 'gram', got {matrix!r}.")
    x = finite_array("x", x)
    n_moments = positive_int("n_moments", n_moments)
    if n_moments > MAX_MOMENTS:
        raise InvalidParameterError("n_moments", f"`n_moments` must be <= {MAX_MOMENTS}, got {n_moments}.")
    z = np.asarray(stieltjes_at, dtype=np.complex128).reshape(-1)
    # A handful of points (the usual request) is checked and evaluated point by point with Python floats
    # and complexes (see POINTWISE_MAX), each array built once at the end.
    points = z.tolist() if z.size <= POINTWISE_MAX else None
    if points is not None:
        if not all(map(cmath.isfinite, points)):
            raise InvalidParameterError("stieltjes_at", _NOT_FINITE)
        if not all(point.imag for point in points):
            raise InvalidParameterError("stieltjes_at", _ON_THE_AXIS)
    elif np.count_nonzero(np.isfinite(z)) != z.size:  # (cheaper than .all(): see finite_array)
        raise InvalidParameterError("stieltjes_at", _NOT_FINITE)
    elif np.count_nonzero(z.imag) != z.size:
        raise InvalidParameterError("stieltjes_at", _ON_THE_AXIS)

    lower, upper = mp_edges(ratio=ratio, variance=variance)
    # The gram law is c·μ plus an atom, so every continuous quantity scales by c (docs/methods/spectra.md §1.5).
    scale = ratio if matrix == "gram" else 1.0
    atom = max(0.0, 1.0 - ratio) if matrix == "gram" else max(0.0, 1.0 - 1.0 / ratio)

    notes: list[str] = []
    values = x.tolist() if x.size <= POINTWISE_MAX else None
    # (`in` compares with ==, so -0.0 too; on the list of a few points, as `0.0 in x` costs 1.8 µs)
    if ratio == 1.0 and 0.0 in (x if values is None else values):
        notes.append("At ratio 1 the density diverges like x^(-1/2) at the hard edge x = 0; its value there is null.")
    if values is not None:
        density, cdf = _density_and_cdf_pointwise(values, ratio=ratio, variance=variance, scale=scale, atom=atom)
    else:
        density = _covariance_density(x, ratio=ratio, variance=variance)
        cdf = _covariance_continuous_cdf(x, ratio=ratio, variance=variance)
        if scale != 1.0:
            density *= scale
            cdf *= scale
        if notes:
            density[x == 0.0] = np.nan
        if atom > 0.0:
            cdf += atom * (x >= 0.0)
        cdf.clip(0.0, 1.0, out=cdf)  # (np.clip's own method, without its dispatch)

    moments = mp_moments(ratio=ratio, variance=variance, n_moments=n_moments)
    if scale != 1.0:
        moments *= scale
    # The gram matrix is c times an MP matrix of ratio 1/c (docs/methods/spectra.md §1.5), so its transform is
    # m_{1/c}(z/c)/c: no cancellation of poles.
    law_ratio, shrink = (ratio, 1.0) if matrix == "covariance" else (1.0 / ratio, ratio)
    stieltjes = None
    if points is not None:
        stieltjes = _stieltjes_pointwise(points, ratio=law_ratio, variance=variance, scale=shrink)
    if stieltjes is None and shrink == 1.0:
        stieltjes = mp_stieltjes(z, ratio=law_ratio, variance=variance)
    elif stieltjes is None:
        stieltjes = mp_stieltjes(z / shrink, ratio=law_ratio, variance=variance) / shrink

    return MarchenkoPasturSpectrum(
        support_lower=lower,
        support_upper=upper,
        atom_location=0.0,
        atom_mass=atom,
        x=x,
        density=density,
        cdf=cdf,
        moments=moments,
        stieltjes_at=z,
        stieltjes=stieltjes,
        notes=tuple(notes),
    )


def mp_edges(*, ratio: float, variance: float = 1.0) -> tuple[float, float]:
    """Edges λ± = σ²(1 ± √c)² of the Marchenko–Pastur bulk (docs/methods/spectra.md §1.1)."""
    root = math.sqrt(ratio)  # a Python float: this runs on every request, np.sqrt costs 3× on a scalar
    return variance * (1.0 - root) ** 2, variance * (1.0 + root) ** 2


@lru_cache(maxsize=1024)
def _moments(ratio: float, variance: float, n_moments: int) -> tuple[float, ...]:
    return tuple(variance**k * sum(_narayana(k, r) * ratio**r for r in range(k)) for k in range(1, n_moments + 1))


def mp_moments(*, ratio: float, variance: float = 1.0, n_moments: int = 4) -> np.ndarray:
    r"""Moments of the covariance MP law by the Narayana polynomials.

    :math:`M_k = \sigma^{2k}\sum_{r=0}^{k-1}\frac{1}{r+1}\binom kr\binom{k-1}r c^r`
    (Bai & Silverstein 2010, Lemma 3.1; docs/methods/spectra.md §1.3). The atom at 0 contributes nothing.
    """
    return np.array(_moments(ratio, variance, n_moments))


@cache
def _narayana(k: int, r: int) -> float:
    return comb(k, r) * comb(k - 1, r) / (r + 1)


def mp_stieltjes(z: np.ndarray, *, ratio: float, variance: float = 1.0) -> np.ndarray:
    r"""Stieltjes transform m(z) = ∫ μ(dt)/(t − z) of the covariance MP law.

    Root of :math:`\sigma^2 c z m^2 + (z - \sigma^2(1-c)) m + 1 = 0` with Im m > 0 on ℂ⁺
    (Bai & Silverstein 2010, eq. (3.1.1); docs/methods/spectra.md §1.2). ``R(z)`` is the product of two principal
    square roots, the branch analytic off [λ₋, λ₊] that behaves like +z at infinity, and of the two
    algebraically equal forms the one without cancellation is chosen per point.
    """
    z = np.asarray(z, dtype=np.complex128)
    lower, upper = mp_edges(ratio=ratio, variance=variance)
    if z.size <= POINTWISE_MAX:  # (the same expressions with cmath, point by point: see POINTWISE_MAX)
        values = _stieltjes_pointwise(z.ravel().tolist(), ratio=ratio, variance=variance)
        if values is not None:
            return values.reshape(z.shape)
    root = np.sqrt(z - upper) * np.sqrt(z - lower)
    a = z - variance * (1.0 - ratio)
    # np.where evaluates both forms; only the discarded one can divide by ~0 or overflow (both, and
    # a ± R, only for |z| near the largest float).
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        plus, minus = a + root, root - a
        stable = np.where(np.abs(plus) >= np.abs(minus), -2.0 / plus, minus / (2.0 * variance * ratio * z))
    return stable


def _stieltjes_pointwise(
    points: list[complex], *, ratio: float, variance: float, scale: float = 1.0
) -> np.ndarray | None:
    """``mp_stieltjes(z / scale, ...) / scale`` at a few points; ``None`` where ``cmath`` cannot follow numpy.

    That is at z = 0 (the pole) and for |z| near the largest float, where numpy's vectorised path gives
    its inf and nan, as it always has. (numpy divides a complex array by a real as a product with its
    reciprocal, and so does this, to the same bits.)
    """
    lower, upper = mp_edges(ratio=ratio, variance=variance)
    try:
        if scale == 1.0:
            values = [_stieltjes_at(point, lower, upper, ratio=ratio, variance=variance) for point in points]
        else:
            inverse = 1.0 / scale
            values = [
                _stieltjes_at(point * inverse, lower, upper, ratio=ratio, variance=variance) * inverse
                for point in points
            ]
    except (ZeroDivisionError, OverflowError):
        return None
    return np.array(values, dtype=np.complex128)


def _stieltjes_at(z: complex, lower: float, upper: float, *, ratio: float, variance: float) -> complex:
    """:func:`mp_stieltjes` at one point, with ``cmath``: the same branch and the same choice of form."""
    root = cmath.sqrt(z - upper) * cmath.sqrt(z - lower)
    a = z - variance * (1.0 - ratio)
    plus, minus = a + root, root - a
    if abs(plus) >= abs(minus):
        return -2.0 / plus
    return minus / (2.0 * variance * ratio * z)


def _covariance_density(x: np.ndarray, *, ratio: float, variance: float) -> np.ndarray:
    lower, upper = mp_edges(ratio=ratio, variance=variance)
    # (λ₊ − x)(x − λ₋) is a product of two exactly computed differences, so its square root keeps full
    # relative accuracy up to the edges. It is > 0 exactly inside the bulk (both factors positive; both
    # negative would need x < λ₋ and x > λ₊), where the density is 0 anyway. Computed in place in one
    # buffer: this runs on every request, and at 1000 points the temporaries cost as much as the maths.
    with np.errstate(over="ignore"):  # only far-away x overflow, outside the support
        span = upper - x
        span *= x - lower
        inside = span > 0.0
        np.sqrt(span, out=span, where=inside)
        density = np.zeros_like(x)
        np.divide(span, x * (2.0 * np.pi * variance * ratio), out=density, where=inside)
    return density


def _covariance_continuous_cdf(x: np.ndarray, *, ratio: float, variance: float) -> np.ndarray:
    r"""∫_{λ₋}^{x} of the continuous density, in closed form.

    With a = λ₋, b = λ₊ and R = √((b − x)(x − a)), an antiderivative of √((b − x)(x − a))/x is

    .. math::
        G(x) = R + \frac{a+b}{2}\arcsin\frac{2x-a-b}{b-a} - \sqrt{ab}\,\arcsin\frac{(a+b)x-2ab}{x(b-a)}

    (Gradshteyn & Ryzhik 2.267). Both arcsines are written as ``atan2`` of the factored numerator and
    denominator (1 − u² = 4(b − x)(x − a)/(b − a)² and 4ab(b − x)(x − a)/(x(b − a))²), which keeps full
    accuracy at the edges where arcsin's derivative is infinite; this is exact and about 30 times
    cheaper per point than the Gauss–Legendre angle quadrature of docs/methods/spectra.md §1.4, against which the tests
    check it. At c = 1 (a = 0) the second term vanishes: the hard edge needs no special case.
    """
    lower, upper = mp_edges(ratio=ratio, variance=variance)
    geometric = variance * abs(1.0 - ratio)  # √(λ₋λ₊)
    middle = 0.5 * (lower + upper)  # > 0
    # Each arctan2 above has both arguments divided by a positive constant (which leaves the angle
    # unchanged), so that each argument is one numpy call: at the few points of a typical request
    # every call costs more than its arithmetic. Whole arrays, no gathered subset, for the same reason.
    with np.errstate(over="ignore", invalid="ignore"):  # only far-away x overflow, outside the support
        root = upper - x
        root *= x - lower
        inside = root > 0.0  # R² = (b − x)(x − a) > 0 exactly inside the bulk (see _covariance_density)
        np.sqrt(root, out=root, where=inside)  # (outside, R² stays: finite or −inf, discarded below)
        antiderivative = np.arctan2(x - middle, root)
        antiderivative *= middle
        antiderivative += root
        antiderivative -= geometric * np.arctan2(x - lower * upper / middle, (geometric / middle) * root)
    at_lower = -0.5 * np.pi * middle + 0.5 * np.pi * geometric
    antiderivative -= at_lower
    antiderivative /= 2.0 * np.pi * variance * ratio
    cdf = min(1.0, 1.0 / ratio) * (x >= upper)
    np.copyto(cdf, antiderivative, where=inside)
    return cdf


def _density_and_cdf_pointwise(
    x: list[float], *, ratio: float, variance: float, scale: float, atom: float
) -> tuple[np.ndarray, np.ndarray]:
    """The law's density and CDF at a few points with ``math``: what the vectorised path of
    :func:`marchenko_pastur` computes, in the same order.

    That is :func:`_covariance_density` and :func:`_covariance_continuous_cdf`, times ``scale`` (c for
    the gram law), null density at the hard edge x = 0 when c = 1, the atom at 0 added to the CDF and
    the CDF clipped to [0, 1], for the few points of a typical request (see :data:`POINTWISE_MAX`).
    Python floats overflow to ±inf as numpy's do, outside the support.
    """
    lower, upper = mp_edges(ratio=ratio, variance=variance)
    geometric = variance * abs(1.0 - ratio)  # √(λ₋λ₊)
    middle = 0.5 * (lower + upper)
    shift = lower * upper / middle
    scaled = geometric / middle
    norm = 2.0 * math.pi * variance * ratio
    at_lower = -0.5 * math.pi * middle + 0.5 * math.pi * geometric
    above = min(1.0, 1.0 / ratio)  # the continuous part's mass
    hard_edge = ratio == 1.0
    density: list[float] = []
    cdf: list[float] = []
    for t in x:
        square = (upper - t) * (t - lower)
        if square > 0.0:  # exactly inside the bulk (see _covariance_density)
            root = math.sqrt(square)
            density.append(root / (t * norm) * scale)
            antiderivative = math.atan2(t - middle, root) * middle + root
            antiderivative -= geometric * math.atan2(t - shift, scaled * root)
            value = (antiderivative - at_lower) / norm * scale
        else:
            density.append(math.nan if hard_edge and t == 0.0 else 0.0)
            value = (above if t >= upper else 0.0) * scale
        if atom > 0.0 and t >= 0.0:
            value += atom
        if value < 0.0:  # (numpy's clip to [0, 1], which keeps a NaN)
            value = 0.0
        elif value > 1.0:
            value = 1.0
        cdf.append(value)
    return np.array(density, dtype=np.float64), np.array(cdf, dtype=np.float64)


__all__ = ["MarchenkoPasturSpectrum", "marchenko_pastur", "mp_edges", "mp_moments", "mp_stieltjes"]
