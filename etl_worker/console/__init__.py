"""The web console (``etl-worker ui``): executions, a live page per execution, prospects and their lineage,
the review queue, cancel and replay, and the pipeline's metrics, behind basic auth."""
