"""Weighed evidence between the people the surname blocks kept apart (etl_worker.phases.weigh)."""

from __future__ import annotations

import random
from typing import Any

from etl_worker.normalize import college_key
from etl_worker.phases.weigh import compare, profile, reconcile, weigh
from etl_worker.settings import Linkage

LINK, REVIEW = Linkage.link_above, Linkage.review_above
# Davon Godchaux, LSU, class of 2017, as NFL.com measured him.
GODCHAUX = {"height_in": 75.25, "weight_lb": 293.0, "forty": 5.17, "bench": 23.0}


def person(key: str, source: str, name: str, college: str = "LSU", group: str = "DL", **measured: Any):  # type: ignore[no-untyped-def]
    row = {
        "source": source,
        "row_number": 1,
        "name_key": name,
        "college": college,
        "college_key": college_key(college),
        "position_group": group,
        "draft_year": 2017,
        "source_player_id": f"{source}-{key}",
        "other_ids": None,
        **measured,
    }
    return profile(key, [row])


def test_a_surname_slip_with_school_position_and_measurements_agreeing_is_one_person_with_its_evidence():
    nfl = person("a", "nfl", "davon godchaux", **GODCHAUX)
    pfr = person("b", "pfr", "davon gaudchaux", height_in=75.0, weight_lb=293.0, forty=5.17)
    folds, doubts = reconcile([pfr, nfl], LINK, REVIEW)
    assert doubts == []
    [fold] = folds
    assert (fold.absorbed, fold.into) == ("b", "a")  # NFL.com, the most trusted source, keeps its key
    assert fold.score >= LINK
    assert fold.evidence["name"] == "slip +6.0" and fold.evidence["forty"] == "same +6.0"
    assert fold.evidence["height"] == "same +2.7"  # PFR's whole inches against NFL.com's quarters


def test_without_measurements_a_slip_is_only_shown_to_an_operator():
    folds, doubts = reconcile(
        [person("a", "nfl", "davon godchaux"), person("b", "yahoo", "davon gaudchaux")], LINK, REVIEW
    )
    assert folds == []
    assert [(d.first, d.second) for d in doubts] == [("a", "b")] and REVIEW <= doubts[0].score < LINK


def test_another_school_is_never_joined_on_evidence_however_strong():
    nfl = person("a", "nfl", "dee hart", "Colorado State", "RB", **GODCHAUX)
    pfr = person("b", "pfr", "pete hart", "Hardin-Simmons", "RB", **GODCHAUX)
    folds, doubts = reconcile([nfl, pfr], LINK, REVIEW)
    assert folds == [] and len(doubts) == 1 and doubts[0].evidence["college"].startswith("differs")


def test_brothers_of_one_class_and_school_stay_two_people():
    folds, doubts = reconcile(
        [
            person("a", "nfl", "mike pouncey", "Florida", "OL", height_in=77.0, weight_lb=303.0, bench=24.0),
            person("b", "pfr", "maurkice pouncey", "Florida", "OL", height_in=76.0, weight_lb=304.0, bench=27.0),
        ],
        LINK,
        REVIEW,
    )
    assert folds == [] and doubts == []


def test_one_source_twice_two_loaded_prospects_and_no_shared_block_are_never_joined():
    assert reconcile(
        [person("a", "pfr", "davon godchaux", **GODCHAUX), person("b", "pfr", "davon gaudchaux", **GODCHAUX)],
        LINK,
        REVIEW,
    ) == ([], [])
    loaded = [
        profile("a", [_row("nfl", "davon godchaux")], loaded=True),
        profile("b", [_row("pfr", "davon gaudchaux")], loaded=True),
    ]
    assert reconcile(loaded, LINK, REVIEW) == ([], [])
    elsewhere = person("b", "pfr", "davon gaudchaux", "Alabama", weight_lb=250.0)
    assert reconcile([person("a", "nfl", "davon godchaux", **GODCHAUX), elsewhere], LINK, REVIEW) == ([], [])


def _row(source: str, name: str) -> dict[str, Any]:
    return {
        "source": source,
        "row_number": 1,
        "name_key": name,
        "college": "LSU",
        "position_group": "DL",
        "draft_year": 2017,
        "source_player_id": None,
        "other_ids": None,
        **GODCHAUX,
    }


def test_an_id_a_loaded_prospect_carries_joins_whatever_the_names():
    loaded = profile("p", [{**_row("nfl", "temuchin hodges"), "other_ids": {"pfr": "HodgBu00"}}], loaded=True)
    new = profile("n", [{**_row("pfr", "bucky hodges"), "source_player_id": "HodgBu00"}])
    [fold], _ = reconcile([new, loaded], LINK, REVIEW)
    assert (fold.absorbed, fold.into, fold.evidence) == ("n", "p", {"id": "pfr HodgBu00"})


def test_the_same_people_in_any_order_give_the_same_answer():
    people = [
        person("a", "nfl", "davon godchaux", **GODCHAUX),
        person("b", "pfr", "davon gaudchaux", **GODCHAUX),
        person("c", "espn", "davon godchaix", **GODCHAUX),
        person("d", "pfr", "davon godchauxx", **GODCHAUX),
    ]
    first = reconcile(people, LINK, REVIEW)
    assert {f.absorbed for f in first[0]} == {"b", "c"}  # one PFR listing joins; the other cannot
    for seed in range(5):
        shuffled = people[:]
        random.Random(seed).shuffle(shuffled)
        assert reconcile(shuffled, LINK, REVIEW) == first


def test_weights_add_to_the_score_from_the_prior():
    levels = compare(person("a", "nfl", "davon godchaux", **GODCHAUX), person("b", "pfr", "davon godchaux", **GODCHAUX))
    score, parts = weigh(levels)
    assert levels["name"] == "same" and round(score - sum(parts.values()), 2) == -2.9
