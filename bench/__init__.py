"""Benchmarks of etl_worker (not part of the test suite): ``python -m bench --help``."""
