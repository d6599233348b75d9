"""Benchmarks for selectools: the overhead an agent adds on top of the HTTP bytes.

`python -m benchmarks` (from the repository root) runs them; see benchmarks/README.md.
"""
