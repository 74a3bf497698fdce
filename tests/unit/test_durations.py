"""The order `make test` hands files to its workers (tests/durations.py)."""

from __future__ import annotations

from types import SimpleNamespace

from tests.durations import longest_first, seconds_per_file


def test_seconds_are_summed_per_file_over_setup_call_and_teardown() -> None:
    lines = [
        "============ slowest durations ============",
        "12.50s call     tests/integration/test_a.py::test_one[moto]",
        "2.00s setup    tests/integration/test_a.py::test_one[moto]",
        "0.50s teardown tests/unit/test_b.py::TestX::test_two",
        "(3 durations < 0.005s hidden.  Use -vv to show these durations.)",
    ]
    assert seconds_per_file(lines) == {
        "tests/integration/test_a.py": 14.5,
        "tests/unit/test_b.py": 0.5,
    }


def test_files_go_longest_first_keeping_each_files_order_and_new_files_in_the_middle() -> None:
    ids = ["u.py::a", "u.py::b", "long.py::x", "new.py::n", "u.py::c", "long.py::y", "mid.py::m"]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    table = {"u.py": 1.0, "long.py": 90.0, "mid.py": 10.0}
    order = [i.nodeid for i in longest_first(items, table)]
    # new.py counts as the median (10 s), as long as mid.py, and was collected before it
    assert order == [
        "long.py::x",
        "long.py::y",
        "new.py::n",
        "mid.py::m",
        "u.py::a",
        "u.py::b",
        "u.py::c",
    ]
    assert [i.nodeid for i in longest_first(items, {})] == [
        "u.py::a",
        "u.py::b",
        "u.py::c",
        "long.py::x",
        "long.py::y",
        "new.py::n",
        "mid.py::m",
    ]
