"""The rows `serve --remember` keeps per unit (pipelines/unit_memory.py): the last N of each unit in time
order, those before a request's first stamp, a row sent again counted once, the least recently seen
units forgotten first, and a new version going on from what the last one kept."""

from __future__ import annotations

import pandas as pd

from pipelines.unit_memory import UnitMemory


def _rows(unit: str, times: range) -> pd.DataFrame:
    return pd.DataFrame({"unit": unit, "t": list(times), "x": [float(t) for t in times]})


def test_the_last_rows_of_each_unit_come_before_a_request():
    memory = UnitMemory(3, "unit", "t")
    memory.remember(_rows("A", range(0, 5)))
    memory.remember(_rows("B", range(0, 2)))
    before = memory.before(pd.concat([_rows("A", range(5, 6)), _rows("B", range(2, 3))]))
    assert before.groupby("unit")["t"].apply(list).to_dict() == {"A": [2, 3, 4], "B": [0, 1]}
    # a request that starts inside what is kept gets only the rows before it, and replaces the rest
    assert memory.before(_rows("A", range(3, 6)))["t"].tolist() == [2]
    memory.remember(_rows("A", range(3, 6)).assign(x=-1.0))
    assert memory.before(_rows("A", range(9, 10)))["x"].tolist() == [-1.0, -1.0, -1.0]


def test_without_a_unit_or_time_column_rows_are_one_stream_in_arrival_order():
    memory = UnitMemory(2, None, None)
    memory.remember(_rows("A", range(0, 2)))
    memory.remember(_rows("B", range(7, 8)))
    assert memory.before(_rows("C", range(0, 1)))["t"].tolist() == [1, 7]


def test_the_least_recently_seen_units_are_forgotten_and_a_new_version_goes_on():
    memory = UnitMemory(10, "unit", "t", max_rows=20)  # room for two units of 10 rows
    for unit in ("A", "B", "C"):
        memory.remember(_rows(unit, range(0, 10)))
    assert memory.units() == 2 and memory.before(_rows("A", range(10, 11))).empty
    newer = UnitMemory(4, "unit", "t")
    newer.take_over(memory)
    assert newer.before(_rows("C", range(10, 11)))["t"].tolist() == [6, 7, 8, 9]
