"""Simulation jobs (`/v1/simulations`): the request, the job resource and its result.

A job checks one prediction by Monte Carlo: the client sends the prediction's own request body as
`params`, with a `kind` naming the prediction, and polls the job (in the spirit of OGC API –
Processes: 202 + `Location`, statuses `accepted` → `running` → `successful` | `failed` | `dismissed`).
`params` is validated by the schema of that kind on submission, so errors name `params.<field>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from schemas._base import INTEGRAL, JsonInt, RequestModel, ResponseModel
from schemas.problem import Problem

#: Hard caps of the contract; the service settings (`max_trials`, `max_simulation_size`) lower them.
MAX_TRIALS = 10_000_000
MAX_SIMULATION_SIZE = 100_000
MAX_SEED = 2**63 - 1

JobStatus = Literal["accepted", "running", "successful", "failed", "dismissed"]


class SimulationSize(RequestModel):
    """Finite dimensions of the simulation where the prediction is given by ratios."""

    n_samples: JsonInt = Field(
        ge=2,
        le=MAX_SIMULATION_SIZE,
        description="Number of samples n; the other dimensions follow from the ratios in `params` "
        "(e.g. p = round(c·n)). Capped by the service setting `max_simulation_size`.",
        examples=[400],
    )


class SimulationRequestBase(RequestModel):
    """What every simulation request has besides `kind` and `params`.

    The service derives one request model per kind from it (``service/jobs/kinds.py``), whose
    `kind` is that kind's name and whose `params` is that prediction's request model.
    """

    trials: JsonInt = Field(
        ge=1,
        le=MAX_TRIALS,
        description="Number of independent Monte Carlo trials (capped by the service setting `max_trials`).",
        examples=[200],
    )
    seed: Annotated[int, Field(ge=0, le=MAX_SEED), INTEGRAL] | None = Field(
        default=None,
        description="Entropy of the job's `numpy.random.SeedSequence` (SPEC 7); a fresh one is drawn and "
        "recorded when omitted. The same seed gives a bit-identical result on any number of workers.",
        examples=[12345],
    )
    size: SimulationSize | None = Field(
        default=None,
        description="Finite dimensions; when omitted, the counts in `params` (`n_samples`, ...) or n = 400.",
    )


class SimulationKind(ResponseModel):
    """One simulation kind the service can run."""

    kind: str = Field(description="Name to send as `kind`.", examples=["marchenko_pastur"])
    params_schema: str = Field(
        description="Name of the request schema `params` must satisfy.", examples=["MarchenkoPasturRequest"]
    )
    description: str = Field(description="What one trial draws and which quantities it reports.")


class Progress(ResponseModel):
    """How far a job is."""

    trials_done: int = Field(description="Trials finished and saved.", examples=[120])
    trials_total: int = Field(description="Trials asked for.", examples=[200])
    chunks_done: int = Field(description="Chunks of trials finished and saved.", examples=[38])
    chunks_total: int = Field(
        description="Chunks the job is split into (at most 64; fixed by `trials`).", examples=[64]
    )
    fraction: float = Field(ge=0, le=1, description="trials_done / trials_total.", examples=[0.6])
    eta_seconds: float | None = Field(
        description="Estimated seconds left, from the rate since the job (re)started; null until known.", examples=[4.2]
    )
    note: str | None = Field(
        default=None,
        description="Why the job is not progressing right now, when it is waiting out a fault (a lost Dask scheduler, "
        "a full job store); null when it runs normally.",
        examples=["Waiting for the Dask scheduler (CommClosedError); retrying in 4 s."],
    )


class QuantityAgreement(ResponseModel):
    """One simulated quantity against its prediction."""

    name: str = Field(description="Quantity, e.g. `moment_2` (M₂ = (1/p) tr S²).", examples=["moment_2"])
    empirical_mean: float | None = Field(description="Mean over trials (null if not finite).", examples=[1.503])
    standard_error: float | None = Field(
        description="Standard deviation over trials (ddof = 1) / √trials; null with fewer than 2 trials.",
        examples=[0.004],
    )
    prediction: float | None = Field(
        description="Predicted value at the simulated dimensions (null if it does not exist).", examples=[1.5]
    )
    absolute_difference: float | None = Field(description="|empirical_mean − prediction|.", examples=[0.003])
    relative_difference: float | None = Field(
        description="|empirical_mean − prediction| / |prediction| (null if prediction is 0).", examples=[0.002]
    )
    z_score: float | None = Field(
        description="(empirical_mean − prediction) / standard_error. Includes the O(1/n) finite-size bias, "
        "so it grows with trials at fixed n.",
        examples=[0.75],
    )


class SpectrumAgreement(ResponseModel):
    """Kolmogorov–Smirnov distance of the pooled empirical spectral distribution to the predicted law."""

    ks_distance: float = Field(description="max over the grid of |F_emp(x) − F(x)|.", examples=[0.004])
    resolution: float = Field(
        description="Largest predicted mass between two grid points: how much the grid can miss of the supremum over all x.",
        examples=[0.002],
    )
    grid_points: int = Field(description="Points of the grid from 0 to 1.25 λ₊.", examples=[1024])
    eigenvalues: int = Field(description="Eigenvalues pooled over all trials.", examples=[10000])


class SimulationProvenance(ResponseModel):
    """Everything needed to reproduce the result."""

    seed_entropy: int = Field(
        description="Entropy of the job's SeedSequence; chunk i uses its child i.", examples=[12345]
    )
    trials: JsonInt = Field(description="Trials run.", examples=[200])
    sizes: dict[str, int] = Field(
        description="Finite dimensions simulated.", examples=[{"n_features": 200, "n_samples": 400}]
    )
    chunks: int = Field(description="Chunks the trials were split into.", examples=[64])
    reference: str = Field(description="Paper and equation of the prediction compared with.")
    notes: list[str] = Field(description="Remarks on the comparison.")
    versions: dict[str, str] = Field(
        description="Versions of the service and of the numerical libraries that computed the result.",
        examples=[{"rmt-service": "0.1.0", "numpy": "2.4.6"}],
    )


class SimulationResult(ResponseModel):
    """The simulated estimates and their agreement with the prediction."""

    quantities: list[QuantityAgreement] = Field(description="One entry per simulated quantity.")
    spectrum: SpectrumAgreement | None = Field(
        description="For spectra kinds: distance of the pooled ESD to the law; else null."
    )
    provenance: SimulationProvenance


class SimulationJob(ResponseModel):
    """A simulation job (poll `GET /v1/simulations/{id}` until `status` is final)."""

    id: str = Field(description="Job identifier.", examples=["3f1c0e7e2b8d4a5f9c6e1d2b3a4f5e6d"])
    kind: str = Field(description="The simulated prediction.", examples=["marchenko_pastur"])
    status: JobStatus = Field(
        description="`accepted` (queued), `running`, `successful` (see `result`), `failed` (see `error`) or "
        "`dismissed` (cancelled by a DELETE).",
        examples=["running"],
    )
    params: dict[str, Any] = Field(description="The validated parameters, defaults included.")
    trials: JsonInt = Field(description="Trials asked for.", examples=[200])
    seed: int = Field(description="Entropy of the job's SeedSequence (given or drawn).", examples=[12345])
    sizes: dict[str, int] = Field(
        description="Finite dimensions simulated.", examples=[{"n_features": 200, "n_samples": 400}]
    )
    progress: Progress
    created: datetime = Field(description="When the job was accepted (UTC).")
    started: datetime | None = Field(description="When its chunks were first submitted (UTC).")
    updated: datetime = Field(description="Last change of status or progress (UTC).")
    finished: datetime | None = Field(description="When it reached a final status (UTC).")
    result: SimulationResult | None = Field(description="Present when `successful`.")
    error: Problem | None = Field(description="Present when `failed`: an RFC 9457 problem.")


class SimulationJobList(ResponseModel):
    """A page of jobs, newest first."""

    items: list[SimulationJob] = Field(description="The jobs of this page.")
    total: int = Field(description="Jobs matching the filter, over all pages.", examples=[42])
    limit: int = Field(description="Page size used.", examples=[20])
    offset: int = Field(description="Index of the first job of this page.", examples=[0])
    next: str | None = Field(
        description="Path of the next page, null on the last.", examples=["/v1/simulations?limit=20&offset=20"]
    )
