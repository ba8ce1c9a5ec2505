"""The service version, from the installed package metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    SERVICE_VERSION = version("rmt-service")
except PackageNotFoundError:  # running from a source tree that was not installed
    SERVICE_VERSION = "0+unknown"
