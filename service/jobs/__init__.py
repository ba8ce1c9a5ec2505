"""Asynchronous Monte Carlo simulation jobs: kinds registry, SQLite store, Dask runner."""
