"""Stand-in solvers for the compute-pool tests: importable by module path, so that a worker
process can unpickle them."""

from __future__ import annotations

import os
import threading
import time

from solvers.exceptions import InvalidParameterError


def sleep(*, seconds: float) -> float:
    """A solver that takes ``seconds`` (far longer than any test's budget)."""
    time.sleep(seconds)
    return seconds


def pid() -> int:
    """The id of the process the call ran in."""
    return os.getpid()


def thread_name() -> str:
    """The name of the thread the call ran in."""
    return threading.current_thread().name


def wait(*, event: threading.Event) -> str:
    """Block until ``event`` is set (thread executor only: an Event does not cross processes)."""
    event.wait(timeout=120)
    return "released"


def invalid(*, parameter: str, message: str) -> None:
    """A solver that refuses its input, as real solvers do."""
    raise InvalidParameterError(parameter, message)
