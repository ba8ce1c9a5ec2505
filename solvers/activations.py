"""Activation catalogue, expected kernels and Gaussian moments of activations.

The expected kernel of a random-features layer with i.i.d. standard Gaussian weights,
``K(x, y) = E_w[σ(wᵀx) σ(wᵀy)]``, depends on ``x`` and ``y`` only through
``a = ‖x‖²``, ``b = ‖y‖²`` and ``c = xᵀy`` (the pre-activations form a centred Gaussian pair).
Closed forms are used whenever they exist; the other smooth activations go through the
Mehler (Hermite-series) expansion with trapezoid coefficients and a computable error bound.

Conventions follow ``docs/methods/random_features.md`` (§0, §1): the weights have unit
variance (no ``1/p`` factor), and **rows of** ``x`` **are samples** (the HTTP contract), so
the kernel matrix is ``K = E_w[σ(x w) σ(x w)ᵀ]``, i.e. the paper's ``Φ = E[σ(Xᵀw)σ(wᵀX)]``
with ``X = xᵀ``.

References
----------
Louart, Liao & Couillet (2018), "A random matrix approach to neural networks",
Ann. Appl. Probab. 28(2), Sec. 3.3 (table of Φ_ab); Williams (1996) for erf;
Cho & Saul (2009) for the arc-cosine kernels (step, ReLU).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from solvers import _validation as v
from solvers.exceptions import InvalidParameterError

__all__ = [
    "Activation",
    "ActivationMoments",
    "ExpectedKernel",
    "activation_moments",
    "activation_names",
    "expected_kernel",
    "expected_kernel_lower",
    "make_activation",
]

_REFERENCE_KERNEL = (
    "Louart, Liao & Couillet (2018), Ann. Appl. Probab. 28(2), Sec. 3.3 (table of Phi_ab); "
    "docs/methods/random_features.md §1"
)
_REFERENCE_SERIES = (
    "Louart, Liao & Couillet (2018), Ann. Appl. Probab. 28(2), Sec. 3.3; Mehler/Hermite series "
    "with trapezoid coefficients, docs/methods/random_features.md §1.1"
)
_REFERENCE_MOMENTS = (
    "Louart, Liao & Couillet (2018), Ann. Appl. Probab. 28(2), Sec. 3.3; Gaussian moments "
    "(Stein: E[σ'(ξ)] = E[ξσ(ξ)]), docs/methods/random_features.md §1"
)

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------------------
# Closed-form kernels. Each takes broadcastable a = ‖x‖², b = ‖y‖², c = xᵀy and the clipped
# correlation rho = c / sqrt(ab) (0 where a or b is 0), plus the activation's parameters.
# Calling one with (a, a, a, 1) gives the exact diagonal K(x, x) (docs/methods/random_features.md §6, pitfall 2).
# --------------------------------------------------------------------------------------


def _sqrt1m(rho: np.ndarray) -> np.ndarray:
    """√(1 − ρ²) ≥ 0 for |ρ| ≤ 1 (clipped: then ρ² ≤ 1 in floating point too), in place on one
    temporary (these kernels run on n² entries)."""
    out = np.multiply(rho, rho)
    np.subtract(1.0, out, out=out)
    return np.sqrt(out, out=out)


def _k_linear(a, b, c, rho, p):
    return c * np.ones_like(rho)


def _k_relu(a, b, c, rho, p):
    out = _sqrt1m(rho)
    angle = np.arccos(rho)
    np.subtract(math.pi, angle, out=angle)
    angle *= rho
    out += angle
    out *= np.multiply(np.sqrt(a) * (1.0 / (2.0 * math.pi)), np.sqrt(b))  # √(ab)/(2π), one pass
    return out


def _k_abs(a, b, c, rho, p):
    return 2.0 * np.sqrt(a * b) / math.pi * (_sqrt1m(rho) + rho * np.arcsin(rho))


def _k_leaky_relu(a, b, c, rho, p):
    alpha = p["negative_slope"]
    theta = np.arccos(rho)
    one_m = (1.0 - alpha) ** 2
    return (
        np.sqrt(a * b) / (2.0 * math.pi) * (one_m * _sqrt1m(rho) + rho * ((1.0 + alpha**2) * math.pi - one_m * theta))
    )


def _k_quadratic(a, b, c, rho, p):
    qa, qb, qc = p["a"], p["b"], p["c"]
    return qa**2 * (a * b + 2.0 * c * c) + qb**2 * c + qa * qc * (a + b) + qc**2 + 0.0 * rho


def _k_erf(a, b, c, rho, p):
    arg = 2.0 * c / np.sqrt((1.0 + 2.0 * a) * (1.0 + 2.0 * b))
    return 2.0 / math.pi * np.arcsin(np.clip(arg, -1.0, 1.0))


def _k_sign(a, b, c, rho, p):
    # rho is 0 where a or b is 0, which gives K = 0 as required (sign(0) = 0).
    return 2.0 / math.pi * np.arcsin(rho)


def _k_step(a, b, c, rho, p):
    value = (math.pi - np.arccos(rho)) / (2.0 * math.pi)
    return np.where((a * b) > 0, value, 0.0)


def _dist2(a, b, c):
    minus = np.maximum(a + b - 2.0 * c, 0.0)
    plus = np.maximum(a + b + 2.0 * c, 0.0)
    return minus, plus


def _k_cos(a, b, c, rho, p):
    # distance forms: e^{-(a+b)/2} cosh c overflows for large c (docs/methods/random_features.md §6, pitfall 3)
    minus, plus = _dist2(a, b, c)
    return 0.5 * (np.exp(-0.5 * minus) + np.exp(-0.5 * plus))


def _k_sin(a, b, c, rho, p):
    minus, plus = _dist2(a, b, c)
    return 0.5 * (np.exp(-0.5 * minus) - np.exp(-0.5 * plus))


def _k_gaussian(a, b, c, rho, p):
    det = np.maximum((1.0 + a) * (1.0 + b) - c * c, 1.0)  # ≥ 1 by Cauchy–Schwarz
    return 1.0 / np.sqrt(det)


# --------------------------------------------------------------------------------------
# Closed-form moments (mean, mean_square, mean_derivative, second_hermite) for ξ ~ N(0, 1).
# --------------------------------------------------------------------------------------


def _m_leaky(p):
    al = p["negative_slope"]
    return ((1 - al) * _INV_SQRT_2PI, (1 + al**2) / 2, (1 + al) / 2, (1 - al) * _INV_SQRT_2PI)


def _m_quadratic(p):
    qa, qb, qc = p["a"], p["b"], p["c"]
    return (qa + qc, 3 * qa**2 + qb**2 + qc**2 + 2 * qa * qc, qb, 2 * qa)


_CLOSED_MOMENTS: dict[str, Callable[[Mapping[str, float]], tuple[float, float, float, float]]] = {
    "linear": lambda p: (0.0, 1.0, 1.0, 0.0),
    "relu": lambda p: (_INV_SQRT_2PI, 0.5, 0.5, _INV_SQRT_2PI),
    "abs": lambda p: (2 * _INV_SQRT_2PI, 1.0, 0.0, 2 * _INV_SQRT_2PI),
    "leaky_relu": _m_leaky,
    "quadratic": _m_quadratic,
    "erf": lambda p: (0.0, 2 / math.pi * math.asin(2 / 3), 2 / math.sqrt(3 * math.pi), 0.0),
    "sign": lambda p: (0.0, 1.0, 2 * _INV_SQRT_2PI, 0.0),
    "step": lambda p: (0.5, 0.5, _INV_SQRT_2PI, 0.0),
    "cos": lambda p: (math.exp(-0.5), 0.5 * (1 + math.exp(-2.0)), 0.0, -math.exp(-0.5)),
    "sin": lambda p: (0.0, 0.5 * (1 - math.exp(-2.0)), math.exp(-0.5), 0.0),
    "gaussian": lambda p: (1 / math.sqrt(2), 1 / math.sqrt(3), 0.0, -1 / (2 * math.sqrt(2))),
}


@dataclass(frozen=True, slots=True)
class _Entry:
    function: Callable[[np.ndarray, Mapping[str, float]], np.ndarray]
    defaults: Mapping[str, float]
    smooth: bool  # analytic: the Hermite/trapezoid method is accurate (docs/methods/random_features.md §1.1)
    lipschitz: bool  # hypothesis of [LLC18, Thm. 1]
    kernel: Callable[..., np.ndarray] | None


_CATALOGUE: dict[str, _Entry] = {
    "linear": _Entry(lambda t, p: t, {}, True, True, _k_linear),
    "relu": _Entry(lambda t, p: np.maximum(t, 0.0), {}, False, True, _k_relu),
    "abs": _Entry(lambda t, p: np.abs(t), {}, False, True, _k_abs),
    "leaky_relu": _Entry(
        lambda t, p: np.where(t > 0, t, p["negative_slope"] * t),
        {"negative_slope": 0.01},
        False,
        True,
        _k_leaky_relu,
    ),
    "quadratic": _Entry(
        lambda t, p: (p["a"] * t + p["b"]) * t + p["c"],
        {"a": 1.0, "b": 0.0, "c": 0.0},
        True,
        False,
        _k_quadratic,
    ),
    "erf": _Entry(lambda t, p: special.erf(t), {}, True, True, _k_erf),
    "sign": _Entry(lambda t, p: np.sign(t), {}, False, False, _k_sign),
    "step": _Entry(lambda t, p: (t > 0).astype(np.float64), {}, False, False, _k_step),
    "cos": _Entry(lambda t, p: np.cos(t), {}, True, True, _k_cos),
    "sin": _Entry(lambda t, p: np.sin(t), {}, True, True, _k_sin),
    "gaussian": _Entry(lambda t, p: np.exp(-0.5 * t * t), {}, True, True, _k_gaussian),
    "tanh": _Entry(lambda t, p: np.tanh(t), {}, True, True, None),
    "sigmoid": _Entry(lambda t, p: special.expit(t), {}, True, True, None),
    "gelu": _Entry(lambda t, p: t * special.ndtr(t), {}, True, True, None),
    "softplus": _Entry(lambda t, p: np.logaddexp(0.0, t), {}, True, True, None),
    "swish": _Entry(lambda t, p: t * special.expit(t), {}, True, True, None),
}


def activation_names() -> tuple[str, ...]:
    """Names of the catalogue, closed-form kernels first (docs/methods/random_features.md §1)."""
    closed = tuple(k for k, e in _CATALOGUE.items() if e.kernel is not None)
    return closed + tuple(k for k, e in _CATALOGUE.items() if e.kernel is None)


@dataclass(frozen=True, slots=True)
class Activation:
    """An entrywise activation σ of the catalogue, with its parameters.

    Build it with :func:`make_activation`, which validates the parameters.

    Attributes
    ----------
    name
        Catalogue name (``"relu"``, ``"leaky_relu"``, ``"tanh"``, ...).
    parameters
        Sorted ``(name, value)`` pairs, e.g. ``(("negative_slope", 0.1),)``; every parameter
        of the activation is present (defaults filled in).
    """

    name: str
    parameters: tuple[tuple[str, float], ...] = ()

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Evaluate σ entrywise in float64."""
        t = np.asarray(t, dtype=np.float64)
        return _CATALOGUE[self.name].function(t, dict(self.parameters))

    def as_dict(self) -> dict[str, Any]:
        """The activation as the HTTP contract writes it: ``{"name": ..., **parameters}``."""
        return {"name": self.name, **dict(self.parameters)}

    @property
    def has_closed_form_kernel(self) -> bool:
        """``True`` when :func:`expected_kernel` uses an exact formula (docs/methods/random_features.md §1 table)."""
        return _CATALOGUE[self.name].kernel is not None

    @property
    def has_closed_form_moments(self) -> bool:
        """``True`` when :func:`activation_moments` uses exact formulas rather than a trapezoid rule."""
        return self.name in _CLOSED_MOMENTS

    @property
    def is_smooth(self) -> bool:
        """``True`` for analytic σ, for which the Hermite-series method is accurate (docs/methods/random_features.md §1.1)."""
        return _CATALOGUE[self.name].smooth

    @property
    def is_lipschitz(self) -> bool:
        """``True`` when σ satisfies the Lipschitz hypothesis of [LLC18, Thm. 1]."""
        return _CATALOGUE[self.name].lipschitz


def make_activation(name: str, **parameters: float) -> Activation:
    """Validate and build an activation of the catalogue.

    Parameters
    ----------
    name
        One of :func:`activation_names`: closed-form kernels ``linear``, ``relu``, ``abs``,
        ``leaky_relu``, ``quadratic``, ``erf``, ``sign``, ``step``, ``cos``, ``sin``,
        ``gaussian`` (σ(t) = exp(-t²/2)); Hermite-series kernels ``tanh``, ``sigmoid``,
        ``gelu`` (t Φ(t)), ``softplus``, ``swish`` (t·sigmoid(t)).
    **parameters
        ``negative_slope`` (α, default 0.01) for ``leaky_relu`` (σ(t) = max(t,0) + α min(t,0));
        ``a``, ``b``, ``c`` (defaults 1, 0, 0) for ``quadratic`` (σ(t) = a t² + b t + c).

    Returns
    -------
    Activation

    Raises
    ------
    InvalidParameterError
        Unknown name (parameter ``activation``), unknown or non-finite parameter (named).

    Notes
    -----
    Catalogue of Louart, Liao & Couillet (2018), Ann. Appl. Probab., Sec. 3.3, extended as in
    docs/methods/random_features.md §1.
    """
    if not isinstance(name, str) or name not in _CATALOGUE:
        raise InvalidParameterError(
            "activation",
            f"`activation` must be one of {', '.join(activation_names())}; got {name!r}.",
        )
    entry = _CATALOGUE[name]
    unknown = sorted(set(parameters) - set(entry.defaults))
    if unknown:
        allowed = ", ".join(f"`{k}`" for k in entry.defaults) or "no parameters"
        raise InvalidParameterError(
            unknown[0], f"`{unknown[0]}` is not a parameter of activation {name!r} (it takes {allowed})."
        )
    values = {k: v.finite_scalar(k, parameters.get(k, default)) for k, default in entry.defaults.items()}
    return Activation(name=name, parameters=tuple(sorted(values.items())))


def as_activation(activation: Activation | str) -> Activation:
    """An :class:`Activation`, or the catalogue activation of that name with its default parameters."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        return make_activation(activation)
    raise InvalidParameterError("activation", f"`activation` must be an Activation, got {type(activation).__name__}.")


# --------------------------------------------------------------------------------------
# Hermite-series (Mehler) machinery, docs/methods/random_features.md §1.1.
# --------------------------------------------------------------------------------------

_TRUNCATION = 13.0  # |z| ≤ 13: e^{-z²/4} ≤ 6e-19 bounds the weighted Hermite functions beyond
_MAX_ORDER = 600


def _trapezoid(step: float) -> tuple[np.ndarray, np.ndarray]:
    """Truncated trapezoid rule for E[f(z)], z ~ N(0,1), on [-13, 13] (docs/methods/random_features.md §1.1 table)."""
    m = math.ceil(_TRUNCATION / step)
    z = np.arange(-m, m + 1, dtype=np.float64) * step
    w = step * _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return z, w


_MAX_NODES = 4001  # per axis of the 1-D rule: h ≥ 0.0065, accurate for norms up to ~30


def _step_for(scale: float) -> float:
    # σ(s z) with poles at distance ~π/(2s) from the real axis: trapezoid error ~ exp(-π²/(s h)),
    # so h = 0.2/s gives ~e^{-49}; h ≤ 0.05 resolves Hermite functions up to order ~600. Far out
    # of the theorem's regime (norms ≫ 30) the node count is capped and the reported error bound
    # (rule h vs rule 2h) grows instead of the memory.
    return max(min(0.05, 0.2 / max(scale, 1e-12)), 2.0 * _TRUNCATION / (_MAX_NODES - 1))


def _hermite_table(z: np.ndarray, order: int, known: np.ndarray | None = None) -> np.ndarray:
    """Orthonormal Hermite polynomials h_k = He_k/√k! at ``z``, shape (order+1, len(z)).

    ``known``: the table of a lower order at the same ``z``, whose rows are kept and continued (the
    rows are the same numbers whichever order the recurrence stops at).
    """
    h = np.empty((order + 1, z.size))
    start = 1
    if known is not None and known.shape[0] >= 2:
        start = min(known.shape[0], order + 1) - 1
        h[: start + 1] = known[: start + 1]
    else:
        h[0] = 1.0
        if order >= 1:
            h[1] = z
    for k in range(start, order):  # (z h_k − √k h_{k−1}) / √(k+1), written in place: the same operations
        row = np.multiply(z, h[k], out=h[k + 1])
        row -= math.sqrt(k) * h[k - 1]
        row /= math.sqrt(k + 1)
    return h


@dataclass(frozen=True, slots=True)
class _Series:
    coefficients: np.ndarray  # (m, L+1): c_k(s_i) = E[σ(s_i z) h_k(z)]
    mean_square: np.ndarray  # (m,): E[σ(s_i z)²]
    tail: np.ndarray  # (m,): t_i = E σ² - Σ_{k≤L} c_k², ≥ 0
    quadrature_error: float  # |rule(h) - rule(2h)| on E σ², an estimate of the 1-D rule error


def _hermite_series(activation: Activation, norms: np.ndarray, tol: float) -> _Series:
    """Coefficients c_k(s) of σ(s z) in orthonormal Hermite polynomials (docs/methods/random_features.md §1.1)."""
    scale = float(norms.max(initial=0.0))
    z, w = _trapezoid(_step_for(scale))
    m = norms.size
    mean_square = np.empty(m)
    quad_err = 0.0
    weighted = np.empty((m, z.size))
    for start in range(0, m, 256):  # bounded memory: 256 rows of σ(s_i z) at a time
        rows = slice(start, start + 256)
        values = activation(norms[rows, None] * z[None, :])
        mean_square[rows] = (values * values) @ w
        # Same rule with step 2h (every other node): the difference estimates the rule's error.
        half = (values[:, ::2] ** 2) @ (2.0 * w[::2])
        quad_err = max(quad_err, float(np.max(np.abs(half - mean_square[rows]), initial=0.0)))
        weighted[rows] = values * w[None, :]
    big = float(np.max(mean_square, initial=0.0))
    order = 32
    table = None
    while True:
        table = _hermite_table(z, order, table)  # (each doubling continues the last table's recurrence)
        coeffs = weighted @ table.T
        tails = mean_square[:, None] - np.cumsum(coeffs * coeffs, axis=1)
        ok = np.nonzero(np.max(tails, axis=0) <= tol * max(big, 1.0))[0]
        if ok.size or order >= _MAX_ORDER:
            L = int(ok[0]) if ok.size else order
            break
        order = min(2 * order, _MAX_ORDER)
    tail = np.maximum(tails[:, L], 0.0)
    return _Series(np.ascontiguousarray(coeffs[:, : L + 1]), mean_square, tail, quad_err)


#: Entries per chunk of the high-order part of :func:`_mehler` (two gathered coefficient blocks of
#: this many rows × the orders above the dense part: ~10 MB at 600 terms).
_MEHLER_CHUNK = 1024
#: Entries per block of rows of the dense part of :func:`_mehler` (64 k doubles: 0.5 MB, in a core's L2).
_MEHLER_BLOCK = 65536
#: Each entry of :func:`_mehler` is summed until its remaining terms are below this fraction of the
#: series' tolerance: at the default tolerance (1e-13), rounding level. Dropping the fraction to 1 would
#: save only log(1000)/log(1/|ρ|) terms per entry (6 at |ρ| = 0.3).
_MEHLER_TRUNCATION = 1e-3


def _mehler(
    ci: np.ndarray, cj: np.ndarray, rho: np.ndarray, mean_i: np.ndarray, mean_j: np.ndarray, tol_abs: float
) -> tuple[np.ndarray, float]:
    """Σ_k c_k(i) c_k(j) ρ_ij^k, k ≤ L, each entry summed only as far as its |ρ_ij| needs (docs/methods/random_features.md §1.1).

    The k-th term is at most |ρ|^k √(c_k(i)² c_k(j)²), so stopping entry (i, j) after order ℓ errs by at most
    |ρ_ij|^{ℓ+1} √(T_i(ℓ) T_j(ℓ)) (Cauchy–Schwarz), with T_i(ℓ) = E σ(s_i z)² − Σ_{k≤ℓ} c_k(i)² (``mean_i``
    is E σ²: the bound covers the terms beyond L too). In the theorem's regime most |ρ_ij| are well below
    1, where a few dozen terms suffice, and the full order L (up to 600) is needed only near |ρ| = 1. So
    every entry is summed densely, by Horner over the whole matrix, up to an order ℓ₀, and the entries whose
    bound at ℓ₀ exceeds ``_MEHLER_TRUNCATION × tol_abs`` get the terms ℓ₀ < k ≤ L added from gathered
    coefficients. ℓ₀ is the power of 2 (or L) that minimises the work, counted from the entries above
    each candidate's threshold. Returns the matrix and the largest bound of an entry stopped at ℓ₀ (0 when
    none is), which the caller adds to the error bound.
    """
    L = ci.shape[1] - 1
    low, cut, stopped, rows, cols = L, 1.0, 0.0, None, None
    if L > 8 and rho.size:
        target = _MEHLER_TRUNCATION * tol_abs
        # max_i T_i(ℓ), then the threshold r(ℓ) = (target / max_i T_i(ℓ))^{1/(ℓ+1)}: at |ρ| ≤ r(ℓ),
        # |ρ|^{ℓ+1} T_max(ℓ) ≤ target.
        coefficients, means = np.concatenate([ci, cj]), np.concatenate([mean_i, mean_j])
        worst = np.maximum(means[:, None] - np.cumsum(coefficients**2, axis=1), 0.0).max(axis=0)
        magnitude = np.abs(rho)
        best = float(L) * rho.size
        for candidate in [2**e for e in range(3, L.bit_length()) if 2**e < L]:
            threshold = 1.0 if worst[candidate] <= target else (target / worst[candidate]) ** (1.0 / (candidate + 1))
            above = int(np.count_nonzero(magnitude > threshold))
            work = candidate * rho.size + 4.0 * above * (L - candidate)  # (a gathered term costs ~4 dense ones)
            if work < best:
                best, low, cut = work, candidate, threshold
        if low < L:
            rows, cols = np.nonzero(magnitude > cut)
            largest = float(np.max(magnitude, where=magnitude <= cut, initial=0.0))
            stopped = largest ** (low + 1) * float(worst[low])
    # Horner by blocks of rows that stay in the core's cache (~0.5 MB) for all ℓ₀ steps: over the whole
    # matrix, each step streamed it from memory three times (n = 2048: 32 MB per pass).
    out = np.empty(rho.shape)
    block = max(1, _MEHLER_BLOCK // max(rho.shape[1], 1))
    tmp = np.empty((min(block, rho.shape[0]), rho.shape[1]))
    for start in range(0, rho.shape[0], block):
        band = slice(start, start + block)
        part, r_part = out[band], rho[band]
        scratch = tmp[: part.shape[0]]
        np.multiply.outer(ci[band, low], cj[:, low], out=part)
        for k in range(low - 1, -1, -1):
            part *= r_part
            np.multiply.outer(ci[band, k], cj[:, k], out=scratch)
            part += scratch
    if rows is not None and cols is not None:
        for start in range(0, rows.size, _MEHLER_CHUNK):
            i, j = rows[start : start + _MEHLER_CHUNK], cols[start : start + _MEHLER_CHUNK]
            r = rho[i, j]
            terms = np.ascontiguousarray((ci[i, low + 1 :] * cj[j, low + 1 :]).T)  # (orders, entries): a row per order
            high = terms[-1].copy()
            for k in range(terms.shape[0] - 2, -1, -1):
                high *= r
                high += terms[k]
            out[i, j] += high * r ** (low + 1)
    return out, stopped


_MAX_PAIR_NODES = 401  # per axis of the 2-D rule
_MAX_FALLBACK_PAIRS = 2000  # pairs recomputed by the 2-D rule (the worst bounds first)


def _pair_quadrature(activation: Activation, si, sj, rho) -> tuple[np.ndarray, float]:
    """2-D trapezoid rule for E[σ(s_i u) σ(s_j v)], corr(u, v) = ρ, pair by pair (docs/methods/random_features.md §1.1).

    Returns the values and an error estimate: the largest difference with the rule of step 2h.
    """
    step = max(_step_for(float(max(np.max(si), np.max(sj)))), 19.0 / (_MAX_PAIR_NODES - 1))
    z, w = _trapezoid(step)
    keep = np.abs(z) <= 9.5  # the joint weight is e^{-(z1²+z2²)/2}: 9.5 is ample (e^{-45})
    z, w = z[keep], w[keep]
    coarse = np.zeros_like(w)
    coarse[::2] = 2.0 * w[::2]
    out = np.empty(si.size)
    err = 0.0
    chunk = max(1, 2_000_000 // (z.size * z.size))
    fi = activation(si[:, None] * z[None, :])  # (P, q): σ(s_i z1)
    for start in range(0, si.size, chunk):
        sl = slice(start, start + chunk)
        r = rho[sl, None, None]
        v = r * z[None, :, None] + np.sqrt(np.maximum(1.0 - r * r, 0.0)) * z[None, None, :]
        fj = activation(sj[sl, None, None] * v)  # (P, q1, q2)
        out[sl] = np.einsum("pa,pab,a,b->p", fi[sl], fj, w, w, optimize=True)
        rough = np.einsum("pa,pab,a,b->p", fi[sl], fj, coarse, coarse, optimize=True)
        err = max(err, float(np.max(np.abs(rough - out[sl]), initial=0.0)))
    return out, err


@dataclass(frozen=True, slots=True)
class ExpectedKernel:
    """Expected kernel matrices of a random-features layer.

    Attributes
    ----------
    kernel
        ``K`` (n × n), ``K_ij = E_w[σ(wᵀx_i) σ(wᵀx_j)]`` over ``w ~ N(0, I_p)``, rows of ``x``
        being the samples ``x_i`` (the paper's Φ = E[σ(Xᵀw)σ(wᵀX)] with X = xᵀ).
    cross_kernel
        ``K_{X X̂}`` (n × n_test), ``E_w[σ(wᵀx_i) σ(wᵀx̂_j)]``; ``None`` without ``x_test``.
    test_diagonal
        Diagonal of ``K_{X̂ X̂}`` (n_test,), ``E_w[σ(wᵀx̂_j)²]``; ``None`` without ``x_test``.
    method
        ``"closed_form"`` or ``"hermite_series"``.
    series_order
        Truncation order L of the Mehler series (0 for closed forms).
    error_bound
        Bound on the absolute error of every entry: 0 for closed forms (exact up to rounding);
        for the series, max over pairs of ``|ρ_ij|^{L+1} √(t_i t_j)`` (docs/methods/random_features.md §1.1, pairs above
        the tolerance recomputed by the 2-D rule) plus the estimated 1-D quadrature error.
    reference
        Paper and section of the formulas.
    """

    kernel: np.ndarray
    cross_kernel: np.ndarray | None
    test_diagonal: np.ndarray | None
    method: str
    series_order: int
    error_bound: float
    reference: str


def _expected_kernel_iv(
    activation, x, x_test, method, tolerance
) -> tuple[Activation, np.ndarray, np.ndarray | None, str, float]:
    activation = as_activation(activation)
    x = v.finite_array("x", x, ndim=2)
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise InvalidParameterError("x", f"`x` must have at least one row and one column, got shape {x.shape}.")
    if x_test is not None:
        x_test = v.finite_array("x_test", x_test, ndim=2)
        if x_test.shape[1] != x.shape[1]:
            raise InvalidParameterError(
                "x_test",
                f"`x_test` must have as many columns as `x` ({x.shape[1]} features), got shape {x_test.shape}.",
            )
    if method not in ("auto", "closed_form", "hermite_series"):
        raise InvalidParameterError(
            "method", f"`method` must be 'auto', 'closed_form' or 'hermite_series', got {method!r}."
        )
    entry = _CATALOGUE[activation.name]
    if method == "closed_form" and entry.kernel is None:
        raise InvalidParameterError("method", f"`method` 'closed_form' is not available for {activation.name!r}.")
    if method == "hermite_series" and not entry.smooth:
        raise InvalidParameterError(
            "method",
            f"`method` 'hermite_series' is refused for the non-smooth activation {activation.name!r}: "
            "quadrature errors reach 1e-3..5e-2 there (docs/methods/random_features.md §1.1); use its closed form.",
        )
    tolerance = v.positive("tolerance", tolerance)
    return activation, x, x_test, method, tolerance


def _correlation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """ρ = c/√(ab) clipped to [-1, 1], 0 where a or b vanishes (docs/methods/random_features.md §6, pitfall 1)."""
    root_a, root_b = np.sqrt(a), np.sqrt(b)
    denom = np.multiply.outer(root_a, root_b)
    if root_a.size and root_b.size and root_a.min() * root_b.min() > 0:  # then every product is > 0:
        rho = np.divide(c, denom, out=denom)  # no masked divide (several times slower)
    else:
        rho = np.divide(c, denom, out=np.zeros_like(c), where=denom > 0)
    return np.clip(rho, -1.0, 1.0, out=rho)


#: Rows per block of a closed-form kernel evaluation: a block of c = xᵢᵀxⱼ and the few temporaries
#: of a closed form (n doubles per row each) then stay in the per-core cache instead of streaming
#: n² doubles through memory once per elementwise operation.
_BLOCK_ROWS = 128

_INV_SQRT_2PI_SCALE = 1.0 / math.sqrt(2.0 * math.pi)


def _inverse_norms(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1/‖xᵢ‖ (0 for a zero row, whose ρ is then 0) and ‖xᵢ‖/√(2π), from a = ‖xᵢ‖²."""
    root = np.sqrt(a)
    return np.divide(1.0, root, out=np.zeros_like(root), where=root > 0), root * _INV_SQRT_2PI_SCALE


def _relu_block(rho: np.ndarray, scale_rows: np.ndarray, scale_cols: np.ndarray, tmp: np.ndarray, out: np.ndarray):
    """ReLU kernel from a contiguous block of correlations ρ (overwritten), into ``out``.

    K = ‖x‖‖y‖/(2π) (√(1 − ρ²) + (π − arccos ρ) ρ) (Cho & Saul 2009, arc-cosine kernel of order 1),
    the formula of :func:`_k_relu`, every step in place on ``rho`` and one temporary: ten passes over
    the block.
    """
    np.clip(rho, -1.0, 1.0, out=rho)
    angle = np.arccos(rho, out=tmp)
    np.subtract(math.pi, angle, out=angle)
    angle *= rho
    np.multiply(rho, rho, out=rho)
    np.subtract(1.0, rho, out=rho)
    np.sqrt(rho, out=rho)  # √(1 − ρ²) ≥ 0: ρ was clipped
    rho += angle
    rho *= scale_rows
    np.multiply(rho, scale_cols, out=out)


def _closed_form_matrix(
    kernel: Callable[..., np.ndarray],
    params: Mapping[str, float],
    x: np.ndarray,
    a: np.ndarray,
    *,
    other=None,
    b=None,
    mirror: bool = True,
    norms_x: tuple[np.ndarray, np.ndarray] | None = None,
    workspace: np.ndarray | None = None,
) -> np.ndarray:
    """A closed-form kernel on every pair (xᵢ, otherⱼ), by blocks of rows.

    Without ``other`` the matrix is K(x, x): only the blocks on and below the diagonal are
    evaluated (one GEMM per block row instead of the n × n Gram matrix), then mirrored, so the
    result is exactly symmetric; with ``mirror=False`` the strict upper triangle is left
    unspecified. Diagonal entries are left as computed (the caller sets them from ρ = 1 exactly).
    With ``other``, one GEMM gives the whole cross Gram matrix and the formula runs in place on it.

    The ReLU kernel, the default activation, is evaluated in place on each Gram block scaled by
    1/‖xᵢ‖ and 1/‖yⱼ‖ (:func:`_relu_block`; ``norms_x``: :func:`_inverse_norms` of ``x`` when already
    computed; two passes over the block instead of a unit-norm copy of the inputs); the others
    by their formula on (a, b, c, ρ). Each block's elementwise passes run on a contiguous array (on a
    strided view of the output they were measured slower). ``workspace``: at least 2·128·max(n, m)
    doubles for the block buffers, shared between calls (fresh megabyte buffers cost page faults).
    """
    symmetric = other is None
    if symmetric:
        other, b = x, a
    n, m = x.shape[0], other.shape[0]
    relu = kernel is _k_relu
    if relu:  # ρ = x_i·y_j / (‖x_i‖‖y_j‖): the GEMM of the raw rows, its block scaled by row and column
        inverse_left, scale_left = _inverse_norms(a) if norms_x is None else norms_x
        inverse_right, scale_right = (inverse_left, scale_left) if symmetric else _inverse_norms(b)
    left, right = x, other
    out = np.empty((n, m))
    if workspace is None or workspace.size < 2 * _BLOCK_ROWS * max(n, m):
        workspace = np.empty(2 * _BLOCK_ROWS * max(n, m))
    gram_buffer, tmp_buffer = workspace[: _BLOCK_ROWS * n], workspace[_BLOCK_ROWS * n :]
    if not symmetric:  # full rows of a C-ordered array: each row block is contiguous
        np.matmul(left, right.T, out=out)
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(n, start + _BLOCK_ROWS)
        cols = stop if symmetric else m
        shape = (stop - start, cols)
        target = out[start:stop, :cols]
        if symmetric:
            c = gram_buffer[: shape[0] * cols].reshape(shape)
            if start:
                np.matmul(left[start:stop], left[:start].T, out=c[:, :start])
            block = left[start:stop]
            np.matmul(block, block.T, out=c[:, start:])  # numpy calls syrk here: half the products
        else:
            c = target
        if relu:
            c *= inverse_left[start:stop, None]
            c *= inverse_right[None, :cols]
            tmp = tmp_buffer[: shape[0] * cols].reshape(shape)
            _relu_block(c, scale_left[start:stop, None], scale_right[None, :cols], tmp, target)
        else:
            rho = _correlation(a[start:stop], b[:cols], c)
            target[...] = kernel(a[start:stop, None], b[None, :cols], c, rho, params)
        if symmetric and mirror:  # lower triangle → upper: GEMM blocks are not bit-symmetric
            upper = np.triu_indices(stop - start, 1)
            block = out[start:stop, start:stop]
            block[upper] = block.T[upper]
            out[:start, start:stop] = out[start:stop, :start].T
    return out


def expected_kernel(
    *,
    activation: Activation | str,
    x: np.ndarray,
    x_test: np.ndarray | None = None,
    method: str = "auto",
    tolerance: float = 1e-13,
) -> ExpectedKernel:
    """Expected kernel ``K = E_w[σ(Xᵀw) σ(wᵀX)]`` and the cross-kernel with test points.

    Parameters
    ----------
    activation
        An :class:`Activation` (or a name, or ``{"name": ..., **parameters}``).
    x
        Training inputs, shape (n, p), **one sample per row** (the paper's X is ``x.T``).
        The theory expects rows of norm O(1) (standardised features divided by √p).
    x_test
        Optional test inputs, shape (n_test, p).
    method
        ``"auto"`` (closed form when available, else Hermite series), ``"closed_form"`` or
        ``"hermite_series"`` (smooth activations only; used to cross-check closed forms).
    tolerance
        Target truncation error of the Hermite series, relative to max E[σ(‖x_i‖z)²].

    Returns
    -------
    ExpectedKernel

    Notes
    -----
    With ``a = ‖x‖², b = ‖y‖², c = xᵀy`` and ``ρ = c/√(ab)``, the closed forms are the table of
    Φ_ab in Louart, Liao & Couillet (2018), Ann. Appl. Probab., Sec. 3.3, as written in
    docs/methods/random_features.md §1 (diagonal computed with ρ = 1 exactly, §6 pitfall 2). Other smooth
    activations use Mehler's formula ``K_ij = Σ_k c_k(‖x_i‖) c_k(‖x_j‖) ρ_ij^k`` (docs/methods/random_features.md §1.1)
    with the Cauchy–Schwarz tail bound ``|ρ|^{L+1}√(t_i t_j)``; pairs whose bound exceeds the
    tolerance are recomputed with a 2-D trapezoid rule and diagonals come from a 1-D rule. Each entry
    is summed only to the order its |ρ_ij| needs (:func:`_mehler`, docs/methods/random_features.md §1.1).
    """
    activation, x, x_test, method, tolerance = _expected_kernel_iv(activation, x, x_test, method, tolerance)
    return _expected_kernel(activation, x, x_test, method, tolerance, mirror=True)


def expected_kernel_lower(
    *, activation: Activation | str, x: np.ndarray, x_test: np.ndarray | None = None
) -> ExpectedKernel:
    """:func:`expected_kernel` for a caller that reads only the lower triangle of ``kernel``.

    A symmetric eigensolver (``numpy.linalg.eigh`` with ``UPLO='L'``, or LAPACK ``sytrd`` on the
    upper triangle of ``kernel.T`` as random features do) reads nothing else, so the closed forms skip mirroring
    the n²/2 entries into the upper triangle (a transposed copy, ~1 % of one eigendecomposition
    at n = 1024), which is then left **unspecified**. Every other field is as in
    :func:`expected_kernel` (default method and tolerance).
    """
    activation, x, x_test, method, tolerance = _expected_kernel_iv(activation, x, x_test, "auto", 1e-13)
    return _expected_kernel(activation, x, x_test, method, tolerance, mirror=False)


def _expected_kernel(activation, x, x_test, method, tolerance, *, mirror: bool) -> ExpectedKernel:
    entry = _CATALOGUE[activation.name]
    params = dict(activation.parameters)
    a = np.einsum("ij,ij->i", x, x)
    if x_test is not None:
        b = np.einsum("ij,ij->i", x_test, x_test)

    k = entry.kernel
    if k is not None and method != "hermite_series":
        norms_x = _inverse_norms(a) if k is _k_relu else None  # shared by K and K_XX̂, as the block buffers
        m = x.shape[0] if x_test is None else max(x.shape[0], x_test.shape[0])
        work = np.empty(2 * _BLOCK_ROWS * m)
        kernel = _closed_form_matrix(k, params, x, a, mirror=mirror, norms_x=norms_x, workspace=work)
        np.fill_diagonal(kernel, k(a, a, a, np.where(a > 0, 1.0, 0.0), params))
        cross_kernel = test_diagonal = None
        if x_test is not None:
            cross_kernel = _closed_form_matrix(k, params, x, a, other=x_test, b=b, norms_x=norms_x, workspace=work)
            test_diagonal = k(b, b, b, np.where(b > 0, 1.0, 0.0), params)
        return ExpectedKernel(kernel, cross_kernel, test_diagonal, "closed_form", 0, 0.0, _REFERENCE_KERNEL)

    gram = x @ x.T  # numpy calls BLAS syrk for x @ x.T: exactly symmetric
    np.fill_diagonal(gram, a)
    rho = _correlation(a, a, gram)
    np.fill_diagonal(rho, np.where(a > 0, 1.0, 0.0))
    if x_test is not None:
        rho_cross = _correlation(a, b, x @ x_test.T)
    n = x.shape[0]
    norms = np.sqrt(a) if x_test is None else np.sqrt(np.concatenate([a, b]))
    series = _hermite_series(activation, norms, tolerance)
    scale = max(float(np.max(series.mean_square, initial=0.0)), 1.0)
    tol_abs = tolerance * scale
    c_train, t_train = series.coefficients[:n], series.tail[:n]
    kernel, stopped = _mehler(c_train, c_train, rho, series.mean_square[:n], series.mean_square[:n], tol_abs)
    order = series.coefficients.shape[1] - 1
    worst = _fix_pairs(activation, kernel, np.sqrt(a), np.sqrt(a), rho, t_train, t_train, order, tol_abs, True)
    np.fill_diagonal(kernel, series.mean_square[:n])
    kernel = 0.5 * (kernel + kernel.T)
    cross_kernel = test_diagonal = None
    if x_test is not None:
        c_test, t_test = series.coefficients[n:], series.tail[n:]
        cross_kernel, stopped_cross = _mehler(
            c_train, c_test, rho_cross, series.mean_square[:n], series.mean_square[n:], tol_abs
        )
        stopped = max(stopped, stopped_cross)
        worst = max(
            worst,
            _fix_pairs(
                activation, cross_kernel, np.sqrt(a), np.sqrt(b), rho_cross, t_train, t_test, order, tol_abs, False
            ),
        )
        test_diagonal = series.mean_square[n:].copy()
    bound = worst + stopped + series.quadrature_error
    return ExpectedKernel(kernel, cross_kernel, test_diagonal, "hermite_series", order, bound, _REFERENCE_SERIES)


def _fix_pairs(activation, kernel, si, sj, rho, ti, tj, order, tol_abs, symmetric) -> float:
    """Recompute by the 2-D rule the pairs whose series tail bound exceeds ``tol_abs`` (at most
    ``_MAX_FALLBACK_PAIRS``, worst first); return the error bound of the result."""
    # The bound |ρ|^{L+1}√(t_i t_j) is computed only where it can exceed tol_abs, |ρ| > r with
    # r^{L+1} max t = tol_abs; every other pair is bounded by (its largest |ρ|)^{L+1} max t ≤ tol_abs. (The
    # power over all n² pairs cost as much as the series' own sums once those stop early, see _mehler.)
    magnitude = np.abs(rho)
    if symmetric:
        magnitude = np.triu(magnitude, k=1)  # diagonal comes from the 1-D rule; each pair once
    tail = math.sqrt(float(np.max(ti, initial=0.0)) * float(np.max(tj, initial=0.0)))
    cut = 1.0 if tail <= tol_abs else (tol_abs / tail) ** (1.0 / (order + 1))
    ii, jj = np.nonzero(magnitude > cut)
    rest = float(np.max(magnitude, where=magnitude <= cut, initial=0.0)) ** (order + 1) * tail
    bound = magnitude[ii, jj] ** (order + 1) * np.sqrt(ti[ii] * tj[jj])
    bad = np.flatnonzero(bound > tol_abs)
    pair_err = 0.0
    if bad.size:
        if bad.size > _MAX_FALLBACK_PAIRS:
            bad = bad[np.argsort(bound[bad])[::-1][:_MAX_FALLBACK_PAIRS]]
        fi, fj = ii[bad], jj[bad]
        values, pair_err = _pair_quadrature(activation, si[fi], sj[fj], rho[fi, fj])
        kernel[fi, fj] = values
        if symmetric:
            kernel[fj, fi] = values
        bound[bad] = 0.0
    return max(float(np.max(bound, initial=0.0)), rest, pair_err)


# --------------------------------------------------------------------------------------
# Moments.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivationMoments:
    """Gaussian moments of an activation, ξ ~ N(0, 1).

    Attributes
    ----------
    mean
        E[σ(ξ)].
    mean_square
        E[σ(ξ)²].
    mean_derivative
        E[σ'(ξ)] = E[ξ σ(ξ)] (Stein's lemma; defined for non-differentiable σ through the
        right-hand side, e.g. √(2/π) for sign).
    second_hermite
        E[(ξ² − 1) σ(ξ)] (= E[σ''(ξ)] for smooth σ).
    method
        ``"closed_form"`` or ``"quadrature"`` (trapezoid rule on [-13, 13]).
    error_bound
        0 for closed forms; for quadrature, the difference between the rule and the rule with
        twice the step (an upper estimate of the error of the finer rule).
    reference
        Paper and section.
    """

    mean: float
    mean_square: float
    mean_derivative: float
    second_hermite: float
    method: str
    error_bound: float
    reference: str


def activation_moments(*, activation: Activation | str, method: str = "auto") -> ActivationMoments:
    """Gaussian moments E[σ], E[σ²], E[σ'] = E[ξσ], E[(ξ²−1)σ] of an activation.

    Parameters
    ----------
    activation
        An :class:`Activation` (or a name, or ``{"name": ..., **parameters}``).
    method
        ``"auto"`` (closed form when known, else quadrature), ``"closed_form"`` or
        ``"quadrature"`` (smooth activations only).

    Returns
    -------
    ActivationMoments

    Notes
    -----
    These are the Hermite coefficients c_0, E σ², c_1 and √2 c_2 of σ that enter the
    linearisation of the random-features Gram matrix in Louart, Liao & Couillet (2018),
    Ann. Appl. Probab., Sec. 3.3 (and docs/methods/random_features.md §1, §1.1 for the trapezoid rule,
    whose error on these analytic integrands is below 1e-15, docs/methods/random_features.md §1.1 table).
    """
    activation = as_activation(activation)
    entry = _CATALOGUE[activation.name]
    if method not in ("auto", "closed_form", "quadrature"):
        raise InvalidParameterError(
            "method", f"`method` must be 'auto', 'closed_form' or 'quadrature', got {method!r}."
        )
    has_closed = activation.name in _CLOSED_MOMENTS
    if method == "closed_form" and not has_closed:
        raise InvalidParameterError("method", f"`method` 'closed_form' is not available for {activation.name!r}.")
    if method == "quadrature" and not entry.smooth:
        raise InvalidParameterError(
            "method", f"`method` 'quadrature' is refused for the non-smooth activation {activation.name!r}."
        )
    if has_closed and method != "quadrature":
        m0, m1, m2, m3 = (float(t) for t in _CLOSED_MOMENTS[activation.name](dict(activation.parameters)))
        return ActivationMoments(m0, m1, m2, m3, "closed_form", 0.0, _REFERENCE_MOMENTS)

    def rule(step):
        z, w = _trapezoid(step)
        s = activation(z)
        return np.array([s @ w, (s * s) @ w, (z * s) @ w, ((z * z - 1.0) * s) @ w])

    fine, coarse = rule(1.0 / 32.0), rule(1.0 / 16.0)
    err = float(np.max(np.abs(fine - coarse)))
    m0, m1, m2, m3 = (float(t) for t in fine)
    return ActivationMoments(m0, m1, m2, m3, "quadrature", err, _REFERENCE_MOMENTS)
