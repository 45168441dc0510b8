"""Operating the pipeline around its runs: alerts, the timetable (beat), the drop folder, deadlines,
resuming runs the broker lost, retention of history, and resolving held records."""
