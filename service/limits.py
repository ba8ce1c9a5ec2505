"""Deployment caps on request sizes (settings), checked before any work is done."""

from __future__ import annotations

from service.exception_handlers import LimitExceededError


def check_cap(*, field: str, size: int, cap: int, what: str) -> None:
    """Refuse ``size > cap`` with a 422 that names the field and the setting behind the cap."""
    if size > cap:
        raise LimitExceededError(
            field, f"`{field}` asks for {size} {what}; this service accepts at most {cap} per request."
        )
