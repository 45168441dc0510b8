"""The Alembic migrations build exactly the declared schema, and go down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from etl_worker.db.canonical import VIEWS
from etl_worker.db.migrate import downgrade, upgrade
from etl_worker.db.schema import metadata


def test_migrations_match_the_declared_metadata(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        views = set(conn.execute(sa.text("SELECT matviewname FROM pg_matviews")).scalars())
    engine.dispose()
    assert diff == []
    assert views == set(VIEWS)


def test_downgrade_and_upgrade_round_trip(database_url):
    downgrade(database_url, "base")
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_upgrading_keeps_the_lineage_of_what_was_loaded(database_url):
    """0010 turns the lineage table into a view over the merge parts' links: loaded lineage survives,
    and so do the work links a replay from load of a merged, not loaded, extraction needs."""
    x, e = "00000000-0000-0000-0000-0000000000aa", "00000000-0000-0000-0000-0000000000ee"
    merged_x, merged_e = "00000000-0000-0000-0000-0000000000bb", "00000000-0000-0000-0000-0000000000ff"
    downgrade(database_url, "0009")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO extractions (extraction_id, state) VALUES (:x, 'loaded')"), {"x": x})
        conn.execute(
            sa.text("INSERT INTO extraction_loads (extraction_id, execution_id, counts) VALUES (:x, :e, '{}')"),
            {"x": x, "e": e},
        )
        prospect = conn.execute(
            sa.text(
                "INSERT INTO prospect_core (match_key, full_name, name_key, surname_key, source_ids) "
                "VALUES ('joe burrow|2020|x', 'Joe Burrow', 'joe burrow', 'burrow', '{}') RETURNING prospect_id"
            )
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO data_lineage (canonical_table, canonical_id, source, extraction_id, staging_row, "
                "execution_id, match_method, match_confidence) "
                "VALUES ('prospect_core', :p, 'nfl', :x, 12, :e, 'source_id', 1.0)"
            ),
            {"p": prospect, "x": x, "e": e},
        )
        conn.execute(
            sa.text(
                "INSERT INTO etl_executions (execution_id, extraction_id, status, transformer_types, deadline_at) "
                "VALUES (:e, :x, 'failed', '[\"nfl\"]', now())"
            ),
            {"x": merged_x, "e": merged_e},
        )
        conn.execute(
            sa.text(
                "INSERT INTO etl_phase_runs (execution_id, phase, status, completed_at) "
                "VALUES (:e, 'merge', 'success', now())"
            ),
            {"e": merged_e},
        )
        conn.execute(
            sa.text("INSERT INTO work_links VALUES (:x, 'nfl', 3, 'joe burrow|2020|x', 'source_id', 1.0)"),
            {"x": merged_x},
        )
    upgrade(database_url)
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text(
                "SELECT canonical_table, canonical_id, source, staging_row, execution_id::text, match_method "
                "FROM data_lineage WHERE extraction_id = :x"
            ),
            {"x": x},
        ).all()
        links = conn.execute(
            sa.text("SELECT execution_id::text, row_number FROM lineage_links WHERE extraction_id = :x"),
            {"x": merged_x},
        ).all()
    engine.dispose()
    assert [tuple(r) for r in kept] == [("prospect_core", prospect, "nfl", 12, e, "source_id")]
    assert [tuple(r) for r in links] == [(merged_e, 3)]
