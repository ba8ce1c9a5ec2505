"""Exceptions raised by the solvers.

The service maps each class to one HTTP status in a single table
(``service/exception_handlers.py``); the solvers themselves know nothing of HTTP.
"""

from __future__ import annotations


class SolverError(Exception):
    """Base class of every error a solver raises on purpose."""


class InvalidParameterError(SolverError, ValueError):
    """A parameter violates the mathematical domain of a formula.

    Parameters
    ----------
    parameter
        Name of the offending keyword, as in the solver signature (and the schema field).
    message
        What rule was broken. The parameter is named in backticks, scipy style.
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


class DivergentLimitError(SolverError):
    """The limit asked for does not exist (e.g. ridgeless risk at ratio 1).

    Solvers prefer returning ``nan`` with a note for one point of a grid; this is for
    a request whose only answer would be infinite.
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


class ConvergenceError(SolverError):
    """An iterative solver did not reach its tolerance.

    Attributes
    ----------
    iterations, residual
        The state in which it stopped, reported to the client.
    """

    def __init__(self, message: str, *, iterations: int, residual: float) -> None:
        super().__init__(message)
        self.message = message
        self.iterations = iterations
        self.residual = residual
