"""The fields a task's logs and span carry, from its name and arguments."""

from __future__ import annotations

import json
import logging

from etl_worker import observe

CTX = {"execution_id": "e-1", "extraction_id": "x-1", "sources": ["nfl"]}


def test_a_transform_task_is_named_by_its_run_phase_source_and_batch() -> None:
    batch = {"source": "nfl", "batch_no": 3, "row_lo": 1, "row_hi": 100}
    fields = observe.task_fields("etl.transform", "t-1", "w1@h", ({"run": {}}, CTX, batch))
    assert fields == {
        "task_id": "t-1",
        "worker": "w1@h",
        "phase": "transform",
        "execution_id": "e-1",
        "extraction_id": "x-1",
        "source": "nfl",
        "batch": 3,
    }


def test_a_context_passed_by_keyword_counts_and_parts_name_their_phase() -> None:
    fields = observe.task_fields("etl.merge_part", "t-2", None, ({"run": {}},), {"ctx": CTX, "part": 1})
    assert fields == {"task_id": "t-2", "phase": "merge", "execution_id": "e-1", "extraction_id": "x-1"}
    assert observe.task_fields("etl.run_extraction", "t-3", None, ("x-9",))["extraction_id"] == "x-9"


def test_a_json_line_carries_the_bound_fields_and_text_is_unchanged(capsys) -> None:  # type: ignore[no-untyped-def]
    logger = logging.getLogger("test_observe")
    logger.propagate = False
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        observe.install(logger, "json")
        token = observe.bind({"execution_id": "e-1", "phase": "load"})
        try:
            logger.warning("loaded %d rows", 5)
        finally:
            observe.unbind(token)
        logger.warning("after")
        first, second = capsys.readouterr().err.splitlines()
        line = json.loads(first)
        assert (line["message"], line["execution_id"], line["phase"], line["level"]) == (
            "loaded 5 rows",
            "e-1",
            "load",
            "WARNING",
        )
        assert "execution_id" not in json.loads(second)
    finally:
        observe.install(logger, "text")  # this process's choice back as it was
        logger.removeHandler(handler)
        logging.captureWarnings(False)
    assert not observe.json_logs()
