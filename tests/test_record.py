"""The first run's value classes behave as the frozen dataclasses they stand for."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys

import pytest

from trustresolve._record import FrozenRecordError, field, record, replace


@record(frozen=True)
class Point:
    """A doc string that stays."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default=(), compare=False)
    notes: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def total(self) -> int:
        return self.x + self.y


@dataclasses.dataclass(frozen=True)
class RealPoint:
    x: int
    y: int = 0
    tags: tuple[str, ...] = dataclasses.field(default=(), compare=False)
    notes: dict[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)


def test_fields_in_order_by_name_and_by_default() -> None:
    assert (Point(1, 2).x, Point(1, 2).y) == (1, 2)
    assert Point(x=1).y == 0 and Point(1).notes == {}
    assert Point(1).notes is not Point(1).notes  # a factory, not one shared dict
    assert Point(1, tags=("a",)).tags == ("a",)
    assert Point(1).total == 1 and Point.__doc__ == "A doc string that stays."


def test_the_same_equality_hash_and_repr_as_the_dataclass() -> None:
    pairs = [((1, 2), {}), ((1,), {"tags": ("t",)}), ((3,), {"notes": {"k": "v"}})]
    for args, kwargs in pairs:
        ours, theirs = Point(*args, **kwargs), RealPoint(*args, **kwargs)
        assert repr(ours) == repr(theirs).replace("RealPoint", "Point")
        assert hash(ours) == hash(theirs)
    assert Point(1, tags=("a",)) == Point(1, tags=("b",))  # compare=False
    assert Point(1) != Point(2) and Point(1) != RealPoint(1)
    assert {Point(1), Point(1, tags=("x",))} == {Point(1)}


def test_frozen_and_slotted() -> None:
    point = Point(1)
    with pytest.raises(FrozenRecordError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.x  # type: ignore[misc]
    with pytest.raises(AttributeError):
        point.other = 1  # type: ignore[attr-defined]
    assert not hasattr(point, "__dict__")


@pytest.mark.parametrize(
    ("args", "kwargs", "words"),
    [
        ((), {}, "missing the field 'x'"),
        ((1, 2, (), {}, 5), {}, "takes 4 fields, 5 given"),
        ((1,), {"x": 2}, "got 'x' twice"),
        ((1,), {"z": 2}, "has no field 'z'"),
    ],
)
def test_wrong_arguments_say_which(
    args: tuple[object, ...], kwargs: dict[str, object], words: str
) -> None:
    with pytest.raises(TypeError, match=words):
        Point(*args, **kwargs)


def test_dataclasses_functions_see_a_dataclass() -> None:
    point = Point(1, 2, ("a",), {"k": "v"})
    assert dataclasses.is_dataclass(Point) and dataclasses.is_dataclass(point)
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "tags", "notes"]
    assert [f.compare for f in dataclasses.fields(Point)] == [True, True, False, False]
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "tags": ("a",), "notes": {"k": "v"}}
    assert dataclasses.replace(point, y=5) == Point(1, 5) and replace(point, x=7).x == 7
    with pytest.raises(TypeError, match="no field 'z'"):
        replace(point, z=1)


def test_the_signature_is_the_dataclass_one() -> None:
    import inspect

    ours = str(inspect.signature(Point))
    assert ours == str(inspect.signature(RealPoint))
    assert ours.startswith("(x: 'int', y: 'int' = 0")


def test_copies_and_pickles() -> None:
    point = Point(1, 2, ("a",), {"k": "v"})
    for again in (copy.copy(point), copy.deepcopy(point), pickle.loads(pickle.dumps(point))):
        assert again == point and again.notes == {"k": "v"}


def test_defaults_must_come_last_and_only_frozen_classes_are_made() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        @record(frozen=True)
        class Wrong:
            a: int = 0
            b: int

    with pytest.raises(TypeError, match="frozen classes only"):
        record(frozen=False)


def test_defining_and_using_records_imports_no_dataclasses() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)  # virtualenv's .pth imports typing at start-up on 3.9\n"
        "from trustresolve._record import record, field\n"
        "@record(frozen=True)\n"
        "class A:\n"
        "    a: int\n"
        "    b: tuple = field(default=(), compare=False)\n"
        "assert A(1) == A(1, (2,)) and hash(A(1)) == hash(A(1)) and repr(A(1))\n"
        "print(sorted({'dataclasses', 'typing', 'inspect'} & (set(sys.modules) - before)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
