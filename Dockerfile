# One image for the three roles of docker-compose.yml: the API, the Dask scheduler, the Dask workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RMT_JOBS_DATABASE=/data/rmt-jobs.sqlite3

WORKDIR /app
COPY pyproject.toml ./
COPY schemas ./schemas
COPY service ./service
COPY solvers ./solvers
# README.md is the package's readme in pyproject.toml; an empty one is enough to build.
RUN touch README.md && pip install . && rm -rf /root/.cache

# Never run as root; /data holds the job store (a named volume in docker-compose.yml).
RUN useradd --create-home --uid 10001 rmt && mkdir -p /data && chown rmt:rmt /data
USER rmt
VOLUME ["/data"]
EXPOSE 8000

# Exactly ONE uvicorn worker: this process is the only writer of the SQLite job store and the one
# supervisor of the simulation jobs (a second worker would refuse jobs with 503). Scale the
# computation with Dask workers instead (RMT_DASK_SCHEDULER; see docker-compose.yml).
CMD ["uvicorn", "service.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "1"]
