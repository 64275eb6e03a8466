import datetime as dt
import json

from agentwatch.output import render_rows


def test_table_aligns_and_cuts_long_cells():
    out = render_rows(["a", "long"], [(1, "x" * 100), (22, "y")], max_width=10)
    lines = out.splitlines()
    assert lines[0].split() == ["a", "long"]
    assert "xxxxxxxxx…" in lines[2]
    assert lines[-1] == "(2 rows)"


def test_json_and_csv_render_clickhouse_values():
    rows = [(dt.datetime(2026, 1, 2, 3, 4, 5), {"k": "v"}, ["a", "b"])]
    data = json.loads(render_rows(["t", "m", "arr"], rows, "json"))
    assert data == [{"t": "2026-01-02T03:04:05", "m": {"k": "v"}, "arr": ["a", "b"]}]
    csv = render_rows(["t", "m", "arr"], rows, "csv").splitlines()
    assert csv[0] == "t,m,arr"
    assert csv[1] == '2026-01-02T03:04:05,"{""k"": ""v""}","[""a"", ""b""]"'


def test_the_demo_names_the_preview_extra_when_matplotlib_is_missing(monkeypatch):
    """Observed: without the [preview] extra the demo suggested a command that fails."""
    import sys

    from agentwatch.demo.run import preview_hint

    assert preview_hint("chdb:///s").startswith("agentwatch grafana preview --store chdb:///s")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the extra looks like to import
    assert preview_hint("chdb:///s").startswith("pip install 'agentwatch[preview]'   # then: agentwatch grafana")


def test_drivers_warnings_are_quieted_only_in_the_thread_that_connects(caplog):
    """The quieting used to set the loggers' level for the whole process: two threads connecting at once could leave
    it at ERROR for good. It is a per-thread filter now."""
    import logging
    import threading

    from agentwatch import store

    logger = logging.getLogger("urllib3.connectionpool")
    seen: list[str] = []

    def elsewhere() -> None:
        logger.warning("from another thread")

    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"), store._quiet():
        logger.warning("while connecting")
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        seen = [r.getMessage() for r in caplog.records]
    assert seen == ["from another thread"]
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        logger.warning("after")
    assert "after" in [r.getMessage() for r in caplog.records]
