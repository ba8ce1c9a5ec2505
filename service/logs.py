"""Logging: one line per record on stderr, JSON by default, each carrying the request id.

The request id is the ``X-Request-ID`` of the request being served (taken from the request, or
generated; see :mod:`service.observability`), read from asgi-correlation-id's context variable by
its logging filter. Work started by a request (a job's supervisor task copies the context it was
created in) logs with that request's id; records outside any request have ``request_id: null``.

:func:`configure_logging` runs in the app's lifespan, i.e. after uvicorn set up its own logging:
it takes over uvicorn's loggers (and distributed's, whose scheduler runs in-process in embedded
mode) so that every line of the process has the same format.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Literal

from asgi_correlation_id import CorrelationIdFilter
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

HANDLER_NAME = "rmt-service"
#: Loggers that configure handlers of their own; theirs are removed and their records propagate to ours.
TAKEN_OVER = ("uvicorn", "uvicorn.error", "uvicorn.access", "distributed")
#: Loggers that write one INFO line per item of a batch: httpx logs every request of the batch
#: endpoint's in-process client (service/routers/batch.py), which cost a 100-item batch of closed forms
#: ~10 % of its time (~45 µs per line) and the log one line per item beside the batch's own access line.
#: They log at WARNING and above, unless the service logs at DEBUG.
PER_ITEM = ("httpx",)


class _StderrHandler(logging.StreamHandler):
    """A stream handler writing to whatever ``sys.stderr`` is at the time of each record."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def formatter(log_format: Literal["json", "text"]) -> logging.Formatter:
    """The formatter of ``log_format``; both show ``request_id`` (set by the correlation-id filter)."""
    if log_format == "json":
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s %(correlation_id)s",
            rename_fields={"levelname": "level", "name": "logger", "correlation_id": "request_id"},
            timestamp=True,
            # uvicorn adds an ANSI-coloured copy of every message
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")


def configure_logging(
    *, log_format: Literal["json", "text"], level: str, stream: IO[str] | None = None
) -> logging.Handler:
    """Install the service's one handler on the root logger (replacing an earlier one); return it.

    ``stream`` defaults to the current ``sys.stderr`` at each record (tests pass a ``StringIO``).
    Handlers other code put on the root logger (e.g. pytest's) are left alone.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.addFilter(CorrelationIdFilter())
    handler.setFormatter(formatter(log_format))
    # On the handler too: loggers with a level of their own (distributed's is INFO) would otherwise
    # pass their records to it whatever the root's level.
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    for name in PER_ITEM:
        logging.getLogger(name).setLevel(logging.WARNING if root.level > logging.DEBUG else logging.NOTSET)
    for name in TAKEN_OVER:
        logger = logging.getLogger(name)
        for own in list(logger.handlers):
            logger.removeHandler(own)
        logger.propagate = True
    return handler
