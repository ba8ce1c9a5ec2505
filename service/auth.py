"""Who is calling, and how often: API keys (``RMT_API_KEYS``, ``RMT_API_KEYS_FILE``) and a per-key rate limit.

Keys are never stored: the service keeps ``name → SHA-256(key)`` and compares the digest of the
presented key in constant time. A key's *name* is the principal that owns jobs and data sets.

When no key is configured the service is open (every caller is the principal ``anonymous``), and
says so in its start-up log. The rate limit (``RMT_RATE_LIMIT``, in the ``limits`` library's
notation such as ``600/minute``) then applies per client address instead of per key.

Both checks run in :class:`AuthenticationMiddleware`, in front of every path under ``/v1/`` (the
probes, ``/metrics`` and the docs stay open), not as a route dependency: a dependency costs about
20 µs per request in FastAPI's resolver (a tenth of a closed-form answer), and a middleware also
refuses an unknown caller before anything reads its body.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from service.exception_handlers import problem_response
from service.middleware import header
from service.problems import ProblemType
from service.settings import Settings

logger = logging.getLogger("rmt_service")

#: The principal of every caller when no key is configured.
ANONYMOUS = "anonymous"

_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9_.@-]{1,64}):(?P<digest>[0-9a-fA-F]{64})$")


#: Every path under this prefix needs a key (once keys are configured) and counts against the rate limit.
PROTECTED_PREFIX = "/v1/"


class ApiKeyConfigError(ValueError):
    """``RMT_API_KEYS`` or ``RMT_API_KEYS_FILE`` holds an entry that is not ``name:sha256hex``."""


def parse_api_keys(text: str, *, source: str) -> dict[str, str]:
    """``name:sha256hex`` entries (separated by commas or new lines; ``#`` starts a comment) → digest → name.

    Raises
    ------
    ApiKeyConfigError
        On a malformed entry or a name given twice: a typo must stop the service at start-up,
        not silently lock a client out.
    """
    digests: dict[str, str] = {}
    names: set[str] = set()
    for raw in re.split(r"[,\n]", text):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if match is None:
            raise ApiKeyConfigError(
                f"{source}: entry {entry.split(':', 1)[0]!r}... is not `name:sha256hex` (a name of at most 64 "
                "characters from A-Z a-z 0-9 _ . @ -, a colon, and the 64 hex digits of the key's SHA-256)."
            )
        name, digest = match["name"], match["digest"].lower()
        if name in names:
            raise ApiKeyConfigError(f"{source}: the name {name!r} is given twice.")
        names.add(name)
        digests[digest] = name
    return digests


class Unauthorized(Exception):
    """No key, or an unknown one, on a service that requires keys (401)."""


class RateLimited(Exception):
    """The caller is over ``RMT_RATE_LIMIT`` (429); ``retry_after`` in whole seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """The caller: the name of its key, or ``anonymous`` on an open service."""

    name: str


#: The one principal of an open service (frozen, so every request can share it).
ANONYMOUS_PRINCIPAL = Principal(ANONYMOUS)


class Authenticator:
    """Checks ``Authorization: Bearer <key>`` against the configured digests and applies the rate limit."""

    def __init__(self, settings: Settings) -> None:
        digests: dict[str, str] = {}
        if settings.api_keys:
            digests.update(parse_api_keys(settings.api_keys, source="RMT_API_KEYS"))
        if settings.api_keys_file:
            text = Path(settings.api_keys_file).read_text(encoding="utf-8")
            for digest, name in parse_api_keys(text, source="RMT_API_KEYS_FILE").items():
                if name in digests.values() and digests.get(digest) != name:
                    raise ApiKeyConfigError(f"RMT_API_KEYS_FILE: the name {name!r} is also in RMT_API_KEYS.")
                digests[digest] = name
        self._digests = digests
        self._rate: RateLimitItem | None = parse(settings.rate_limit) if settings.rate_limit else None
        # In-process storage: one API process serves (see README), so one counter per key is exact.
        self._limiter = MovingWindowRateLimiter(MemoryStorage()) if self._rate else None

    @property
    def enabled(self) -> bool:
        """Whether keys are required."""
        return bool(self._digests)

    @property
    def limited(self) -> bool:
        """Whether requests count against a rate limit."""
        return self._limiter is not None

    def log_mode(self) -> None:
        """Say at start-up whether the service is open: an open service must never be a surprise."""
        if self.enabled:
            logger.info("API keys required (%d configured)", len(set(self._digests.values())))
        else:
            logger.warning(
                "no API keys configured (RMT_API_KEYS / RMT_API_KEYS_FILE): the service is OPEN to every caller"
            )

    def principal(self, authorization: str | None) -> Principal:
        """The principal of a request's ``Authorization`` header; 401 when keys are required and it is wrong."""
        if not self.enabled:
            return ANONYMOUS_PRINCIPAL
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("Send `Authorization: Bearer <key>`; this service requires an API key.")
        digest = hashlib.sha256(key.strip().encode("utf-8")).hexdigest()
        # Compare with every digest so that the time taken does not depend on which one matched.
        owner = None
        for known, name in self._digests.items():
            if hmac.compare_digest(known, digest):
                owner = name
        if owner is None:
            raise Unauthorized("The API key is not valid.")
        return Principal(owner)

    def hit(self, identity: str) -> None:
        """Count one request of ``identity``; 429 with ``Retry-After`` once over ``RMT_RATE_LIMIT``."""
        if self._limiter is None or self._rate is None:
            return
        if self._limiter.hit(self._rate, identity):
            return
        reset = self._limiter.get_window_stats(self._rate, identity).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(f"Rate limit of {self._rate} exceeded; retry after {retry_after} s.", retry_after=retry_after)


#: Declares the bearer scheme in OpenAPI (see :func:`service.openapi.bearer_security`); checking is the
#: middleware's, so FastAPI never calls it.
BEARER = HTTPBearer(auto_error=False, description="An API key, when the service has `RMT_API_KEYS` set.")


class AuthenticationMiddleware:
    """Identify the caller of every path under :data:`PROTECTED_PREFIX`, then count the request.

    The principal is kept in the request state (``request.state.principal``) for the routes that
    own resources (jobs, data sets) and for the logs. A refused request gets its problem here: 401
    ``unauthorized`` with ``WWW-Authenticate: Bearer``, or 429 ``rate-limited`` with ``Retry-After``.
    """

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator
        # An open service without a rate limit has nothing to check or count: every caller is anonymous.
        self._unchecked = not authenticator.enabled and not authenticator.limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX):
            await self.app(scope, receive, send)
            return
        try:
            principal = ANONYMOUS_PRINCIPAL if self._unchecked else self._identify(scope)
        except Unauthorized as error:
            await problem_response(
                status=401,
                type_=ProblemType.UNAUTHORIZED,
                title="Missing or invalid API key",
                detail=str(error),
                instance=scope["path"],
                headers={"WWW-Authenticate": 'Bearer realm="rmt-service"'},
            )(scope, receive, send)
            return
        except RateLimited as error:
            await problem_response(
                status=429,
                type_=ProblemType.RATE_LIMITED,
                title="Too many requests",
                detail=str(error),
                instance=scope["path"],
                headers={"Retry-After": str(error.retry_after)},
            )(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _identify(self, scope: Scope) -> Principal:
        """The caller of a request, counted against the rate limit; raises Unauthorized or RateLimited."""
        auth = self.authenticator
        authorization = header(scope, b"authorization") if auth.enabled else None
        principal = auth.principal(authorization)
        client = scope.get("client")
        auth.hit(principal.name if auth.enabled else (client[0] if client else ANONYMOUS))
        return principal


async def get_principal(request: Request) -> Principal:
    """The caller, as :class:`AuthenticationMiddleware` identified it (``async``: no thread hop)."""
    return request.state.principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
