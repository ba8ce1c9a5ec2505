"""Content negotiation: the same answer as JSON, as CSV, or as a plot (SVG or PNG).

Routes stay unaware of it. Every API router uses `RepresentationRoute` as its `route_class`; that
route reads `Accept` (q-values honoured, RFC 9110 §12.5.1) before the route runs, answers 406 when
it can produce nothing acceptable, and otherwise runs the route as always. When the chosen type is
not JSON, the JSON answer is read back into the route's response model and rendered by the entry of
`REPRESENTATIONS` for that model class: a table (CSV) and/or a plot (`service/plots.py`). Rendering
runs in a worker thread (a plot costs tens of milliseconds). Each operation's 200 response in
OpenAPI lists the media types its model can be rendered as, and a 406 problem.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import Request, Response
from pydantic import BaseModel
from pydantic_core import to_json

from schemas.conjugate_kernel import (
    ConjugateKernelResponse,
    OneStepGradientResponse,
    OneStepPoint,
)
from schemas.dynamics import (
    ClassificationPoint,
    GradientDescentClassificationResponse,
    GradientDescentRegressionResponse,
    RegressionPoint,
)
from schemas.jobs import QuantityAgreement, SimulationJob
from schemas.kernels import KernelMatrixSpectrumResponse, KernelRidgePoint, KernelRidgeResponse
from schemas.linear_regression import LinearRidgePoint, LinearRidgeResponse
from schemas.neural_tangent_kernel import NeuralTangentKernelResponse
from schemas.problem import PROBLEM_MEDIA_TYPE, Problem
from schemas.random_features import (
    RandomFeaturesRidgePoint,
    RandomFeaturesRidgeResponse,
)
from schemas.spectra import (
    MarchenkoPasturResponse,
    SampleCovarianceResponse,
    SpikedCovarianceResponse,
    SpikePrediction,
)
from service import plots
from service.exception_handlers import NotAcceptableError
from service.fast_route import FastJSONRoute
from service.middleware import header, with_header

JSON = "application/json"
CSV = "text/csv"
SVG = "image/svg+xml"
PNG = "image/png"

#: What each media type is sent as (RFC 4180's `header` parameter: the first row names the columns).
CONTENT_TYPES = {CSV: "text/csv; charset=utf-8; header=present", SVG: "image/svg+xml", PNG: "image/png"}
_EXTENSIONS = {CSV: "csv", SVG: "svg", PNG: "png"}
#: JSON answers up to this size become CSV on the event loop (about a millisecond at most), larger ones in a thread.
_INLINE_CSV_BYTES = 16_384


# --- Accept -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaRange:
    """One media range of an `Accept` header with its weight."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """-1 if the range does not match ``media_type``; else 2 (exact), 1 (`type/*`) or 0 (`*/*`)."""
        type_, subtype = media_type.split("/")
        if self.type == "*":
            return 0
        if self.type != type_:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == subtype else -1


def parse_accept(header: str) -> list[MediaRange]:
    """The well-formed media ranges of an `Accept` header; malformed ones (or with a bad `q`) are dropped."""
    ranges = []
    for part in header.split(","):
        media, *parameters = (field.strip() for field in part.split(";"))
        type_, slash, subtype = media.lower().partition("/")
        if not slash or not type_ or not subtype or "/" in subtype or (type_ == "*" and subtype != "*"):
            continue
        q: float | None = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = None
                if q is not None and not 0.0 <= q <= 1.0:  # also refuses NaN
                    q = None
                break  # parameters after q are accept-extensions, not media-type parameters
        if q is not None:
            ranges.append(MediaRange(type_, subtype, q))
    return ranges


def negotiate(header: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type the `Accept` header prefers, or None when it allows none of them.

    Each offered type gets the q of the most specific range that matches it (exact, then `type/*`,
    then `*/*`); the highest q wins and ties go to the order of ``offered`` (JSON first). An absent
    or unparseable header accepts anything (RFC 9110 §12.5.1), so it gets the first offered type.
    """
    ranges = parse_accept(header) if header else []
    if not ranges:
        return offered[0]
    best, best_q = None, 0.0
    for media_type in offered:
        matches = [(r.specificity(media_type), r.q) for r in ranges]
        matches = [m for m in matches if m[0] >= 0]
        if not matches:
            continue
        top = max(s for s, _ in matches)
        q = max(q for s, q in matches if s == top)
        if q > best_q:
            best, best_q = media_type, q
    return best


# --- Tables -----------------------------------------------------------------------------------

Table = tuple[list[str], list[list[Any]]]


class Unavailable(Exception):
    """This answer has no table or plot now (e.g. a job without a result yet)."""


@dataclass(frozen=True)
class TableOf:
    """One row per entry of the answer's list ``attribute``, one column per field of ``point`` (in order)."""

    point: type[BaseModel]
    attribute: str = "points"

    @property
    def columns(self) -> list[str]:
        """The header row."""
        return list(self.point.model_fields)

    def __call__(self, answer: Any) -> Table:
        items = getattr(answer, self.attribute)
        return self.columns, [[getattr(item, name) for name in self.columns] for item in items]


@dataclass(frozen=True)
class SpectrumTable:
    """One row per evaluation point of a spectrum: x, density, cdf."""

    columns: tuple[str, ...] = ("x", "density", "cdf")

    def __call__(self, answer: Any) -> Table:
        rows = zip(*(getattr(answer, name) for name in self.columns), strict=True)
        return list(self.columns), [list(row) for row in rows]


@dataclass(frozen=True)
class JobTable(TableOf):
    """One row per simulated quantity of a successful job."""

    point: type[BaseModel] = QuantityAgreement
    attribute: str = "quantities"

    def __call__(self, job: Any) -> Table:
        if job.result is None:
            raise Unavailable(f"The job is `{job.status}`: its table and plot exist once it is `successful`.")
        return super().__call__(job.result)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest string that reads back as the same float
    return value


def _of_scalars(column: bytes) -> bool:
    """Whether a column's JSON array holds numbers, booleans and nulls only: no string (which JSON
    quotes), array or object, whose text would hold the commas the cells are split on."""
    inner = column[1:-1]
    return b'"' not in inner and b"[" not in inner and b"{" not in inner


def to_csv(table: Table) -> bytes:
    """RFC 4180 CSV: a header row, then one row per point; null is an empty cell.

    A table of numbers, booleans and nulls only (every table but a job's) is written column by column
    from the columns' JSON text: a JSON number or ``true``/``false`` is already a CSV cell that reads back
    exactly (the shortest round-trip digits, as in the JSON answer), and ``null`` becomes the empty
    cell. Formatting each float with ``repr`` in Python cost ~0.75 µs a cell (450 µs for a 200-point
    spectrum, as much as the rest of the request); the JSON encoder writes a whole column at once.
    """
    header, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    columns = [to_json(list(column)) for column in zip(*rows, strict=True)]
    if columns and all(map(_of_scalars, columns)):
        cells = [text[1:-1].replace(b"null", b"").split(b",") for text in columns]
        return buffer.getvalue().encode() + b"\r\n".join(map(b",".join, zip(*cells, strict=True))) + b"\r\n"
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue().encode()


# --- The registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Representation:
    """How answers of one response model are rendered besides JSON."""

    table: TableOf | SpectrumTable | None = None
    plot: Callable[..., None] | None = None
    available: Callable[[Any], None] = lambda answer: None  # raises Unavailable when not renderable now

    @property
    def media_types(self) -> tuple[str, ...]:
        """The non-JSON media types, in the order of preference of the service."""
        return (*((CSV,) if self.table else ()), *((SVG, PNG) if self.plot else ()))


def _job_available(job: SimulationJob) -> None:
    JobTable()(job)


#: response model class -> its table and plot. A new answer that is a table or a curve adds a line.
REPRESENTATIONS: dict[type[BaseModel], Representation] = {
    MarchenkoPasturResponse: Representation(table=SpectrumTable(), plot=plots.marchenko_pastur),
    SampleCovarianceResponse: Representation(table=SpectrumTable(), plot=plots.sample_covariance),
    SpikedCovarianceResponse: Representation(table=TableOf(SpikePrediction, "spikes"), plot=plots.spiked_covariance),
    ConjugateKernelResponse: Representation(table=SpectrumTable(), plot=plots.conjugate_kernel),
    KernelMatrixSpectrumResponse: Representation(table=SpectrumTable(), plot=plots.kernel_matrix_spectrum),
    NeuralTangentKernelResponse: Representation(table=SpectrumTable(), plot=plots.neural_tangent_kernel),
    KernelRidgeResponse: Representation(table=TableOf(KernelRidgePoint), plot=plots.kernel_ridge),
    OneStepGradientResponse: Representation(table=TableOf(OneStepPoint), plot=plots.one_step_gradient),
    LinearRidgeResponse: Representation(table=TableOf(LinearRidgePoint), plot=plots.linear_ridge),
    RandomFeaturesRidgeResponse: Representation(
        table=TableOf(RandomFeaturesRidgePoint), plot=plots.random_features_ridge
    ),
    GradientDescentClassificationResponse: Representation(
        table=TableOf(ClassificationPoint), plot=plots.gradient_descent_classification
    ),
    GradientDescentRegressionResponse: Representation(
        table=TableOf(RegressionPoint), plot=plots.gradient_descent_regression
    ),
    SimulationJob: Representation(table=JobTable(), plot=plots.simulation_job, available=_job_available),
}


def render(model: type[BaseModel], representation: Representation, body: bytes, media_type: str) -> bytes:
    """The JSON answer ``body`` (of ``model``) as ``media_type`` (blocking: plots run it in a thread)."""
    answer = model.model_validate_json(body)
    try:
        representation.available(answer)
        if media_type == CSV:
            return to_csv(representation.table(answer))  # type: ignore[misc]  # CSV is offered only when `table` is set (media_types)
        return plots.render(representation.plot, answer, "png" if media_type == PNG else "svg")  # type: ignore[arg-type]  # PNG/SVG are offered only when `plot` is set
    except Unavailable as exc:
        raise NotAcceptableError([JSON], f"{exc} Ask for {JSON}.") from None


# --- The route class --------------------------------------------------------------------------

_NOT_ACCEPTABLE = {
    "description": "None of the media types in `Accept` can represent this answer; `supported_media_types` lists those that can.",
    "model": Problem,
    "content": {PROBLEM_MEDIA_TYPE: {}},
}


def _media_schemas(representation: Representation) -> dict[str, dict[str, Any]]:
    """The OpenAPI content entries of the non-JSON media types of one answer."""
    content: dict[str, dict[str, Any]] = {}
    if representation.table is not None:
        columns = ",".join(representation.table.columns)
        content[CSV] = {
            "schema": {
                "type": "string",
                "description": f"RFC 4180 CSV, one row per point; header `{columns}`; null is an empty cell.",
            }
        }
    if representation.plot is not None:
        content[SVG] = {
            "schema": {"type": "string", "description": "SVG plot (text kept as text; marked artists carry an `id`)."}
        }
        content[PNG] = {"schema": {"type": "string", "format": "binary", "description": "PNG plot (100 dpi)."}}
    return content


class RepresentationRoute(FastJSONRoute):
    """An `APIRoute` that negotiates `Accept` and renders CSV and plots from the route's response model."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["responses"] = {**(kwargs.get("responses") or {}), 406: _NOT_ACCEPTABLE}
        super().__init__(path, endpoint, **kwargs)
        representation = REPRESENTATIONS.get(self.response_model)
        self.representation = representation if self.status_code in (None, 200) else None
        self.media_types: tuple[str, ...] = (JSON, *(self.representation.media_types if self.representation else ()))
        if len(self.media_types) > 1 and self.representation is not None:  # (more than JSON only with one)
            ok = dict(self.responses.get(200, {}))
            ok["content"] = {**ok.get("content", {}), **_media_schemas(self.representation)}
            ok.setdefault(
                "description", "The answer: JSON (default), or as " + ", ".join(self.media_types[1:]) + " per `Accept`."
            )
            self.responses = {**self.responses, 200: ok}

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def negotiated(request: Request) -> Response:
            accept = header(request.scope, b"accept")
            chosen = negotiate(accept, self.media_types)
            if chosen is None:
                raise NotAcceptableError(
                    self.media_types,
                    f"`Accept: {accept}` allows none of the media types this answer has: {', '.join(self.media_types)}.",
                )
            response = await handler(request)
            if len(self.media_types) > 1:
                # response.headers["Vary"] = "Accept" without building a MutableHeaders; in place, as that
                # does (a MutableHeaders the response already made works on this very list).
                response.raw_headers[:] = with_header(response.raw_headers, b"vary", b"Accept")
            if chosen == JSON or response.status_code != 200 or self.representation is None:
                return response  # (a representation exists whenever `chosen` is not JSON)
            work = partial(render, self.response_model, self.representation, bytes(response.body), chosen)
            # A small table is written in well under a millisecond: not worth a thread hop. Plots and
            # large tables leave the event loop.
            body = (
                work()
                if chosen == CSV and len(response.body) <= _INLINE_CSV_BYTES
                else await anyio.to_thread.run_sync(work)
            )
            name = request.url.path.rstrip("/").rsplit("/", 1)[-1] or "answer"
            headers = {"Vary": "Accept", "Content-Disposition": f'inline; filename="{name}.{_EXTENSIONS[chosen]}"'}
            return Response(body, media_type=CONTENT_TYPES[chosen], headers=headers)

        return negotiated
