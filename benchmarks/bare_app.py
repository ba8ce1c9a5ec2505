"""The baseline of the HTTP benchmark: a bare FastAPI app with one POST endpoint returning a constant.

Served by uvicorn with exactly the settings used for the service (see ``bench_spectra.bench_http``),
on the same path as the benchmarked endpoint so that one load script drives both. It does not read
the body: what it measures is the floor of uvicorn + Starlette + FastAPI routing and JSON response.
"""

from fastapi import FastAPI

app = FastAPI(title="bare", openapi_url=None, docs_url=None, redoc_url=None)

CONSTANT = {"status": "ok"}


@app.post("/v1/spectra/marchenko-pastur")
async def constant() -> dict[str, str]:
    """Return the same small JSON document for every request."""
    return CONSTANT
