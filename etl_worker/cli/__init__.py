"""The ``etl-worker`` command line: set up, stage, run, watch and read history (one module per concern)."""

from etl_worker.cli import data, ops, runs, services, setup  # noqa: F401 - each registers its commands
from etl_worker.cli.app import main

__all__ = ["main"]
