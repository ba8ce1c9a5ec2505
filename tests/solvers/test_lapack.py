"""solvers._lapack: the symmetric eigendecomposition in three LAPACK steps, projected on B.

The reference is ``numpy.linalg.eigh`` (LAPACK syevd: the same three steps with U formed) and an
explicit product UᵀB. Eigenvectors are defined up to sign, so rows are compared after aligning
signs; the test matrices have well-separated eigenvalues (random symmetric Gaussian matrices: the
smallest gap of 1e-4 or more at these sizes), so each vector is determined to ~1e-12.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from solvers import _lapack

pytestmark = pytest.mark.skipif(not _lapack.AVAILABLE, reason="scipy without its Cython LAPACK")


def _reference(matrix: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam, vecs = np.linalg.eigh(matrix)
    return lam, vecs.T @ rhs


def _assert_projection_equal(got: np.ndarray, ref: np.ndarray) -> None:
    sign = np.where(np.einsum("ij,ij->i", got, ref) < 0, -1.0, 1.0)
    scale = max(np.abs(ref).max(), 1.0)
    np.testing.assert_allclose(sign[:, None] * got, ref, rtol=0, atol=1e-11 * scale)


@pytest.mark.parametrize(
    ("n", "m", "order"),
    [
        (1, 1, "F"),
        (2, 3, "C"),
        (7, 2, "F"),
        (7, 2, "C"),
        (60, 13, "F"),
        (60, 13, "C"),
        (60, 60, "C"),
        (60, 95, "F"),
        (257, 31, "C"),
    ],
)
def test_eigenvalues_and_projections_equal_numpy_eigh(n, m, order):
    # m < n: Qᵀ is applied to B (from the left when B is Fortran-ordered, to Bᵀ from the right when
    # it is C-ordered); m ≥ n: U = QZ is formed, the cheaper order. All three must agree with numpy.
    rng = np.random.default_rng(n * 1000 + m)
    g = rng.standard_normal((n, n))
    matrix = (g + g.T) / 2
    rhs = rng.standard_normal((n, m))
    upper = np.asfortranarray(matrix)
    upper[np.tril_indices(n, -1)] = np.nan  # only the upper triangle may be read
    lam, projected = _lapack.eigh_projected(upper, np.array(rhs, order=order))
    ref_lam, ref_projected = _reference(matrix, rhs)
    np.testing.assert_allclose(lam, ref_lam, rtol=0, atol=1e-13 * max(np.abs(ref_lam).max(), 1.0))
    assert projected.shape == (n, m)
    _assert_projection_equal(projected, ref_projected)


def test_empty_matrix():
    lam, projected = _lapack.eigh_projected(np.empty((0, 0), order="F"), np.empty((0, 4), order="F"))
    assert lam.shape == (0,) and projected.shape == (0, 4)


@pytest.mark.parametrize("off_diagonal", ["random", "ones"])
def test_non_finite_input_fails_like_numpy(off_diagonal):
    # A NaN diagonal: numpy.linalg.eigh returns NaN (random off-diagonal) or raises LinAlgError
    # (divide and conquer does not converge, ones off the diagonal); eigh_projected does the same.
    rng = np.random.default_rng(5)
    g = rng.standard_normal((20, 20)) if off_diagonal == "random" else np.ones((20, 20))
    matrix = np.where(np.eye(20) > 0, np.nan, g + g.T)
    try:
        expected = np.linalg.eigh(matrix)[0]
    except np.linalg.LinAlgError:
        with pytest.raises(np.linalg.LinAlgError, match="did not converge"):
            _lapack.eigh_projected(np.asfortranarray(matrix), np.ones((20, 3), order="F"))
        return
    assert np.isnan(expected).all()
    lam, projected = _lapack.eigh_projected(np.asfortranarray(matrix), np.ones((20, 3), order="F"))
    assert np.isnan(lam).all() and np.isnan(projected).all()


@pytest.mark.parametrize(
    ("upper", "rhs", "name"),
    [
        (np.zeros((4, 4)) + np.eye(4)[::-1], np.zeros((4, 1), order="F"), "upper"),  # not Fortran-ordered
        (np.asfortranarray(np.eye(4, dtype=np.float32)), np.zeros((4, 1), order="F"), "upper"),
        (np.asfortranarray(np.eye(4)), np.zeros((3, 1), order="F"), "rhs"),  # wrong number of rows
        (np.asfortranarray(np.eye(4)), np.zeros((4, 6))[:, ::2], "rhs"),  # not contiguous
    ],
)
def test_arguments_lapack_cannot_read_are_refused(upper, rhs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        _lapack.eigh_projected(upper, rhs)


def test_functions_release_the_gil():
    # ctypes releases the GIL around CFUNCTYPE calls and holds it around PYFUNCTYPE ones; the three
    # routines must be of the first kind (scipy declares them nogil)
    for function in _lapack._FUNCTIONS.values():
        assert not function._flags_ & ctypes._FUNCFLAG_PYTHONAPI


def test_a_capsule_with_another_signature_is_not_bound():
    # A scipy whose routine took, say, 64-bit integers must never be called with 32-bit ones: the
    # declared C signature is compared before the address is used.
    new_capsule = ctypes.pythonapi.PyCapsule_New
    new_capsule.restype, new_capsule.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    name = (
        b"void (char *, int64_t *, double *, int64_t *, double *, double *, double *, double *, int64_t *, int64_t *)"
    )
    capsule = new_capsule(ctypes.cast(ctypes.pointer(ctypes.c_int(0)), ctypes.c_void_p), name, None)
    assert _lapack._bind({"dsytrd": capsule}, "dsytrd") is None
    assert _lapack._bind({}, "dsytrd") is None
