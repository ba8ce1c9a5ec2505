"""The kernel spec (solvers/kernels.py): each kernel against its formula written out, validation, and the
derivatives of kernel_profile against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solvers.activations import expected_kernel
from solvers.exceptions import InvalidParameterError
from solvers.kernels import kernel_matrix, kernel_profile, make_kernel

RNG = np.random.default_rng(20260101)
X = RNG.standard_normal((7, 5))
XT = RNG.standard_normal((3, 5))
P = 5


def _pairs(f, a, b):
    return np.array([[f(u, v) for v in b] for u in a])


@pytest.mark.parametrize(
    "spec, formula",
    [
        ({"name": "linear"}, lambda u, v: u @ v / P),
        ({"name": "cosine"}, lambda u, v: u @ v / (np.linalg.norm(u) * np.linalg.norm(v))),
        ({"name": "polynomial", "degree": 3, "offset": 0.5}, lambda u, v: (u @ v / P + 0.5) ** 3),
        ({"name": "rbf", "bandwidth": 1.5}, lambda u, v: math.exp(-np.sum((u - v) ** 2) / (P * 1.5**2))),
        ({"name": "inner_product", "function": "exp"}, lambda u, v: math.exp(u @ v / P)),
        ({"name": "inner_product", "function": {"name": "tanh"}}, lambda u, v: math.tanh(u @ v / P)),
        (
            {"name": "distance", "function": {"name": "gaussian"}},
            lambda u, v: math.exp(-0.5 * (np.sum((u - v) ** 2) / P) ** 2),
        ),
    ],
)
def test_each_kernel_is_its_formula(spec, formula):
    kernel = make_kernel(**spec)
    result = kernel_matrix(kernel=kernel, x=X, x_test=XT)
    np.testing.assert_allclose(result.kernel, _pairs(formula, X, X), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result.cross_kernel, _pairs(formula, X, XT), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result.test_diagonal, [formula(u, u) for u in XT], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(result.kernel, result.kernel.T)


def test_random_features_kernel_is_the_expected_kernel_at_x_over_root_p():
    kernel = make_kernel("random_features", activation={"name": "relu"})
    result = kernel_matrix(kernel=kernel, x=X, x_test=XT)
    reference = expected_kernel(activation="relu", x=X / math.sqrt(P), x_test=XT / math.sqrt(P))
    # x·(1/√p) vs x/√p differ in the last bit of the inputs
    np.testing.assert_allclose(result.kernel, reference.kernel, rtol=1e-13)
    np.testing.assert_allclose(result.cross_kernel, reference.cross_kernel, rtol=1e-13)


def test_distance_diagonal_is_f_of_zero_exactly():
    kernel = make_kernel("distance", function={"name": "cos"})
    np.testing.assert_array_equal(np.diag(kernel_matrix(kernel=kernel, x=X).kernel), 1.0)


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"name": "spline"}, "kernel.name"),
        ({"name": "polynomial", "degree": 0}, "kernel.degree"),
        ({"name": "rbf", "bandwidth": -1.0}, "kernel.bandwidth"),
        ({"name": "rbf", "degree": 2}, "kernel.degree"),
        ({"name": "inner_product"}, "kernel.function"),
        ({"name": "distance", "function": {"name": "nope"}}, "kernel.function"),
        ({"name": "random_features"}, "kernel.activation"),
    ],
)
def test_validation_names_the_field(arguments, field):
    with pytest.raises(InvalidParameterError) as error:
        make_kernel(**arguments)
    assert error.value.parameter == field


def test_profile_matches_closed_form_derivatives():
    # Distance kernel f(a + b − 2t) with f = exp(−u): at (τ, τ, 0), h = e^{−2τ}, h_a = −e^{−2τ},
    # h_t = 2e^{−2τ}, h_aa = h_ab = e^{−2τ}, h_tt = 4e^{−2τ}; diagonal f(0) = 1.
    tau = 1.3
    e = math.exp(-2 * tau)
    profile = kernel_profile(make_kernel("rbf", bandwidth=1.0), tau=tau)
    expected = (e, 1.0, -e, 2 * e, e, e, 4 * e)
    got = (
        profile.value,
        profile.diagonal,
        profile.d_norm,
        profile.d_inner,
        profile.d_norm_norm,
        profile.d_norm_cross,
        profile.d_inner_inner,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    # Inner product f(t) = (t + 1)²: no dependence on the norms.
    profile = kernel_profile(make_kernel("polynomial", degree=2, offset=1.0), tau=2.0)
    assert (profile.d_norm, profile.d_norm_norm, profile.d_norm_cross) == (0.0, 0.0, 0.0)
    np.testing.assert_allclose(
        (profile.value, profile.diagonal, profile.d_inner, profile.d_inner_inner), (1.0, 9.0, 2.0, 2.0), rtol=1e-8
    )


def test_profile_refuses_a_kink_at_zero_for_inner_products():
    with pytest.raises(InvalidParameterError) as error:
        kernel_profile(make_kernel("inner_product", function={"name": "relu"}), tau=1.0)
    assert error.value.parameter == "kernel.function"


def test_a_json_dump_of_the_contract_builds_the_same_kernel():
    # Simulation kinds receive params.model_dump(mode="json"): absent parameters arrive as None.
    dumped = {"name": "leaky_relu", "negative_slope": 0.2, "a": None, "b": None, "c": None}
    assert make_kernel("distance", function=dumped) == make_kernel(
        "distance", function={"name": "leaky_relu", "negative_slope": 0.2}
    )
    assert make_kernel("inner_product", function={"name": "exp"}).function == "exp"
    assert make_kernel("random_features", activation={"name": "relu", "negative_slope": None}).activation.name == "relu"
