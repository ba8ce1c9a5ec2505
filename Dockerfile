# One image for the three roles of docker-compose.yml: the API, the Dask scheduler, the Dask workers.
FROM python:3.11-slim

# MALLOC_ARENA_MAX=2: glibc gives each of the API's worker threads its own malloc arena and keeps
# their memory; under the README mix at concurrency 32 the API's RSS went 153 -> ~390 MB and stayed
# there (a plateau, not a leak), with 2 arenas 152 -> ~210 MB (bench_load, benchmarks/README.md).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MALLOC_ARENA_MAX=2 \
    RMT_JOBS_DATABASE=/data/rmt-jobs.sqlite3

WORKDIR /app
COPY pyproject.toml ./
COPY schemas ./schemas
COPY service ./service
COPY solvers ./solvers
# README.md is the package's readme in pyproject.toml; an empty one is enough to build.
RUN touch README.md && pip install . && rm -rf /root/.cache

# Never run as root, and as a numeric user (hadolint DL3066: a name may not resolve on the host or
# in Kubernetes' runAsNonRoot check). /data holds the job store: docker-compose.yml mounts the named
# volume `jobs` there for the API. No VOLUME instruction: it would give the scheduler and the
# workers, which share this image but need no storage, an anonymous volume each.
RUN groupadd --gid 10001 rmt && useradd --create-home --uid 10001 --gid 10001 rmt \
    && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
EXPOSE 8000

# The API is healthy once it is ready (start-up done, jobs resumed): /readyz answers 200, else 503
# and urlopen raises. The scheduler and worker services of docker-compose.yml override this check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

# Exactly ONE uvicorn worker: this process is the only writer of the SQLite job store and the one
# supervisor of the simulation jobs (a second worker would refuse jobs with 503). Scale the
# computation with Dask workers instead (RMT_DASK_SCHEDULER; see docker-compose.yml).
CMD ["uvicorn", "service.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "1"]
