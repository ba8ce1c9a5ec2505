"""The contract every public solver keeps, checked over all of them (like scikit-learn's estimator checks).

A *public solver* is a function of a public module under `solvers/` whose return annotation is a
dataclass. Each one must

* take keyword-only arguments;
* return a frozen dataclass that carries `reference` (where the formula or simulation comes from);
* refuse a NaN input with an `InvalidParameterError` naming that parameter.

Solvers are found by walking the package, so a new solver without an entry in `CASES` (or in
`EXEMPT`, with the reason) fails `test_every_public_solver_has_a_case`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import solvers
import solvers.montecarlo
from solvers.activations import make_activation
from solvers.exceptions import InvalidParameterError
from solvers.kernels import make_kernel
from solvers.random_features import spectral_data

NAN = float("nan")
TANH = make_activation("tanh")
RELU = make_activation("relu")
_rng = np.random.default_rng(0)
X = _rng.standard_normal((6, 3)) / np.sqrt(3)
X_TEST = _rng.standard_normal((4, 3)) / np.sqrt(3)
Y = _rng.standard_normal(6)
Y_TEST = _rng.standard_normal(4)
DATA = {"x": X, "y": Y, "x_test": X_TEST, "y_test": Y_TEST}
SMALL = {"n_features": 6, "n_samples": 12}
RBF = make_kernel("rbf", bandwidth=2.0)

#: Public functions returning a dataclass that are not solvers, and why.
EXEMPT = {
    "solvers.activations.make_activation": "builds an argument (an Activation), not a result",
    "solvers.activations.as_activation": "builds an argument (an Activation), not a result",
    "solvers.linear_regression.population_spectrum": "validates an argument, shared by the solver and its simulator",
    "solvers.montecarlo.engine.simulate_chunk": "the chunk engine's statistics of trials, not a prediction",
    "solvers.montecarlo.engine.merge_chunks": "the chunk engine's statistics of trials, not a prediction",
    "solvers.kernels.make_kernel": "builds an argument (a Kernel), not a result",
    "solvers.kernels.kernel_profile": "the linearisation coefficients of a Kernel, an intermediate of the two kernel solvers (checked through them)",
}
#: Trials of the simulation kinds: one random draw each (a `TrialDraw`, no reference); they are
#: only called by the chunk engine with arguments their prediction validated at submission.
TRIAL_SUFFIX = "_trial"

#: solver → (valid keyword arguments, the parameter set to NaN for the NaN check).
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "solvers.conjugate_kernel.conjugate_kernel_law": (
        {"theta1": 1.0, "theta2": 0.5, "ratio": 0.5, "neurons_per_sample": 2.0, "x": [0.5, 1.0]},
        "ratio",
    ),
    "solvers.preprocessing.preprocess": ({**DATA, "standardize": True, "scale": "sqrt_features"}, "x"),
    "solvers.random_features.random_features_ridge_from_spectral": (
        {"spectral": spectral_data(activation=RELU, **DATA), "n_neurons": [4, 8], "ridge_penalty": [0.1, 1.0]},
        "ridge_penalty",
    ),
    "solvers.activations.expected_kernel": ({"activation": RELU, "x": X}, "x"),
    "solvers.activations.expected_kernel_lower": ({"activation": RELU, "x": X, "x_test": X_TEST}, "x_test"),
    "solvers.activations.activation_moments": (
        {"activation": make_activation("leaky_relu", negative_slope=0.1)},
        "activation",
    ),
    "solvers.conjugate_kernel.ck_activation_constants": ({"activation": TANH}, "activation"),
    "solvers.conjugate_kernel.conjugate_kernel_spectrum": (
        {"activation": TANH, "ratio": 0.5, "neurons_per_sample": 0.75, "x": [0.5]},
        "ratio",
    ),
    "solvers.dynamics.gradient_descent_classification": (
        {"ratio": 0.5, "mean_norm_squared": 1.0, "time": [1.0]},
        "mean_norm_squared",
    ),
    "solvers.dynamics.gradient_descent_regression": (
        {"ratio": 0.5, "signal_strength": 1.0, "noise_variance": 1.0, "time": [1.0]},
        "ratio",
    ),
    "solvers.linear_regression.ridge_regression_risk": (
        {"ratio": [0.5], "ridge_penalty": [0.1], "signal_strength": 1.0, "noise_variance": 1.0},
        "noise_variance",
    ),
    "solvers.linear_regression.optimal_ridge_penalty": (
        {"ratio": [0.5], "signal_strength": 1.0, "noise_variance": 1.0},
        "signal_strength",
    ),
    "solvers.linear_regression.ridge_regression_prediction": (
        {"ratio": [0.5], "ridge_penalty": [0.1], "signal_strength": 1.0, "noise_variance": 1.0},
        "ridge_penalty",
    ),
    "solvers.marchenko_pastur.marchenko_pastur": ({"ratio": 0.5, "x": [1.0]}, "ratio"),
    "solvers.one_step_gradient.one_step_gradient_spike": (
        {"activation": TANH, "link": RELU, "ratio": 0.5, "neurons_per_sample": 0.5, "learning_rate": [1.0]},
        "learning_rate",
    ),
    "solvers.random_features.solve_effective_ridge": (
        {"eigenvalues": np.array([0.5, 1.0, 2.0]), "n_neurons": 4, "ridge_penalty": 0.1},
        "ridge_penalty",
    ),
    "solvers.random_features.deterministic_equivalent": (
        {"activation": RELU, "x": X, "n_neurons": 4, "ridge_penalty": 0.1},
        "ridge_penalty",
    ),
    "solvers.random_features.spectral_data": ({"activation": RELU, **DATA}, "y"),
    "solvers.random_features.random_features_ridge": (
        {"activation": RELU, **DATA, "n_neurons": [4], "ridge_penalty": [0.1]},
        "ridge_penalty",
    ),
    "solvers.random_features.gaussian_mixture": ({"n_samples": 6, "n_test": 2, "n_features": 3, "rng": 0}, "mean_norm"),
    "solvers.sample_covariance.sample_covariance_spectrum": (
        {"ratio": 0.5, "eigenvalues": [1.0, 3.0], "weights": [0.5, 0.5], "x": [1.0]},
        "ratio",
    ),
    "solvers.spiked_covariance.spiked_covariance": ({"ratio": 0.5, "spikes": [2.0]}, "spikes"),
    "solvers.montecarlo.conjugate_kernel.simulate_conjugate_kernel": (
        {"activation": TANH, **SMALL, "n_neurons": 8, "trials": 2, "rng": 0},
        "n_neurons",
    ),
    "solvers.montecarlo.conjugate_kernel.simulate_one_step_gradient": (
        {"activation": TANH, "link": RELU, **SMALL, "n_neurons": 6, "learning_rate": [1.0], "trials": 2, "rng": 0},
        "noise_variance",
    ),
    "solvers.montecarlo.conjugate_kernel.conjugate_kernel_prediction": (
        {**SMALL, "n_neurons": 8, "activation": TANH},
        "n_neurons",
    ),
    "solvers.montecarlo.conjugate_kernel.one_step_gradient_prediction": (
        {**SMALL, "n_neurons": 6, "activation": TANH, "link": RELU, "learning_rate": [1.0]},
        "learning_rate",
    ),
    "solvers.neural_tangent_kernel.neural_tangent_kernel_spectrum": (
        {"activation": TANH, "ratio": 1.5, "neurons_per_sample": 0.5, "x": [1.0]},
        "neurons_per_sample",
    ),
    "solvers.neural_tangent_kernel.ntk_activation_constants": ({"activation": TANH}, "activation"),
    "solvers.montecarlo.neural_tangent_kernel.simulate_neural_tangent_kernel": (
        {"activation": TANH, **SMALL, "n_neurons": 8, "trials": 2, "rng": 0},
        "n_neurons",
    ),
    "solvers.montecarlo.neural_tangent_kernel.neural_tangent_kernel_prediction": (
        {**SMALL, "n_neurons": 8, "activation": TANH},
        "n_neurons",
    ),
    "solvers.montecarlo.dynamics.simulate_gradient_descent_classification": (
        {**SMALL, "mean_norm_squared": 1.0, "time": [1.0], "trials": 2, "rng": 0},
        "mean_norm_squared",
    ),
    "solvers.montecarlo.dynamics.simulate_gradient_descent_regression": (
        {**SMALL, "signal_strength": 1.0, "noise_variance": 1.0, "time": [1.0], "trials": 2, "rng": 0},
        "time",
    ),
    "solvers.montecarlo.dynamics.gradient_descent_classification_prediction": (
        {**SMALL, "mean_norm_squared": 1.0, "time": [1.0]},
        "time",
    ),
    "solvers.montecarlo.dynamics.gradient_descent_regression_prediction": ({**SMALL, "time": [1.0]}, "noise_variance"),
    "solvers.montecarlo.linear_regression.simulate_ridge_regression": (
        {**SMALL, "ridge_penalty": [0.1], "signal_strength": 1.0, "noise_variance": 1.0, "trials": 2, "rng": 0},
        "ridge_penalty",
    ),
    "solvers.montecarlo.linear_regression.linear_ridge_prediction": (
        {**SMALL, "ridge_penalty": [0.1]},
        "ridge_penalty",
    ),
    "solvers.montecarlo.random_features.simulate_random_features_ridge": (
        {"activation": RELU, **DATA, "n_neurons": 4, "ridge_penalty": 0.1, "trials": 2, "rng": 0},
        "ridge_penalty",
    ),
    "solvers.montecarlo.random_features.random_features_ridge_prediction": (
        {"activation": RELU, **DATA, "n_neurons": 4, "ridge_penalty": [0.1]},
        "ridge_penalty",
    ),
    "solvers.montecarlo.random_features.random_features_resolvent_prediction": (
        {"activation": RELU, "x": X, "n_neurons": 4, "ridge_penalty": 0.1},
        "ridge_penalty",
    ),
    "solvers.montecarlo.spectra.simulate_sample_covariance_spectrum": ({**SMALL, "trials": 2, "rng": 0}, "variance"),
    "solvers.montecarlo.spectra.simulate_spiked_covariance": (
        {**SMALL, "spikes": [2.0], "trials": 2, "rng": 0},
        "spikes",
    ),
    "solvers.montecarlo.spectra.marchenko_pastur_prediction": (SMALL, "variance"),
    "solvers.montecarlo.spectra.sample_covariance_prediction": (
        {**SMALL, "eigenvalues": [1.0, 3.0], "weights": [0.5, 0.5]},
        "eigenvalues",
    ),
    "solvers.montecarlo.spectra.spiked_covariance_prediction": ({**SMALL, "spikes": [2.0]}, "spikes"),
    "solvers.kernels.kernel_matrix": ({"kernel": RBF, "x": X, "x_test": X_TEST}, "x"),
    "solvers.kernel_spectrum.kernel_matrix_spectrum": (
        {"kernel": RBF, "ratio": 1.5, "x": [0.5], "n_samples": 100},
        "ratio",
    ),
    "solvers.kernel_ridge.kernel_ridge_risk": (
        {
            "kernel": RBF,
            "ratio": [0.5],
            "ridge_penalty": [1e-3],
            "n_samples": 100,
            "signal_strength": 1.0,
            "noise_variance": 0.25,
        },
        "noise_variance",
    ),
    "solvers.montecarlo.kernels.simulate_kernel_matrix_spectrum": (
        {"kernel": RBF, **SMALL, "trials": 2, "rng": 0},
        "n_features",
    ),
    "solvers.montecarlo.kernels.simulate_kernel_ridge": (
        {
            "kernel": RBF,
            **SMALL,
            "ridge_penalty": [1e-3],
            "signal_strength": 1.0,
            "noise_variance": 0.25,
            "trials": 2,
            "rng": 0,
            "n_test": 4,
        },
        "ridge_penalty",
    ),
    "solvers.montecarlo.kernels.kernel_matrix_spectrum_prediction": ({"kernel": RBF, **SMALL}, "n_features"),
    "solvers.montecarlo.kernels.kernel_ridge_prediction": (
        {"kernel": RBF, **SMALL, "ridge_penalty": [1e-3]},
        "ridge_penalty",
    ),
}


def _public_solvers() -> dict[str, Callable[..., Any]]:
    found = {}
    packages = [(solvers.__path__, "solvers."), (solvers.montecarlo.__path__, "solvers.montecarlo.")]
    for path, prefix in packages:
        for info in pkgutil.iter_modules(path, prefix):
            if info.name.rsplit(".", 1)[1].startswith("_"):
                continue
            module = importlib.import_module(info.name)
            for name, function in vars(module).items():
                if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != info.name:
                    continue
                if dataclasses.is_dataclass(typing.get_type_hints(function).get("return")):
                    found[f"{info.name}.{name}"] = function
    return found


SOLVERS = _public_solvers()
CHECKED = {name: f for name, f in SOLVERS.items() if name not in EXEMPT and not name.endswith(TRIAL_SUFFIX)}


def _with_nan(arguments: dict[str, Any], parameter: str) -> dict[str, Any]:
    value = arguments.get(parameter)
    if parameter == "activation":  # an activation's own parameter is the input
        return arguments
    if isinstance(value, np.ndarray):
        bad = value.astype(np.float64).copy()
        bad.flat[0] = NAN
        return {**arguments, parameter: bad}
    if isinstance(value, list):
        return {**arguments, parameter: [NAN, *value[1:]]}
    return {**arguments, parameter: NAN}


def test_every_public_solver_has_a_case():
    assert set(CHECKED) == set(CASES), "add the solver to CASES (or to EXEMPT with its reason)"
    assert len(CHECKED) >= 30


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_arguments_are_keyword_only(name):
    parameters = inspect.signature(SOLVERS[name]).parameters.values()
    if (
        name in EXEMPT
        and name != "solvers.montecarlo.engine.merge_chunks"
        and name != "solvers.montecarlo.engine.simulate_chunk"
    ):
        return
    positional = [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    # The chunk engine's first argument is the trial function it runs (a callable, not an option).
    assert positional in ([], ["trial"], ["chunks"]), f"{name} takes {positional} positionally"


@pytest.mark.parametrize("name", sorted(CASES))
def test_result_is_a_frozen_dataclass_with_a_reference(name):
    arguments, _ = CASES[name]
    result = SOLVERS[name](**arguments)
    assert dataclasses.is_dataclass(result) and type(result).__dataclass_params__.frozen, name  # type: ignore[attr-defined]  # __dataclass_params__ is set on every dataclass but not in typeshed
    assert isinstance(result.reference, str) and result.reference.strip(), name
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_nan_input_is_refused_naming_the_parameter(name):
    arguments, parameter = CASES[name]
    if parameter == "activation":
        # An activation's parameters are its numeric input: NaN is refused when it is built.
        with pytest.raises(InvalidParameterError) as refused:
            make_activation("leaky_relu", negative_slope=NAN)
        assert refused.value.parameter == "negative_slope"
        return
    with pytest.raises(InvalidParameterError) as refused:
        SOLVERS[name](**_with_nan(arguments, parameter))
    assert refused.value.parameter == parameter, refused.value
    assert f"`{parameter}`" in refused.value.message, refused.value.message


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2, True],  # ints and bools are numbers
        ["1.5", "-2"],  # numpy converts numeric strings, and so the short-list path must too (by deferring)
        [np.float32(0.25), 3],
        [1e308, 1e308],  # finite, though their sum is not
        [],
        [NAN, 1.0],
        [1.0, float("-inf")],
        [[1.0, 2.0]],  # 2-d
        [10**400],  # no float
        [1 + 2j],
    ],
)
def test_finite_array_checks_a_short_list_as_numpy_would(values):
    # finite_array checks lists of up to 64 numbers in Python, without numpy's isfinite; a tuple, or the
    # same list past 64 entries, goes the general way. Both must give the same array or the same error.
    from solvers._validation import finite_array

    def outcome(sequence: Any) -> Any:
        try:
            array = finite_array("x", sequence)
        except Exception as error:  # (the error is compared, whatever it is)
            return type(error), str(error).replace(f"{sequence!r}", "")
        return array.dtype, array.shape[1:], array.tolist()[: len(values)]

    short, general = outcome(list(values)), outcome(tuple(values))
    assert short == general
    assert outcome(list(values) * 70)[0] == general[0]
