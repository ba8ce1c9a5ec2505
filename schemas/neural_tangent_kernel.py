"""Request and response of the neural-tangent-kernel spectrum, `/v1/spectra/neural-tangent-kernel`.

Conventions of the conjugate-kernel endpoint: f(x) = vᵀσ(Wx)/√N, W (N × p) with unit-variance entries,
X (p × n) with variance-1/p entries, v_k ~ N(0, 1); the NTK Gram matrix is the n × n matrix
K_ij = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩, θ = (W, v) (docs/derivations/neural_tangent_kernel_spectrum.md).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas._base import ResponseModel
from schemas.activations import ActivationSpec
from schemas.common import Atom, Interval, PointsMixin, Provenance
from schemas.conjugate_kernel import NetworkDimensionsMixin


class NeuralTangentKernelRequest(NetworkDimensionsMixin, PointsMixin):
    """Limiting eigenvalue law of the NTK Gram matrix of f(x) = vᵀσ(Wx)/√N at random initialisation (Fan & Wang 2020)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activation": {"name": "tanh"},
                    "n_samples": 1000,
                    "n_features": 1500,
                    "n_neurons": 500,
                    "grid": {"start": 0.0, "stop": 5.0, "num": 6},
                }
            ]
        }
    )

    activation: ActivationSpec = Field(
        description="The activation σ (`sign` and `step` are refused: σ' = 0 almost everywhere, the NTK is not defined)."
    )


class NeuralTangentKernelResponse(ResponseModel):
    """The NTK law at the requested points."""

    theta1: float = Field(description="θ1 = Var σ(ξ), ξ ~ N(0, 1) (the conjugate kernel's θ1).")
    theta2: float = Field(description="θ2 = (E σ'(ξ))² (Fan & Wang's b_σ²).")
    mean_square_derivative: float = Field(
        description="a = E[σ'(ξ)²], the diagonal of the Hadamard term (XᵀX) ⊙ (σ'ᵀdiag(v²)σ'/N)."
    )
    activation_mean: float = Field(
        description="E σ(ξ); if non-zero, one outlier ≈ (E σ)² n lies above the bulk (not in the law)."
    )
    shift: float = Field(
        description="a − θ1: the law is that of A^{1/2}(I + GᵀG/N)A^{1/2} + (a − θ1)I, A = θ2XᵀX + (θ1 − θ2)I."
    )
    x: list[float] = Field(description="The evaluation points.")
    density: list[float] = Field(description="Density of the continuous part at `x` (≥ 0).")
    cdf: list[float] = Field(description="Cumulative distribution function at `x`, atom included.")
    support: list[Interval] = Field(description="Intervals of the continuous part, left to right (one or two).")
    atom: Atom = Field(
        description="The atom: at 0 with mass (1 − p/n)⁺ for affine σ (rank p); otherwise at Var σ'(ξ) = a − θ2 with mass "
        "(1 − (p + N)/n)⁺ (mass 0: none)."
    )
    degree: int = Field(
        description="Degree of the polynomial solved for the auxiliary unknown s (5 in general, lower for affine σ or θ2 = 0)."
    )
    notes: list[str] = Field(description="Outliers not in the law, finite-size caveats, quadrature.")
    provenance: Provenance
