"""A task message names plug-ins by import path; a worker imports only registered plug-ins, etl_worker's
own modules and the packages ETL_PLUGIN_MODULES allows: anything else is refused before its import-time
code runs (issue 25, finding 7)."""

from __future__ import annotations

import sys

import pytest

from etl_worker import plugins
from etl_worker.errors import ConfigurationError
from etl_worker.rules import load_rules
from etl_worker.sources import for_run


@pytest.fixture
def planted(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A module on the path whose import leaves a mark, as an attacker's would run code."""
    mark = tmp_path / "imported"
    (tmp_path / "planted_module.py").write_text(f"open({str(mark)!r}, 'w').close()\nX = object()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield mark
    sys.modules.pop("planted_module", None)


def test_an_adapter_path_from_a_message_is_refused_before_import(planted, monkeypatch):
    monkeypatch.setenv("ETL_PLUGIN_MODULES", "tests")
    with pytest.raises(ConfigurationError, match=r"planted_module:X is not an installed plug-in.*ETL_PLUGIN_MODULES"):
        for_run("pff", {"pff": "planted_module:X"})
    with pytest.raises(ConfigurationError, match="not an installed plug-in"):
        load_rules(["planted_module:X"])
    assert not planted.exists() and "planted_module" not in sys.modules


def test_a_package_the_allow_list_names_is_imported_and_still_checked(planted, monkeypatch):
    monkeypatch.setenv("ETL_PLUGIN_MODULES", "tests, planted_module")
    with pytest.raises(ConfigurationError, match=r"is not an etl_worker\.sources\.base\.Source"):
        for_run("pff", {"pff": "planted_module:X"})
    assert planted.exists()


def test_etl_workers_own_and_registered_plug_ins_load_and_a_bad_list_is_refused(monkeypatch):
    monkeypatch.setenv("ETL_PLUGIN_MODULES", "")
    assert for_run("pff", {"pff": "etl_worker.sources.pff:PffSource"}).name == "pff"
    monkeypatch.setenv("ETL_PLUGIN_MODULES", "tests;rm -rf")
    with pytest.raises(ConfigurationError, match="ETL_PLUGIN_MODULES: 'tests;rm -rf' is not a module name"):
        plugins.load("tests.e2e.seed_plugins:TeamPffSource", "the transformer for pff")
