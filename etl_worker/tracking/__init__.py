"""Execution history: the listener that records it, and the readers that rebuild executions from it."""
