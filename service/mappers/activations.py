"""Activation specs of the contract as solver activations."""

from __future__ import annotations

from schemas.activations import ActivationSpec
from solvers.activations import Activation, make_activation


def activation(spec: ActivationSpec) -> Activation:
    """The catalogue activation ``spec`` names, with the parameters it gives (the solver fills in the rest)."""
    return make_activation(spec.name, **spec.parameters())
