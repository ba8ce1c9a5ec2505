"""Benchmarks of rmt-service: run them all with ``bin/bench`` (see ``benchmarks/README.md``)."""
