"""Learning that the server is stopping before its requests in progress have ended.

On SIGTERM or SIGINT uvicorn stops accepting connections and waits for the requests in progress to
end before it runs the app's lifespan shutdown, and tells the app nothing meanwhile. A long poll
(``GET /v1/simulations/{job_id}?wait_seconds=``) would so hold every shutdown for up to its whole wait.
:func:`on_exit_signals` chains a callback in front of the server's own handler of those signals, so
that the app can answer its waiting requests at once (and report itself not ready) while the server
drains. The server's handler still runs, unchanged, after the callback is scheduled.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

#: The signals on which uvicorn shuts down gracefully.
EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


#: A signal handler set from Python.
Handler = Callable[[int, FrameType | None], Any]


@contextlib.contextmanager
def on_exit_signals(callback: Callable[[], None]) -> Iterator[None]:
    """Within the block, each exit signal also schedules ``callback`` on the running event loop.

    Only a handler set from Python is chained (uvicorn's, or Python's own for SIGINT): the default
    action and an ignored signal are left as they are, and so is everything outside the main thread,
    where signal handlers cannot be set. The previous handlers are restored when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    chained: dict[signal.Signals, tuple[Handler, Handler]] = {}
    for sig in EXIT_SIGNALS:
        previous = signal.getsignal(sig)
        if callable(previous):
            handler = _chain(loop, callback, previous)
            signal.signal(sig, handler)
            chained[sig] = (handler, previous)
    try:
        yield
    finally:
        for sig, (handler, previous) in chained.items():
            # Restore only our own: a handler set later by someone else stays theirs.
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)


def _chain(loop: asyncio.AbstractEventLoop, callback: Callable[[], None], previous: Handler) -> Handler:
    def handler(signum: int, frame: FrameType | None) -> None:
        # A signal handler runs between two bytecodes of the main thread, possibly inside the loop:
        # only schedule the callback, as a thread would.
        loop.call_soon_threadsafe(callback)
        previous(signum, frame)

    return handler
