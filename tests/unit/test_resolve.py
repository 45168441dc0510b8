"""Entity resolution rules on hand-made records (pure functions)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from etl_worker.normalize import FirstNames, first_names_compatible, first_names_typo_apart, name_key, position_group
from etl_worker.phases.resolve import Record, existing_person, resolve_block

X = "00000000-0000-0000-0000-000000000001"
# Nicknames, shortenings inside and at either end, look-alikes that are none of these.
FIRSTS = ["gabe", "gabriel", "takk", "takkarist", "lano", "delano", "del", "ano", "bob", "robert", "rob", "bobby", "al"]


def rec(
    source: str,
    row: int,
    name: str,
    year: int | None,
    position: str | None,
    college: str | None,
    sid: str | None = None,
) -> Record:
    return Record(source, row, name, name_key(name), position, position_group(position), college, year, sid)


def people_of(links) -> dict[tuple[str, int], str]:  # type: ignore[no-untyped-def]
    return {(link.record.source, link.record.row_number): link.match_key for link in links}


def test_two_people_with_one_name_in_one_class_stay_apart_and_others_follow_the_evidence():
    records = [
        rec("nfl", 1, "Kevin White", 2015, "CB", "TCU", "n1"),
        rec("nfl", 2, "Kevin White", 2015, "WR", "West Virginia, Lackawanna Jc", "n2"),
        rec("pfr", 1, "Kevin White", 2015, "WR", "West Virginia", "WhitKe00"),
        rec("espn", 1, "Kevin White", 2015, "CB", "TCU", "e1"),
    ]
    people, links, reviews = resolve_block(X, records, [], set())
    placed = people_of(links)
    assert len(people) == 2 and not reviews
    assert placed[("pfr", 1)] == placed[("nfl", 2)] != placed[("nfl", 1)] == placed[("espn", 1)]


def test_a_record_that_fits_two_people_equally_is_held_for_review():
    records = [
        rec("nfl", 1, "Kevin White", 2015, "WR", "West Virginia", "n1"),
        rec("nfl", 2, "Kevin White", 2015, "WR", "Lackawanna", "n2"),
        rec("yahoo", 1, "Kevin White", 2015, "WR", None),
    ]
    people, links, reviews = resolve_block(X, records, [], set())
    assert [(r.record.source, r.reason) for r in reviews] == [("yahoo", "several people fit equally well")]
    assert len(people) == 2 and ("yahoo", 1) not in people_of(links)


def test_a_player_his_source_lists_twice_is_held_with_a_suggestion_not_made_two_people():
    records = [
        rec("nfl", 1, "Joey Iosefa", 2015, "RB", "Hawaii", "n1"),
        rec("espn", 1, "Joey Iosefa", 2015, "RB", "Hawai'i", "47143"),
        rec("espn", 2, "Joey Iosefa", 2015, "FB", "Hawai'i", "48584"),  # FB is in the RB group
        rec("cfr", 1, "Joey Iosefa", 2014, None, "Hawaii"),
    ]
    people, links, reviews = resolve_block(X, records, [], set())
    assert len(people) == 1 and len(reviews) == 1
    (held,) = reviews
    assert held.record.source_player_id == "48584" and held.candidates == [people[0].match_key]
    assert held.reason == (
        "listed twice by espn: same name, class, school and position as 47143; suggestion: the same person"
    )
    # With one Joey Iosefa left, his college season joins him.
    assert people_of(links)[("cfr", 1)] == people[0].match_key
    # Against the prospect a load made of him before (known by its row and ids), the same.
    loaded = existing_person(
        {
            "match_key": "joey iosefa|2015|loaded",
            "name_key": "joey iosefa",
            "draft_year": 2015,
            "college": "Hawaii",
            "position_group": "RB",
            "source_ids": {"nfl": "n1", "espn": "47143"},
        }
    )
    _, _, later = resolve_block(X, [records[2]], [loaded], set())
    assert [r.candidates for r in later] == [["joey iosefa|2015|loaded"]]


def test_nicknames_join_only_with_the_same_school_and_class():
    records = [
        rec("nfl", 1, "Gabe Davis", 2020, "WR", "UCF"),
        rec("pfr", 1, "Gabriel Davis", 2020, "WR", "Central Florida"),
        rec("pfr", 2, "Gabriel Davis", 2019, "WR", "UCF"),
    ]
    _, links, _ = resolve_block(X, records, [], set())
    placed = people_of(links)
    assert placed[("nfl", 1)] == placed[("pfr", 1)] != placed[("pfr", 2)]


def test_an_id_that_two_records_share_is_not_trusted():
    records = [
        rec("pfr", 1, "Mike Green", 2000, "S", "NW State (LA)", "GreeMi00"),
        rec("pfr", 2, "Mike Green", 2000, "FB", "Houston", "GreeMi00"),
    ]
    people, _, _ = resolve_block(X, records, [], {("pfr", "GreeMi00")})
    assert len(people) == 2


def test_a_college_season_joins_the_player_of_a_later_class_at_the_same_school():
    records = [
        rec("nfl", 1, "Joe Burrow", 2020, "QB", "Lsu, Ohio State", "n1"),
        rec("cfr", 1, "Joe Burrow", 2019, None, "LSU"),
        rec("cfr", 2, "Joe Burrow", 2019, None, "Oregon"),
    ]
    _, links, _ = resolve_block(X, records, [], set())
    placed = people_of(links)
    assert placed[("cfr", 1)] == placed[("nfl", 1)] != placed[("cfr", 2)]


def test_surname_blocks_spread_over_any_number_of_merge_parts_the_same_way_everywhere():
    from etl_worker.phases.resolve import BUCKETS, block_bucket, part_buckets

    buckets = [block_bucket(f"surname{i}") for i in range(40_000)]
    assert all(0 <= b < BUCKETS for b in buckets)
    # Pinned: a surname's bucket is stored with its work rows, so it must not change between processes,
    # machines or versions (a hash seeded per process, like str's, would scatter a block over parts).
    assert [block_bucket(s) for s in ("burrow", "white", "iosefa", "rotimi")] == [915, 420, 251, 647]
    for parts in (1, 4, 7, 100, 128):
        ranges = [part_buckets(part, parts) for part in range(parts)]
        # The parts cover every bucket once, in order ...
        assert ranges[0][0] == 0 and ranges[-1][1] == BUCKETS
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in pairwise(ranges))
        # ... and share the blocks out evenly.
        sizes = [sum(lo <= b < hi for b in buckets) for lo, hi in ranges]
        assert min(sizes) > len(buckets) / parts * 0.7, (parts, sizes)


@settings(max_examples=300)
@given(
    names=st.lists(st.sampled_from(FIRSTS) | st.text("abdelno", min_size=1, max_size=9), max_size=30),
    first=st.sampled_from(FIRSTS) | st.text("abdelno", min_size=1, max_size=9),
)
def test_the_first_name_index_finds_exactly_the_names_the_pairwise_rules_accept(names, first):  # type: ignore[no-untyped-def]
    index = FirstNames()
    for name in names:
        index.add(name)
    expected = {n for n in names if first_names_compatible(f"{first} doe", f"{n} doe")}
    assert index.compatible(first) == expected
    slips = {n for n in names if first_names_typo_apart(f"{first} doe", f"{n} doe")}
    assert index.typo_apart(first) == slips


def test_nicknames_come_from_the_dataset_both_ways_and_through_a_shared_name():
    for a, b in (("Ike Asiata", "Isaac Asiata"), ("Nico Jones", "Nick Jones"), ("Nate Orchard", "Nathaniel Orchard")):
        assert first_names_compatible(name_key(a), name_key(b)), (a, b)
    assert not first_names_compatible(name_key("Nick Jones"), name_key("Robert Jones"))


def test_a_first_name_slip_joins_only_with_the_same_class_and_school():
    records = [
        rec("nfl", 1, "Jarvis Harrison", 2015, "OG", "Texas A&M", "n1"),
        rec("pfr", 1, "Javis Harrison", 2015, "G", "Texas A&M", "HarrJa00"),  # the slip, same school
        rec("nfl", 2, "Damien Wilson", 2015, "LB", "Minnesota", "n2"),
        rec("pfr", 2, "Damian Wilson", 2015, "LB", "Iowa", "WilsDa00"),  # one letter off, another school
        rec("nfl", 3, "Joe Smith", 2016, "QB", "Utah", "n3"),
        rec("pfr", 3, "Jon Smith", 2016, "QB", "Utah", "SmitJo00"),  # three letters: too short to call a slip
    ]
    by_surname: dict[str, list[Record]] = {}
    for r in records:
        by_surname.setdefault(r.name_key.split()[-1], []).append(r)
    placed = {}
    methods = {}
    for block in by_surname.values():
        _, links, _ = resolve_block(X, block, [], set())
        placed |= people_of(links)
        methods |= {(link.record.source, link.record.row_number): link.method for link in links}
    assert placed[("nfl", 1)] == placed[("pfr", 1)] and methods[("pfr", 1)] == "typo_class_college"
    assert placed[("nfl", 2)] != placed[("pfr", 2)]
    assert placed[("nfl", 3)] != placed[("pfr", 3)]


def test_a_slip_never_joins_college_seasons_whatever_came_first():
    # Two CFR seasons a slip apart, no class: joined, the person would take whichever spelling came first,
    # and extractions cut differently would make different people (found on the real 2015-2020 files).
    seasons = [
        rec("cfr", 1, "Brandon Pressley", None, None, "UNLV"),
        rec("cfr", 2, "Brandon Presley", None, None, "UNLV"),
    ]
    for ordered in (seasons, seasons[::-1]):
        _, links, _ = resolve_block(X, ordered, [], set())
        assert len(set(people_of(links).values())) == 2
    loaded = existing_person(
        {
            "match_key": "brandan presley|?|x",
            "name_key": "brandan presley",
            "draft_year": None,
            "college": "UNLV",
            "position_group": None,
            "source_ids": {},
        }
    )
    _, links, _ = resolve_block(X, [rec("nfl", 1, "Brandon Presley", 2018, "WR", "UNLV", "n1")], [loaded], set())
    assert links[0].method == "new"  # a person of no class gives a slip nothing to stand on


def test_each_link_keeps_what_its_record_shared_with_the_person():
    records = [
        rec("nfl", 1, "Joe Burrow", 2020, "QB", "LSU", "n1"),
        rec("pfr", 1, "Joe Burrow", 2020, "QB", "LSU", "BurrJo00"),
        rec("espn", 1, "Joseph Burrow", 2020, "QB", "Louisiana State", "e1"),
    ]
    _, links, _ = resolve_block(X, records, [], set())
    evidence = {link.record.source: (link.method, dict(link.evidence)) for link in links}
    assert evidence["nfl"] == ("new", {})
    assert evidence["pfr"] == (
        "name_class_college",
        {"name": "same", "class": "same", "college": "same", "position": "same"},
    )
    assert evidence["espn"][1]["name"] == "nickname" and evidence["espn"][1]["college"] == "same"
