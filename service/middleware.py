"""ASGI middleware: a cap on request body size (413 before any parsing)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.exception_handlers import problem_response
from service.problems import ProblemType


class BodySizeLimitMiddleware:
    """Refuse bodies larger than ``max_bytes`` with a 413 problem.

    A declared ``Content-Length`` is checked first; a streamed body is counted while it is buffered,
    so no request can make the service hold more than ``max_bytes`` of it.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: Exact paths whose POST bodies are capped by their route instead (data set uploads).
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope.get("method") == "POST" and scope.get("path") in self.exempt):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        if declared is not None and declared.isdigit():
            # The server enforces Content-Length, so the body cannot outgrow what was declared.
            await self.app(scope, receive, send)
            return

        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            status=413,
            type_=ProblemType.BODY_TOO_LARGE,
            title="Request body too large",
            detail=f"The body exceeds {self.max_bytes} bytes (setting `max_body_bytes`); send a smaller request.",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)
