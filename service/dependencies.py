"""`Annotated` dependency aliases used by the routes, and the service-level size checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.compute import Compute
from service.exception_handlers import LimitExceededError
from service.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_compute(request: Request) -> Compute:
    """The app's solver runner (inline or thread pool)."""
    return request.app.state.compute


SettingsDep = Annotated[Settings, Depends(get_settings)]
ComputeDep = Annotated[Compute, Depends(get_compute)]


def check_cap(*, field: str, size: int, cap: int, what: str) -> None:
    """Refuse ``size > cap`` with a 422 that names the field and the setting behind the cap."""
    if size > cap:
        raise LimitExceededError(
            field, f"`{field}` asks for {size} {what}; this service accepts at most {cap} per request."
        )
