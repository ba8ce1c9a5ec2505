"""The kernel spec: linear, cosine, polynomial, RBF, inner-product, distance and random-features kernels.

Data are x ∈ ℝᵖ with entries of order 1 (‖x‖² ≈ p), **rows are samples**, and every kernel is
scaled by p. Each kernel is a function h(a, b, t) of the three scalars

    a = ‖x‖²/p,   b = ‖y‖²/p,   t = xᵀy/p,

which is what El Karoui's linearisation (2010, Ann. Statist. 38(1), Thms 2.1–2.2) expands:
:func:`kernel_profile` returns h and its derivatives at (τ, τ, 0) (τ = tr Σ/p), from which
:mod:`solvers.kernel_spectrum` builds the limiting spectrum (docs/derivations/kernel_matrix_spectrum.md).

| name              | K(x, y)                                       |
|-------------------|-----------------------------------------------|
| ``linear``        | xᵀy/p                                         |
| ``cosine``        | xᵀy/(‖x‖‖y‖)                                  |
| ``polynomial``    | (xᵀy/p + offset)^degree                       |
| ``rbf``           | exp(−‖x − y‖²/(p·bandwidth²))                 |
| ``inner_product`` | f(xᵀy/p), f of the activation catalogue or exp |
| ``distance``      | f(‖x − y‖²/p), f as above                     |
| ``random_features`` | E_w[σ(wᵀx/√p) σ(wᵀy/√p)], w ~ N(0, I_p)     |

The random-features kernel is the expected kernel of :func:`solvers.activations.expected_kernel`
applied to x/√p (the samples of norm O(1) that endpoint expects).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solvers import _validation as v
from solvers.activations import Activation, expected_kernel, make_activation
from solvers.exceptions import InvalidParameterError

__all__ = ["KERNEL_NAMES", "Kernel", "KernelMatrix", "KernelProfile", "kernel_matrix", "kernel_profile", "make_kernel"]

KERNEL_NAMES = ("linear", "cosine", "polynomial", "rbf", "inner_product", "distance", "random_features")
_REFERENCE = (
    "Kernel definitions of El Karoui (2010), Ann. Statist. 38(1), Sec. 2 (inner-product and Euclidean-distance "
    "kernels); Louart, Liao & Couillet (2018), Ann. Appl. Probab. 28(2), Sec. 3.3 (random-features kernel); "
    "docs/derivations/kernel_matrix_spectrum.md §1"
)
MAX_DEGREE = 20


@dataclass(frozen=True, slots=True)
class Kernel:
    """A kernel of the spec, validated (build it with :func:`make_kernel`).

    Attributes
    ----------
    name
        One of :data:`KERNEL_NAMES`.
    degree, offset
        ``polynomial`` only: (t + offset)^degree.
    bandwidth
        ``rbf`` only: exp(−‖x − y‖²/(p·bandwidth²)).
    function
        ``inner_product`` / ``distance``: f, an :class:`Activation` of the catalogue or the string ``"exp"``.
    activation
        ``random_features`` only: σ.
    """

    name: str
    degree: int | None = None
    offset: float | None = None
    bandwidth: float | None = None
    function: Activation | str | None = None
    activation: Activation | None = None

    def scalar_function(self) -> Callable[[np.ndarray], np.ndarray]:
        """f for ``inner_product``/``distance`` as a numpy function."""
        if isinstance(self.function, Activation):
            return self.function
        if self.function == "exp":
            return np.exp
        raise ValueError(f"The {self.name!r} kernel has no scalar function f.")

    def as_dict(self) -> dict:
        """The kernel as the HTTP contract writes it."""
        out: dict = {"name": self.name}
        for key in ("degree", "offset", "bandwidth"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.function is not None:
            out["function"] = self.function.as_dict() if isinstance(self.function, Activation) else {"name": "exp"}
        if self.activation is not None:
            out["activation"] = self.activation.as_dict()
        return out


def make_kernel(
    name: str,
    *,
    degree: int | None = None,
    offset: float | None = None,
    bandwidth: float | None = None,
    function: Activation | str | dict | None = None,
    activation: Activation | str | dict | None = None,
) -> Kernel:
    """Validate and build a :class:`Kernel`; defaults: degree 2, offset 1, bandwidth 1.

    Raises
    ------
    InvalidParameterError
        Unknown name (``kernel.name``), a field of another kernel, or a value out of range (named).
    """
    if name not in KERNEL_NAMES:
        raise InvalidParameterError(
            "kernel.name", f"`kernel.name` must be one of {', '.join(KERNEL_NAMES)}; got {name!r}."
        )
    allowed = {
        "polynomial": {"degree", "offset"},
        "rbf": {"bandwidth"},
        "inner_product": {"function"},
        "distance": {"function"},
        "random_features": {"activation"},
    }.get(name, set())
    given = {"degree": degree, "offset": offset, "bandwidth": bandwidth, "function": function, "activation": activation}
    for key, value in given.items():
        if value is not None and key not in allowed:
            raise InvalidParameterError(f"kernel.{key}", f"`kernel.{key}` is not a parameter of the {name!r} kernel.")
    if name == "polynomial":
        degree = 2 if degree is None else degree
        if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or not 1 <= degree <= MAX_DEGREE:
            raise InvalidParameterError(
                "kernel.degree", f"`kernel.degree` must be an integer in [1, {MAX_DEGREE}], got {degree!r}."
            )
        offset = v.finite_scalar("kernel.offset", 1.0 if offset is None else offset)
        return Kernel(name, degree=int(degree), offset=float(offset))
    if name == "rbf":
        return Kernel(name, bandwidth=v.positive("kernel.bandwidth", 1.0 if bandwidth is None else bandwidth))
    if name in ("inner_product", "distance"):
        if function is None:
            raise InvalidParameterError("kernel.function", f"`kernel.function` is required for the {name!r} kernel.")
        return Kernel(name, function=_as_function(function))
    if name == "random_features":
        if activation is None:
            raise InvalidParameterError(
                "kernel.activation", "`kernel.activation` is required for the 'random_features' kernel."
            )
        return Kernel(name, activation=_as_activation(activation, "kernel.activation"))
    return Kernel(name)


def _as_activation(value: Activation | str | dict, field: str) -> Activation:
    if isinstance(value, Activation):
        return value
    try:
        if isinstance(value, str):
            return make_activation(value)
        # None-valued fields are absent parameters (a JSON dump of the contract writes them out).
        params = {k: v for k, v in dict(value).items() if v is not None}
        return make_activation(params.pop("name", None), **params)
    except InvalidParameterError as error:
        raise InvalidParameterError(field, f"{field}: {error.message}") from None


def _as_function(value: Activation | str | dict) -> Activation | str:
    if value == "exp" or (
        isinstance(value, dict)
        and value.get("name") == "exp"
        and all(v is None for k, v in value.items() if k != "name")
    ):
        return "exp"
    return _as_activation(value, "kernel.function")


def _h(kernel: Kernel, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """K as a function of a = ‖x‖²/p, b = ‖y‖²/p, t = xᵀy/p (broadcast), for every kernel but random_features."""
    name = kernel.name
    if name == "linear":
        return t + 0.0 * (a + b)
    if name == "cosine":
        denom = np.sqrt(a * b)
        return np.divide(t, denom, out=np.zeros(np.broadcast(a, b, t).shape), where=denom > 0)
    if name == "polynomial":
        assert kernel.offset is not None and kernel.degree is not None  # make_kernel sets both for polynomial
        return (t + kernel.offset) ** kernel.degree
    if name == "inner_product":
        return kernel.scalar_function()(t + 0.0 * (a + b))
    distance = np.maximum(a + b - 2.0 * t, 0.0)
    if name == "rbf":
        return np.exp(-(distance / kernel.bandwidth) / kernel.bandwidth)
    return kernel.scalar_function()(distance)  # distance


@dataclass(frozen=True, slots=True)
class KernelMatrix:
    """A kernel evaluated on data.

    Attributes
    ----------
    kernel
        K (n × n), K_ij = K(x_i, x_j).
    cross_kernel
        K(x_i, x̂_j) (n × n̂); ``None`` without ``x_test``.
    test_diagonal
        K(x̂_j, x̂_j) (n̂,); ``None`` without ``x_test``.
    error_bound
        Bound on the absolute error of each entry: 0 except for Hermite-series random-features kernels.
    reference
        Where the kernels are defined.
    """

    kernel: np.ndarray
    cross_kernel: np.ndarray | None
    test_diagonal: np.ndarray | None
    error_bound: float
    reference: str


def kernel_matrix(*, kernel: Kernel, x: np.ndarray, x_test: np.ndarray | None = None) -> KernelMatrix:
    """Evaluate a kernel of the spec on data whose rows are samples.

    Parameters
    ----------
    kernel
        A :class:`Kernel` (see :func:`make_kernel`).
    x
        Training inputs, shape (n, p), entries of order 1 (‖x‖² ≈ p).
    x_test
        Optional test inputs, shape (n̂, p).

    Returns
    -------
    KernelMatrix

    Notes
    -----
    Inner-product kernels f(xᵀy/p) and Euclidean-distance kernels f(‖x − y‖²/p) as in El Karoui
    (2010), Ann. Statist. 38(1), Sec. 2; the diagonal of distance kernels is f(0) exactly. The
    random-features kernel is :func:`solvers.activations.expected_kernel` on x/√p (Louart, Liao &
    Couillet 2018, Sec. 3.3).
    """
    if not isinstance(kernel, Kernel):
        raise InvalidParameterError("kernel", f"`kernel` must be a Kernel, got {type(kernel).__name__}.")
    x = v.finite_array("x", x, ndim=2)
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise InvalidParameterError("x", f"`x` must have at least one row and one column, got shape {x.shape}.")
    if x_test is not None:
        x_test = v.finite_array("x_test", x_test, ndim=2)
        if x_test.shape[1] != x.shape[1]:
            raise InvalidParameterError(
                "x_test", f"`x_test` must have {x.shape[1]} columns like `x`, got shape {x_test.shape}."
            )
    p = x.shape[1]
    if kernel.name == "random_features":
        assert kernel.activation is not None  # make_kernel sets it for random_features
        scale = 1.0 / math.sqrt(p)
        result = expected_kernel(
            activation=kernel.activation, x=x * scale, x_test=None if x_test is None else x_test * scale
        )
        return KernelMatrix(
            result.kernel, result.cross_kernel, result.test_diagonal, float(result.error_bound), _REFERENCE
        )
    a = np.einsum("ij,ij->i", x, x) / p
    gram = (x @ x.T) / p
    np.fill_diagonal(gram, a)  # exactly ‖x_i‖²/p on the diagonal: distance 0, cosine 1
    with np.errstate(all="ignore"):
        matrix = _h(kernel, a[:, None], a[None, :], gram)
        matrix = 0.5 * (matrix + matrix.T)
        cross = diagonal = None
        if x_test is not None:
            b = np.einsum("ij,ij->i", x_test, x_test) / p
            cross = _h(kernel, a[:, None], b[None, :], (x @ x_test.T) / p)
            diagonal = _h(kernel, b, b, b)
    return KernelMatrix(matrix, cross, diagonal, 0.0, _REFERENCE)


@dataclass(frozen=True, slots=True)
class KernelProfile:
    """h(a, b, t) = K(x, y) and its derivatives at (a, b, t) = (τ, τ, 0) (El Karoui 2010's expansion point).

    Attributes
    ----------
    tau
        τ = tr Σ/p, the limit of ‖x‖²/p.
    value
        h₀ = h(τ, τ, 0): the off-diagonal level.
    diagonal
        h(τ, τ, τ): the diagonal K(x, x).
    d_norm, d_inner
        ∂h/∂a and ∂h/∂t at (τ, τ, 0).
    d_norm_norm, d_norm_cross, d_inner_inner
        ∂²h/∂a², ∂²h/∂a∂b and ∂²h/∂t² at (τ, τ, 0).
    d_diagonal
        d/da h(a, a, a) at τ: how fast the diagonal K(x, x) moves with ‖x‖²/p (a finite-size effect).
    """

    tau: float
    value: float
    diagonal: float
    d_norm: float
    d_inner: float
    d_norm_norm: float
    d_norm_cross: float
    d_inner_inner: float
    d_diagonal: float = 0.0


_SMOOTH_AT_ZERO_MESSAGE = (
    "El Karoui's linearisation of f(xᵀy/p) needs f smooth (C³) near 0; {name!r} is not differentiable at 0"
)


def _evaluate(kernel: Kernel, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """h at arrays of (a, b, t) triples (random features through 2-D inputs with those norms and inner product)."""
    if kernel.name != "random_features":
        return _h(kernel, a, b, t)
    assert kernel.activation is not None  # make_kernel sets it for random_features
    out = np.empty(a.shape)
    for index, (ai, bi, ti) in enumerate(zip(a.ravel(), b.ravel(), t.ravel(), strict=True)):
        first = np.array([math.sqrt(ai), 0.0])
        second = np.array([ti / math.sqrt(ai), math.sqrt(max(bi - ti * ti / ai, 0.0))])
        out.flat[index] = expected_kernel(activation=kernel.activation, x=np.stack([first, second])).kernel[0, 1]
    return out


def kernel_profile(kernel: Kernel, *, tau: float) -> KernelProfile:
    """The value and derivatives of h(a, b, t) at (τ, τ, 0), by central differences of step τ·10⁻³.

    The differences are 4th-order accurate where that is cheap (errors ~1e-10 for the closed forms,
    ~1e-7 for Hermite-series kernels whose entries are accurate to 1e-13).

    Raises
    ------
    InvalidParameterError
        ``kernel.function`` of an inner-product kernel not smooth at 0 (El Karoui 2010, Thm 2.1 hypothesis).
    """
    function = kernel.function
    if kernel.name == "inner_product" and isinstance(function, Activation) and not function.is_smooth:  # exp is smooth
        raise InvalidParameterError("kernel.function", _SMOOTH_AT_ZERO_MESSAGE.format(name=function.name) + ".")
    h = tau * 1e-3
    # (a, b, t) offsets: value, ±h and ±2h in a, in t, and the four corners in (a, b).
    steps = [
        (0, 0, 0),
        (h, 0, 0),
        (-h, 0, 0),
        (2 * h, 0, 0),
        (-2 * h, 0, 0),
        (0, 0, h),
        (0, 0, -h),
        (0, 0, 2 * h),
        (0, 0, -2 * h),
        (h, h, 0),
        (h, -h, 0),
        (-h, h, 0),
        (-h, -h, 0),
        (2 * h, 2 * h, 0),
        (2 * h, -2 * h, 0),
        (-2 * h, 2 * h, 0),
        (-2 * h, -2 * h, 0),
    ]
    a = np.array([tau + s[0] for s in steps])
    b = np.array([tau + s[1] for s in steps])
    t = np.array([float(s[2]) for s in steps])
    with np.errstate(all="ignore"):
        f = _evaluate(kernel, a, b, t)
        on_diagonal = tau + np.array([0.0, h, -h])
        diagonals = _evaluate(kernel, on_diagonal, on_diagonal, on_diagonal)
        diagonal = float(diagonals[0])
        d_diagonal = float((diagonals[1] - diagonals[2]) / (2 * h))
    f0 = f[0]
    d_a = (8 * (f[1] - f[2]) - (f[3] - f[4])) / (12 * h)
    d_aa = (16 * (f[1] + f[2]) - (f[3] + f[4]) - 30 * f0) / (12 * h * h)
    d_t = (8 * (f[5] - f[6]) - (f[7] - f[8])) / (12 * h)
    d_tt = (16 * (f[5] + f[6]) - (f[7] + f[8]) - 30 * f0) / (12 * h * h)
    # Richardson extrapolation of the 4-point mixed difference (steps h and 2h): 4th order.
    d_ab_h = (f[9] - f[10] - f[11] + f[12]) / (4 * h * h)
    d_ab_2h = (f[13] - f[14] - f[15] + f[16]) / (16 * h * h)
    d_ab = (4 * d_ab_h - d_ab_2h) / 3
    values = (f0, diagonal, d_a, d_t, d_aa, d_ab, d_tt)
    if not all(math.isfinite(x) for x in values):
        raise InvalidParameterError(
            "kernel", "the kernel overflows near ‖x‖²/p = τ; its limiting spectrum is not defined."
        )
    value, diag, d_norm, d_inner, d_norm_norm, d_norm_cross, d_inner_inner = (
        float(_clean(x, f0, diagonal)) for x in values
    )
    return KernelProfile(
        tau,
        value,
        diag,
        d_norm,
        d_inner,
        d_norm_norm,
        d_norm_cross,
        d_inner_inner,
        d_diagonal=_clean(d_diagonal, f0, diagonal),
    )


def _clean(value: float, *scales: float) -> float:
    """Zero a finite-difference residue (e.g. ∂h/∂a of an inner-product kernel is exactly 0)."""
    scale = max(1.0, *(abs(s) for s in scales))
    return 0.0 if abs(value) < 1e-7 * scale else value
