"""The drop folder shared with people the watcher does not trust: it never writes through or reads
through a symbolic link, never uses a ``rejected/`` someone else controls, survives any file name
(names are bytes), and ties a rejection to its reason: a file rejected for its name is taken once renamed.

The other user is real: ``nobody``, whose files and links are made with that effective user id.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from etl_worker.celery_app import app
from etl_worker.db.engine import transaction
from etl_worker.ingest import ingest_file
from etl_worker.ops.dropfolder import DropFolder, Outcome
from tests.helpers import FIXTURES, NOBODY, as_user, etl, wait_for, watching

JUNK = b"player,note\nA. Player,fast\n"  # no source in its header


@pytest.fixture
def settings(settings, empty_database_url):  # type: ignore[no-untyped-def]
    """A database of the test's own: what one test's watcher took is not "seen before" in another's."""
    return settings.with_overrides(database_url=empty_database_url)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A shared inbox, mode 1777 like /tmp, in a directory every user can pass through."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to act as a second user (CI runs as root)")
    base = Path(tempfile.mkdtemp(prefix="etl-drop-"))
    base.chmod(0o711)
    inbox = base / "inbox"
    inbox.mkdir()
    inbox.chmod(0o1777)
    yield inbox
    shutil.rmtree(base)


@pytest.fixture
def victim() -> Iterator[Path]:
    """A root-only file the other user would like root to overwrite, or to read for them."""
    directory = Path(tempfile.mkdtemp(prefix="etl-victim-"))
    secret = directory / "secret.csv"
    secret.write_bytes((FIXTURES / "pff.csv").read_bytes())
    secret.chmod(0o600)
    yield secret
    shutil.rmtree(directory)


@pytest.fixture
def no_runs_left() -> Iterator[None]:
    yield
    app.control.purge()  # runs enqueued here have no workers: they may not reach another test's


def _handle(watcher: DropFolder) -> dict[str, Outcome]:
    """Two looks: files are taken once they held still between them."""
    assert watcher.poll() == []
    return {o.name: o for o in watcher.poll()}


def _statuses(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with transaction(settings.database_url) as conn:
        return dict(conn.execute(sa.text("SELECT filename, status FROM dropped_files")).all())


def test_a_planted_reason_link_is_never_written_through(settings, shared, victim):  # type: ignore[no-untyped-def]
    before = victim.read_bytes()
    with as_user(NOBODY):  # the other user makes rejected/ theirs and plants a link where the reason goes
        (shared / "rejected").mkdir(mode=0o777)
        (shared / "rejected").chmod(0o777)
        os.symlink(victim, shared / "rejected" / "junk.csv.reason")
        (shared / "junk.csv").write_bytes(JUNK)
    outcome = _handle(DropFolder(settings, shared))["junk.csv"]
    assert outcome.status == "rejected"
    assert "it stays here: rejected/ belongs to uid 65534, not the watcher's user" in outcome.message
    assert victim.read_bytes() == before
    assert (shared / "junk.csv").read_bytes() == JUNK  # left where it was, not moved into their directory


def test_a_rejected_dir_that_is_a_link_is_refused(settings, shared, victim):  # type: ignore[no-untyped-def]
    with as_user(NOBODY):
        os.symlink(victim.parent, shared / "rejected")
        (shared / "junk.csv").write_bytes(JUNK)
    outcome = _handle(DropFolder(settings, shared))["junk.csv"]
    assert outcome.status == "rejected" and "it stays here: rejected/ is a symbolic link" in outcome.message
    assert sorted(p.name for p in victim.parent.iterdir()) == ["secret.csv"]


def test_a_rejected_dir_others_can_write_is_refused(settings, shared):  # type: ignore[no-untyped-def]
    (shared / "rejected").mkdir()
    (shared / "rejected").chmod(0o777)  # the watcher's own, but anyone could plant links in it
    (shared / "junk.csv").write_bytes(JUNK)
    outcome = _handle(DropFolder(settings, shared))["junk.csv"]
    assert "it stays here: rejected/ is writable by other users" in outcome.message


def test_nothing_in_rejected_is_written_over(settings, shared, victim):  # type: ignore[no-untyped-def]
    before = victim.read_bytes()
    (shared / "rejected").mkdir(mode=0o755)
    os.symlink(victim, shared / "rejected" / "junk.csv.reason")  # however it got there
    os.symlink(victim, shared / "rejected" / "junk.1.csv")
    (shared / "junk.csv").write_bytes(JUNK)
    outcome = _handle(DropFolder(settings, shared))["junk.csv"]
    assert outcome.message.endswith("(moved to rejected/junk.2.csv)"), outcome.message
    assert (shared / "rejected" / "junk.2.csv").read_bytes() == JUNK
    assert "no source in the file name" in (shared / "rejected" / "junk.2.csv.reason").read_text()
    assert victim.read_bytes() == before


def test_a_dropped_link_to_a_file_elsewhere_is_rejected_not_read(settings, shared, victim):  # type: ignore[no-untyped-def]
    with as_user(NOBODY):  # root-only content, under a name that would be staged as PFF grades
        os.symlink(victim, shared / "pff_2021.csv")
    outcome = _handle(DropFolder(settings, shared))["pff_2021.csv"]
    assert outcome.status == "rejected" and outcome.message.startswith("a symbolic link:"), outcome.message
    assert (shared / "rejected" / "pff_2021.csv").is_symlink()  # the link moved, its target untouched
    assert victim.stat().st_mode & 0o777 == 0o600
    with transaction(settings.database_url) as conn:
        staged = conn.execute(sa.text("SELECT count(*) FROM extraction_files WHERE filename = 'pff_2021.csv'"))
        assert staged.scalar_one() == 0
    assert "pff_2021.csv" not in _statuses(settings)


def test_a_file_rejected_for_its_name_is_taken_once_renamed(settings, shared, no_runs_left):  # type: ignore[no-untyped-def]
    content = (FIXTURES / "yahoo.csv").read_bytes().replace(b"rank", b"position_rank", 1)  # no source fits
    (shared / "rankings.csv").write_bytes(content)
    watcher = DropFolder(settings, shared)
    assert _handle(watcher)["rankings.csv"].status == "rejected"
    os.rename(shared / "rejected" / "rankings.csv", shared / "yahoo_2015.csv")
    outcome = _handle(watcher)["yahoo_2015.csv"]
    assert (outcome.status, outcome.message) != ("skipped", ""), outcome
    assert outcome.status == "rejected" and "rank" in outcome.message  # now judged on its content
    (shared / "yahoo_2015.csv").write_bytes((FIXTURES / "yahoo.csv").read_bytes())
    assert _handle(watcher)["yahoo_2015.csv"].status == "taken"


def test_a_file_made_readable_is_taken_and_a_skip_says_why(settings, shared, no_runs_left):  # type: ignore[no-untyped-def]
    locked = shared / "pff_locked.csv"
    locked.write_bytes((FIXTURES / "pff.csv").read_bytes())
    locked.chmod(0o600)  # root's: the watcher below runs as nobody
    watcher = DropFolder(settings, shared)
    with as_user(NOBODY):
        skipped = _handle(watcher)["pff_locked.csv"]
    assert skipped.status == "skipped"
    assert skipped.message == "could not be read (Permission denied): taken once it can be read"
    locked.chmod(0o644)
    with as_user(NOBODY):
        assert watcher.poll() == []  # held still since the change: taken at the next look
        taken = {o.name: o for o in watcher.poll()}["pff_locked.csv"]
    assert taken.status == "taken", taken.message
    (shared / "pff_copy.csv").write_bytes(locked.read_bytes())
    again = _handle(watcher)["pff_copy.csv"]
    assert (again.status, again.message) == ("skipped", "same content as pff_locked.csv, enqueued before")


def test_names_that_are_not_utf8_are_taken_recorded_and_shown_escaped(settings, tmp_path, no_runs_left):  # type: ignore[no-untyped-def]
    drop = tmp_path / "drop"
    drop.mkdir()
    pff = os.fsencode(drop) + b"/pff_\xff\xfe.csv"
    Path(os.fsdecode(pff)).write_bytes((FIXTURES / "pff.csv").read_bytes())
    Path(os.fsdecode(os.fsencode(drop) + b"/notes_\xc3.csv")).write_bytes(JUNK)
    outcomes = _handle(DropFolder(settings, drop))
    assert outcomes["pff_\\xff\\xfe.csv"].status == "taken"
    assert outcomes["notes_\\xc3.csv"].status == "rejected"
    assert outcomes["notes_\\xc3.csv"].message.endswith("(moved to rejected/notes_\\xc3.csv)")
    assert os.path.exists(os.fsencode(drop) + b"/rejected/notes_\xc3.csv.reason")
    assert _statuses(settings)["pff_\\xff\\xfe.csv"] == "enqueued"
    with transaction(settings.database_url) as conn:
        names = conn.execute(sa.text("SELECT filename FROM extraction_files")).scalars().all()
    assert "pff_\\xff\\xfe.csv" in names


def test_ingest_and_watch_print_a_name_that_is_not_utf8_escaped(settings, tmp_path):  # type: ignore[no-untyped-def]
    env = {"ETL_DATABASE_URL": settings.database_url}
    name = os.fsencode(tmp_path) + b"/pff_\xff.csv"
    Path(os.fsdecode(name)).write_bytes((FIXTURES / "pff.csv").read_bytes())
    staged = subprocess.run(
        [sys.executable, "-m", "etl_worker.cli", "ingest", "pff", name],
        capture_output=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert staged.returncode == 0, staged.stderr
    assert b"staged 10 pff rows from " + os.fsencode(tmp_path) + b"/pff_\\xff.csv" in staged.stderr
    missing = etl("ingest", "pff", str(tmp_path / "gone.csv"), env=env)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1

    drop = tmp_path / "drop"
    drop.mkdir()
    Path(os.fsdecode(os.fsencode(drop) + b"/notes_\xfe.csv")).write_bytes(JUNK)
    with watching(drop, settings.database_url) as out:
        wait_for(lambda: b"rejected notes_" in out.read_bytes(), 60, "the watcher to reject the file")
        (drop / "notes_again.csv").write_bytes(JUNK + b"more\n")  # still watching after the odd name
        wait_for(lambda: b"rejected notes_again.csv" in out.read_bytes(), 60, "the watcher to go on")
    text = out.read_text(encoding="utf-8")  # strict: everything printed is UTF-8
    assert "rejected notes_\\xfe.csv: no source in the file name" in text
    assert "Traceback" not in text


@examples(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stem=st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_")),
    content=st.sampled_from([JUNK, b"", b"\xff\xfe\x00garbage", (FIXTURES / "pff.csv").read_bytes()]),
)
def test_any_file_name_ends_rejected_or_staged_and_prints(settings, tmp_path, stem, content):  # type: ignore[no-untyped-def]
    name = b"x" + stem  # never "." or "..", never hidden
    drop = Path(tempfile.mkdtemp(dir=tmp_path))
    path = os.fsencode(drop) + b"/" + name
    with open(path, "wb") as handle:
        handle.write(content)
    shown = Outcome(Path(os.fsdecode(path)), "", "").name
    assert shown.encode("utf-8") and not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in shown)
    try:
        staged = ingest_file(settings, "pff", os.fsdecode(path))
        assert staged.rows == 10
    except Exception as exc:  # a readable error, with the name escaped: never an encoding error
        assert not isinstance(exc, UnicodeError), exc
        str(exc).encode("utf-8")
    watcher = DropFolder(settings, drop)
    with transaction(settings.database_url) as conn:  # the content was taken before: nothing is enqueued
        conn.execute(
            sa.text(
                "INSERT INTO dropped_files (sha256, filename, status) VALUES (:s, 'earlier.csv', 'enqueued') "
                "ON CONFLICT DO NOTHING"
            ),
            {"s": hashlib.sha256(content).hexdigest()},
        )
    outcome = _handle(watcher)[shown]
    assert outcome.status in {"rejected", "skipped"}, outcome
    outcome.message.encode("utf-8")
    if outcome.status == "rejected":
        assert os.path.exists(os.fsencode(drop) + b"/rejected/" + name)
    left = [os.fsencode(p.name) for p in drop.iterdir() if not stat.S_ISDIR(p.stat().st_mode)]
    assert left == ([] if outcome.status == "rejected" else [name])
