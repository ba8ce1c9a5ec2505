"""From a validated request model to a solver's keyword arguments: the one place a request is read.

One module per topic, one function per endpoint (``<endpoint>_arguments(request) -> dict``). Both the
route and the simulation kind (``service/jobs/kinds.py``) call it, so a job simulates exactly the
problem the endpoint answers. The values are solver types only: floats, lists or numpy arrays of
floats, :class:`solvers.activations.Activation`; never a pydantic model or a request dictionary.
"""
