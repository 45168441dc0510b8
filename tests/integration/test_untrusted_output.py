"""Values from data and file names are shown as written: never markup, never terminal control sequences;
the drop-folder watcher survives any file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlalchemy as sa

from etl_worker.db.engine import transaction
from etl_worker.ingest import ingest_file
from etl_worker.ops.dropfolder import DropFolder
from tests.helpers import FIXTURES, etl, wait_for, watching

NAMES = [
    "Mike [/b] Smith",
    "[link=https://evil.example]click me[/link]",
    "Red \x1b[31mAlert\x1b[0m",
    "\x1b]8;;https://evil.example\x07Link\x1b]8;;\x07",
    "Back\\[slash]",
    "Evil \u202eAlert\u2066",  # bidi controls would reorder the rest of the line on screen
]


def _stage_held_records(settings) -> str:  # type: ignore[no-untyped-def]
    extraction_id = ingest_file(settings, "yahoo", FIXTURES / "yahoo.csv").extraction_id
    with transaction(settings.database_url) as conn:
        for row, name in enumerate(NAMES, start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO match_reviews (extraction_id, source, row_number, full_name, draft_year, reason, "
                    "candidates) VALUES (:x, 'yahoo', :row, :name, 2020, :reason, CAST(:candidates AS jsonb))"
                ),
                {
                    "x": extraction_id,
                    "row": row,
                    "name": name,
                    "reason": f"close to {name}",
                    "candidates": json.dumps([name]),
                },
            )
            conn.execute(
                sa.text(
                    "INSERT INTO quarantined_records (extraction_id, source, row_number, rule, reason, record) "
                    "VALUES (:x, 'yahoo', :row, 'not_a_number', :reason, '{}')"
                ),
                {"x": extraction_id, "row": row, "reason": f"rank: {name} is not a number"},
            )
    return extraction_id


def test_names_full_of_markup_and_escapes_print_as_written(settings):
    # Finding 5: "Mike [/b] Smith" made `review` crash with MarkupError; [link=...] printed a live link.
    extraction_id = _stage_held_records(settings)
    env = {"ETL_DATABASE_URL": settings.database_url, "COLUMNS": "250"}
    for command in (["review", "--extraction-id", extraction_id], ["quarantine", extraction_id]):
        result = etl(*command, env=env)
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert "Mike [/b] Smith" in result.stdout
        assert "[link=https://evil.example]click me[/link]" in result.stdout
        assert "Red \\x1b[31mAlert\\x1b[0m" in result.stdout
        assert "Back\\[slash]" in result.stdout
        assert "\u202e" not in result.stdout and "Evil \\u202eAlert\\u2066" in result.stdout


def test_the_watcher_rejects_any_bad_file_and_goes_on(settings, tmp_path):
    # Finding 3: the watcher died on a file with a NUL byte and died again when it retook it.
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "nfl_nul.csv").write_bytes((FIXTURES / "nfl.csv").read_bytes().replace(b"Alabama", b"Ala\x00bama", 1))
    (drop / "scouting_notes.csv").write_text("nothing here\n")
    (drop / "yahoo_2015.csv").write_bytes((FIXTURES / "yahoo.csv").read_bytes() + b'"Stray,quote\n')
    stale = drop / "pff_stale.csv"
    stale.write_bytes((FIXTURES / "pff.csv").read_bytes())
    with transaction(settings.database_url) as conn:  # two watchers died holding this file
        conn.execute(
            sa.text(
                "INSERT INTO dropped_files (sha256, filename, status, source, seen_at, attempts) "
                "VALUES (:s, 'pff_stale.csv', 'taking', 'pff', now() - interval '1 hour', 2)"
            ),
            {"s": hashlib.sha256(stale.read_bytes()).hexdigest()},
        )
    watcher = DropFolder(settings, drop)
    assert watcher.poll() == []  # first look: sizes noted
    outcomes = {o.path.name: o for o in watcher.poll()}
    assert {name: o.status for name, o in outcomes.items()} == dict.fromkeys(
        ["nfl_nul.csv", "pff_stale.csv", "scouting_notes.csv", "yahoo_2015.csv"], "rejected"
    )
    assert "line 2: a NUL byte" in outcomes["nfl_nul.csv"].message
    assert "stopped twice" in outcomes["pff_stale.csv"].message
    assert "line 14: a quoted field opens here and never closes" in outcomes["yahoo_2015.csv"].message
    rejected = drop / "rejected"
    assert sorted(p.name for p in drop.iterdir()) == ["rejected"]
    for name in outcomes:
        assert (rejected / name).exists()
        assert (rejected / f"{name}.reason").read_text().strip()
    with transaction(settings.database_url) as conn:
        statuses = dict(conn.execute(sa.text("SELECT filename, status FROM dropped_files")).all())
    assert statuses["nfl_nul.csv"] == statuses["pff_stale.csv"] == "rejected"
    assert watcher.poll() == []  # nothing left, nothing retaken


def test_the_watcher_prints_file_names_with_control_characters_escaped(settings, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    forged = "nfl_x\nrejected everything: [b]forged\x1b[31m.csv"
    (drop / forged).write_bytes(b"not,a,combine,export\n")
    with watching(drop, settings.database_url) as out:
        wait_for(lambda: "rejected nfl_x" in out.read_text(errors="replace"), 60, "the watcher to reject the file")
    text = out.read_text()
    assert "\x1b" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("watching")
    assert lines[1].startswith("rejected nfl_x\\nrejected everything: [b]forged\\x1b[31m.csv: ")
    assert len(lines) == 2, lines
    assert Path(drop / "rejected" / forged).exists()
