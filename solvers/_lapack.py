"""Three LAPACK routines called with the GIL released: the pieces of a symmetric eigendecomposition.

Random-features ridge (docs/methods/random_features.md §5) needs the eigenvalues of the n × n kernel
K and the projections UᵀB of a few right-hand sides B = [y, K_XX̂] on its eigenvectors, never U
itself. ``numpy.linalg.eigh`` (LAPACK ``syevd``) forms U: it reduces K to a tridiagonal T = QᵀKQ
(``sytrd``), diagonalises T = ZΛZᵀ (``stedc``, divide and conquer) and multiplies U = QZ
(``ormtr``, 2n³ flops). :func:`eigh_projected` calls the same three routines but applies Q to B
instead, UᵀB = Zᵀ(QᵀB), which costs 4n²m for m columns instead of 2n³ + 2n²m: at n = 1024 and
m = 513 the whole call takes ~0.8 of one ``numpy.linalg.eigh`` (``bin/bench random_features``).

Why not scipy.linalg.lapack? Its f2py wrappers hold the GIL for the whole call (a 2048 × 2048
reduction would freeze every other thread of the service for seconds) and it does not wrap
``ormtr``. scipy also ships every LAPACK routine as a C function for Cython users
(``scipy.linalg.cython_lapack``, declared ``nogil``); its module table ``__pyx_capi__`` holds their
addresses, which ctypes calls with the GIL released (the way numba documents for
``scipy.special.cython_special``). Each address is taken only if its declared C signature is the
one written here, so a scipy that changed an argument type (say 64-bit integers) is never called
with the wrong arguments: :data:`AVAILABLE` is then false and the caller uses
``numpy.linalg.eigh``.
"""

from __future__ import annotations

import ctypes
import re
from typing import Any

import numpy as np

#: C signatures of scipy.linalg.cython_lapack (scipy/linalg/cython_lapack.pxd) with its float
#: typedef written ``d``; an address is used only when the capsule declares exactly this.
_SIGNATURES = {
    # uplo, n, a, lda, d, e, tau, work, lwork, info
    "dsytrd": "void (char *, int *, d *, int *, d *, d *, d *, d *, int *, int *)",
    # compz, n, d, e, z, ldz, work, lwork, iwork, liwork, info
    "dstedc": "void (char *, int *, d *, d *, d *, int *, d *, int *, int *, int *, int *)",
    # side, uplo, trans, m, n, a, lda, tau, c, ldc, work, lwork, info
    "dormtr": "void (char *, char *, char *, int *, int *, d *, int *, d *, d *, int *, d *, int *, int *)",
}


def _bind(table: dict[str, Any], name: str) -> Any:
    """The ctypes function at ``table[name]``'s address, or None if its signature is not ours."""
    capsule = table.get(name)
    if capsule is None:
        return None
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    declared = get_name(capsule)
    # Cython names its typedef of double after the module (__pyx_t_5scipy_6linalg_13cython_lapack_d)
    if declared is None or re.sub(r"__pyx_t_\w+_d\b", "d", declared.decode()) != _SIGNATURES[name]:
        return None
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(capsule, declared)
    n_args = _SIGNATURES[name].count(",") + 1
    # CFUNCTYPE (not PYFUNCTYPE): ctypes releases the GIL around the call
    return ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * n_args))(address)


def _load() -> dict[str, Any]:
    try:
        from scipy.linalg import cython_lapack

        table = cython_lapack.__pyx_capi__
    except (ImportError, AttributeError):  # pragma: no cover - a scipy without the Cython API
        return {}
    functions = {name: _bind(table, name) for name in _SIGNATURES}
    return functions if all(f is not None for f in functions.values()) else {}


_FUNCTIONS = _load()

#: Whether :func:`eigh_projected` can run (scipy's Cython LAPACK found with the expected signatures).
AVAILABLE = bool(_FUNCTIONS)


class _Args:
    """Hands out the addresses of one call's arguments, and keeps them alive until it is dropped."""

    def __init__(self) -> None:
        self._keep: list[Any] = []

    def char(self, value: str) -> Any:
        buffer = ctypes.create_string_buffer(value.encode())
        self._keep.append(buffer)
        return ctypes.cast(buffer, ctypes.c_void_p)

    def int(self, value: int) -> Any:
        scalar = ctypes.c_int(value)
        self._keep.append(scalar)
        return ctypes.cast(ctypes.pointer(scalar), ctypes.c_void_p)

    def array(self, a: np.ndarray) -> Any:
        self._keep.append(a)  # the data must outlive the call, whoever else holds the array
        return ctypes.c_void_p(a.ctypes.data)


def _check_fortran(name: str, a: np.ndarray, rows: int) -> None:
    if a.dtype != np.float64 or not a.flags.f_contiguous or not a.flags.writeable or a.shape[0] != rows:
        raise ValueError(f"`{name}` must be a writable Fortran-ordered float64 array with {rows} rows.")


def eigh_projected(upper: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues λ (ascending) of a symmetric matrix and the projections UᵀB, without forming U.

    Parameters
    ----------
    upper
        n × n float64, Fortran-ordered and writable; only its upper triangle is read (it is the
        lower triangle of a C-ordered matrix seen through ``.T``). **Overwritten** (by the
        reflectors of the tridiagonal reduction).
    rhs
        B, n × m float64, writable, Fortran- or C-ordered (a C-ordered B is transformed as Bᵀ,
        with Q applied from the right). **Overwritten** when m < n.

    Returns
    -------
    eigenvalues : ndarray, shape (n,)
    projected : ndarray, shape (n, m)
        UᵀB, row i the projection on the eigenvector of λ_i. Eigenvectors are defined up to sign;
        each row has the sign of LAPACK's vector, the one ``numpy.linalg.eigh`` returns.

    Raises
    ------
    numpy.linalg.LinAlgError
        When divide and conquer does not converge (as ``numpy.linalg.eigh``).

    Notes
    -----
    LAPACK Users' Guide, Sec. 2.4.4 (``syevd`` = ``sytrd`` + ``stedc`` + ``ormtr``). K = QTQᵀ and
    T = ZΛZᵀ give U = QZ, so UᵀB = Zᵀ(QᵀB): ``ormtr`` applies Qᵀ to the m columns of B
    (2n²m flops) and one GEMM applies Zᵀ (2n²m), instead of ``ormtr`` on the n columns of Z (2n³)
    and the GEMM. For m ≥ n forming U is cheaper, and done.
    """
    n = upper.shape[0]
    _check_fortran("upper", upper, n)
    if (
        rhs.dtype != np.float64
        or rhs.ndim != 2
        or rhs.shape[0] != n
        or not rhs.flags.writeable
        or not (rhs.flags.f_contiguous or rhs.flags.c_contiguous)
    ):
        raise ValueError(f"`rhs` must be a writable contiguous float64 array with {n} rows.")
    if upper.shape != (n, n):
        raise ValueError("`upper` must be square.")
    if n == 0:
        return np.empty(0), np.empty((0, rhs.shape[1]))
    m = rhs.shape[1]
    diag, off, tau = np.empty(n), np.empty(max(n - 1, 1)), np.empty(max(n - 1, 1))
    _call("dsytrd", "U", n, upper, n, diag, off, tau, work=True)
    z = np.empty((n, n), order="F")
    # COMPZ='I': eigenvectors of T itself; workspace 1 + 4n + n² and 3 + 5n (LAPACK's minimum)
    work, iwork = np.empty(1 + 4 * n + n * n), np.empty(3 + 5 * n, dtype=np.intc)
    if _call("dstedc", "I", n, diag, off, z, n, work, work.size, iwork, iwork.size) != 0:
        raise np.linalg.LinAlgError("Eigenvalues did not converge")
    del work, iwork
    if m >= n:  # forming U = QZ is the cheaper order
        _call("dormtr", "L", "U", "N", n, n, upper, n, tau, z, n, work=True)
        return diag, z.T @ rhs
    if rhs.flags.f_contiguous:  # Qᵀ on B, then Zᵀ
        _call("dormtr", "L", "U", "T", n, m, upper, n, tau, rhs, n, work=True)
        return diag, z.T @ rhs
    # C-ordered B: Bᵀ is Fortran-ordered, and (BᵀQ)Z = (UᵀB)ᵀ
    _call("dormtr", "R", "U", "N", m, n, upper, n, tau, rhs.T, m, work=True)
    return diag, (rhs.T @ z).T


def _call(name: str, *values: Any, work: bool = False) -> int:
    """Call ``name`` with ``values`` (str → char*, int → int*, ndarray → its data), then, with
    ``work``, a workspace of the size LAPACK asks for (lwork = −1 first), then ``info``; returns info.

    A negative info (an argument LAPACK rejects) is a bug of this module and raised."""
    args = _Args()
    converted = [
        args.char(v) if isinstance(v, str) else args.int(v) if isinstance(v, int) else args.array(v) for v in values
    ]
    info = ctypes.c_int(0)
    info_ptr = ctypes.cast(ctypes.pointer(info), ctypes.c_void_p)
    function = _FUNCTIONS[name]
    if work:
        query = np.empty(1)
        function(*converted, args.array(query), args.int(-1), info_ptr)
        size = max(1, int(query[0]))
        function(*converted, args.array(np.empty(size)), args.int(size), info_ptr)
    else:
        function(*converted, info_ptr)
    if info.value < 0:  # pragma: no cover
        raise RuntimeError(f"LAPACK {name} rejected argument {-info.value}")
    return info.value
