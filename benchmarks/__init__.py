"""Benchmarks: ``python -m benchmarks`` runs them all and rewrites the README table."""
