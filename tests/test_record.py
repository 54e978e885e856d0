"""record.py: named tuples with defaults, as collections.namedtuple makes them, for textconv's records."""

from __future__ import annotations

import pickle

import pytest

from nbgit.record import Record


class Point(Record):
    __slots__ = ()
    x: int
    y: int = 0
    label: str = "p"


def test_fields_defaults_and_tuple_behaviour() -> None:
    point = Point(1, label="q")
    assert (point.x, point.y, point.label) == (1, 0, "q") and tuple(point) == (1, 0, "q")
    assert point == Point(1, 0, "q") and hash(point) == hash(Point(1, 0, "q")) and point != Point(2)
    assert point._replace(y=5) == Point(1, 5, "q") and point.y == 0  # a copy
    assert repr(point) == "Point(x=1, y=0, label='q')" and Point._fields == ("x", "y", "label")
    assert pickle.loads(pickle.dumps(point)) == point
    x, y, label = point
    assert (x, y, label) == (1, 0, "q")


@pytest.mark.parametrize("make", [lambda: Point(), lambda: Point(1, 2, "a", 4), lambda: Point(1, z=3), lambda: Point(1)._replace(z=3)])
def test_wrong_arguments_are_type_errors(make: object) -> None:
    with pytest.raises(TypeError):
        make()  # type: ignore[operator]
