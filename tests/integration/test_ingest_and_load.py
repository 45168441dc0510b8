"""Staging by COPY and the load ledger, against the real PostgreSQL."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl_worker.db import canonical
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError, FatalError
from etl_worker.ingest import ingest_file
from tests.helpers import stage_fixtures

SHARED_NFL = Path(__file__).parents[3] / "shared" / "data" / "nflcom_combine_official_2006_2026.csv"


def _count(settings, sql, **params):  # type: ignore[no-untyped-def]
    with transaction(settings.database_url) as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


@pytest.mark.skipif(
    not SHARED_NFL.exists() and os.environ.get("CI") != "true",
    reason="the shared sample data is not beside the project",
)
def test_ingest_streams_the_real_nfl_export_with_its_quoted_newlines(settings):
    staged = ingest_file(settings, "nfl", SHARED_NFL)
    extraction_id, rows = staged.extraction_id, staged.rows
    assert rows == 6568  # 6,671 physical lines hold 6,568 records
    assert _count(settings, "SELECT count(*) FROM nfl_staging WHERE extraction_id = :x", x=extraction_id) == rows
    sha = _count(settings, "SELECT sha256 FROM extraction_files WHERE extraction_id = :x", x=extraction_id)
    assert sha == "a38901dec0850015af31dabfca0b601c697651d373bc8402ec9bfc9c1d2eef19"


def _staged_records(settings, source: str, extraction_id: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with transaction(settings.database_url) as conn:
        sql = f"SELECT record FROM {source}_staging WHERE extraction_id = :x ORDER BY row_number"
        return [r[0] for r in conn.execute(sa.text(sql), {"x": extraction_id})]


HEADER = "player,position,school,draft_year,rank,position_rank\n"


def test_a_staged_record_keeps_every_character_of_its_fields(settings, tmp_path):
    # Staging goes through COPY's text format (backslashes escaped) and JSON (quotes, tabs escaped).
    path = tmp_path / "yahoo.csv"
    path.write_text(HEADER + '"D\'Andre ""Tank"" Swift \\ Jr.\tII Noé",RB,Georgia \\N,2020,35,\n', encoding="utf-8")
    staged = ingest_file(settings, "yahoo", path)
    assert _staged_records(settings, "yahoo", staged.extraction_id) == [
        {
            "player": 'D\'Andre "Tank" Swift \\ Jr.\tII Noé',
            "position": "RB",
            "school": "Georgia \\N",
            "draft_year": "2020",
            "rank": "35",
            "position_rank": "",
        }
    ]


def test_a_file_the_fast_reader_leaves_is_staged_whole_by_the_exact_one(settings, tmp_path):
    # A form feed is a line break to the fast reader's splitter, plain text to the exact reader.
    path = tmp_path / "yahoo.csv"
    path.write_text(HEADER + "Joe Burrow,QB,LSU\x0c,2020,1,1\n\nTua Tagovailoa,QB,Alabama,2020,5,2\n", encoding="utf-8")
    staged = ingest_file(settings, "yahoo", path)
    records = _staged_records(settings, "yahoo", staged.extraction_id)
    assert [(r["player"], r["school"]) for r in records] == [("Joe Burrow", "LSU\x0c"), ("Tua Tagovailoa", "Alabama")]
    assert (staged.account.lines_read, staged.account.blank_lines, staged.rows) == (4, 1, 2)


def test_ingesting_a_source_again_replaces_its_rows(settings):
    extraction_id = stage_fixtures(settings, ("yahoo",))
    ingest_file(settings, "yahoo", Path(__file__).parents[1] / "fixtures" / "yahoo.csv", extraction_id)
    assert _count(settings, "SELECT count(*) FROM yahoo_staging WHERE extraction_id = :x", x=extraction_id) == 12


def test_bad_inputs_are_one_readable_error(settings, tmp_path):
    with pytest.raises(ConfigurationError, match="no such file"):
        ingest_file(settings, "nfl", tmp_path / "missing.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigurationError, match="not a nfl export"):
        ingest_file(settings, "nfl", wrong)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"player,position,school,draft_year,rank\n\xff\xfe\x00garbage\n")
    with pytest.raises(ConfigurationError, match="line 2: byte 0xff at column 1 is not UTF-8"):
        ingest_file(settings, "yahoo", binary)


def test_two_concurrent_loads_of_one_extraction_write_once(settings):
    extraction_id = stage_fixtures(settings, ("yahoo",))
    with transaction(settings.database_url) as conn:
        conn.execute(
            sa.text(
                "INSERT INTO work_merged_prospects (extraction_id, match_key, full_name, name_key, surname_key, "
                "source_ids, source_records, ranks) "
                "VALUES (:x, 'someone|2015|x', 'Some One', 'some one', 'one', '{}', 1, '{}')"
            ),
            {"x": extraction_id},
        )
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def load(execution_id: str) -> None:
        with transaction(settings.database_url) as conn:
            barrier.wait()
            holder, _ = canonical.claim_load(conn, extraction_id, execution_id, execution_id)
            if holder is None:
                outcomes.append(canonical.load_canonical(conn, extraction_id, execution_id, ["yahoo"]))
            else:
                outcomes.append(holder)

    ids = ["00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"]
    threads = [threading.Thread(target=load, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    loaded = [o for o in outcomes if isinstance(o, dict)]
    assert len(outcomes) == 2 and len(loaded) == 1
    assert loaded[0]["prospects"] == 1
    assert _count(settings, "SELECT count(*) FROM prospect_core WHERE match_key = 'someone|2015|x'") == 1


def test_lineage_shows_with_the_load_that_commits_it_and_only_of_the_merge_it_loaded(settings):
    extraction_id = stage_fixtures(settings, ("yahoo",))
    merged, other, replay = (f"00000000-0000-0000-0000-00000000010{i}" for i in range(3))
    with transaction(settings.database_url) as conn:
        conn.execute(
            sa.text(
                "INSERT INTO work_merged_prospects (extraction_id, match_key, full_name, name_key, surname_key, "
                "source_ids, source_records, block_bucket, ranks) "
                "VALUES (:x, 'someone|2015|x', 'Some One', 'some one', 'one', '{}', 1, 7, '{}')"
            ),
            {"x": extraction_id},
        )
        # Two merges of the extraction placed row 1 (as a merge part writes it); only one gets loaded.
        for execution_id, method in ((merged, "new"), (other, "name_class")):
            conn.execute(
                sa.text("INSERT INTO lineage_links VALUES (:x, :e, 7, 'yahoo', 1, 'someone|2015|x', :m, 1.0)"),
                {"x": extraction_id, "e": execution_id, "m": method},
            )
    lineage = "SELECT execution_id::text, match_method FROM data_lineage WHERE extraction_id = :x"

    def visible() -> list[tuple[str, str]]:
        with transaction(settings.database_url) as conn:
            return [tuple(r) for r in conn.execute(sa.text(lineage), {"x": extraction_id})]

    with transaction(settings.database_url) as conn:
        assert canonical.claim_load(conn, extraction_id, merged, merged) == (None, {})
        canonical.load_canonical(conn, extraction_id, merged, ["yahoo"])
        assert visible() == []  # a reader sees none of the load until it commits ...
    assert visible() == [(merged, "new")]  # ... then all of it, of the merge it loaded
    # A replay from load takes the load over and loads the same merge: the lineage stays, now its own.
    with transaction(settings.database_url) as conn:
        assert canonical.take_over_load(conn, extraction_id, merged, replay, merged) is None
    assert visible() == [(replay, "new")]


def test_a_connection_the_server_refuses_for_good_is_not_retried(settings):  # type: ignore[no-untyped-def]
    from sqlalchemy.engine import make_url

    from etl_worker.errors import ConfigurationError

    missing = make_url(settings.database_url).set(database="etl_no_such_database").render_as_string(False)
    with pytest.raises(
        ConfigurationError, match=r'the database refused the connection: .*"etl_no_such_database" does not'
    ):
        with transaction(missing) as conn:
            conn.execute(sa.text("SELECT 1"))


def test_a_file_the_server_stores_short_is_not_staged_at_all(settings):
    # Validate's row accounting counts from the file's record count: ingest holds it to what COPY stored.
    skip_row = """
        CREATE FUNCTION skip_row_three() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN IF NEW.row_number = 3 THEN RETURN NULL; END IF; RETURN NEW; END $$;
        CREATE TRIGGER skip_row_three BEFORE INSERT ON yahoo_staging FOR EACH ROW EXECUTE FUNCTION skip_row_three();
    """
    files = "SELECT count(*) FROM extraction_files"
    before = _count(settings, files)
    with transaction(settings.database_url) as conn:
        conn.execute(sa.text(skip_row))
    try:
        with pytest.raises(FatalError) as raised:
            ingest_file(settings, "yahoo", Path(__file__).parents[1] / "fixtures" / "yahoo.csv")
    finally:
        with transaction(settings.database_url) as conn:
            conn.execute(sa.text("DROP TRIGGER skip_row_three ON yahoo_staging; DROP FUNCTION skip_row_three()"))
    assert str(raised.value) == "yahoo.csv: PostgreSQL stored 11 of the 12 records read; nothing of the file is staged"
    assert _count(settings, files) == before
