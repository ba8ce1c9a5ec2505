"""The service with the benchmarked route answering a constant: the floor of its middleware and routing.

``service.main``'s app, every middleware and the fixed-path dispatch included, whose Marchenko–Pastur
route sends the answer to the benchmark's body (computed once, at import) without validating,
computing or serialising anything. Against bare FastAPI (``bare_app``) it measures what the service
costs around a route; against the real app, what the route itself costs: request validation, the
solver, the response model and its serialisation (``bench_spectra.bench_http``).
"""

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from benchmarks.bench_spectra import HTTP_PATH, http_body
from schemas.spectra import MarchenkoPasturRequest
from service.main import app
from service.mappers.spectra import marchenko_pastur_arguments
from service.routers.spectra import marchenko_pastur_response
from solvers.marchenko_pastur import marchenko_pastur

ANSWER = marchenko_pastur_response(
    marchenko_pastur(**marchenko_pastur_arguments(MarchenkoPasturRequest.model_validate_json(http_body())))
).model_dump_json()


async def constant(scope: Scope, receive: Receive, send: Send) -> None:
    """The route's answer, with the headers the real route sends (``Vary``: it negotiates ``Accept``)."""
    await Response(ANSWER, media_type="application/json", headers={"Vary": "Accept"})(scope, receive, send)


for route in app.router.routes:
    if getattr(route, "path", None) == HTTP_PATH:
        route.app = constant  # (what FixedPathDispatch calls through route.handle)
