"""Pure numerical solvers of rmt-service: numpy and scipy only, no web or contract types.

Each topic module exposes functions with keyword-only options that validate their input
first and return a frozen dataclass; Monte Carlo simulators take ``rng=`` (SPEC 7).
"""
