"""The service, with every solver forced into one executor when ``RMT_BENCH_FORCE_EXECUTOR`` is set.

Used only by ``bench_isolation.py`` to measure the alternative the cost model did not choose
(e.g. the sample-covariance solver in a thread instead of a worker process), so that the choice of
``service/costs.py`` rests on a measurement. Unset, this is exactly ``service.main:app``.
"""

from __future__ import annotations

import os

from service import costs
from service.app import create_app

_forced = os.environ.get("RMT_BENCH_FORCE_EXECUTOR")
if _forced:
    _original = costs._cost

    def _cost_forced(executor, shrink, *terms):
        return _original(executor, shrink, *terms)._replace(executor=_forced)

    costs._cost = _cost_forced

app = create_app()
