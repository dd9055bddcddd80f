"""Benchmarks: ``python -m benchmarks`` runs them all and rewrites the results in docs/benchmarks.md."""
