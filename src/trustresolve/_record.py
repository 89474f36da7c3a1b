"""Frozen value classes for the first run, without importing :mod:`dataclasses` (architecture §9.2).

A first run defines about twenty value classes on its way to a context. As dataclasses, they
cost more than the store they describe: importing ``dataclasses`` pulls in ``inspect``, ``ast``
and ``dis`` (18-21 ms here), and each definition compiles its generated methods (21 classes:
27-29 ms), measured on CPython 3.11, against the stdlib's whole 55 ms to load 150 roots.
:func:`record` gives a class what those classes use of a frozen dataclass: an ``__init__``
taking the fields in order or by name, with defaults and ``default_factory``; value equality
and hashing over the fields that ``compare``; a ``repr`` of the fields that ``repr``;
immutability; ``__slots__``. It builds those methods from closures instead of generated
source, so defining a class costs 0.1-0.3 ms (a dataclass: 1.3 ms each here).

They stay dataclasses to everyone who asks: ``dataclasses.is_dataclass``, ``fields``,
``replace`` and ``asdict`` work on them, and ``inspect.signature`` (``help()``, IDEs, Sphinx)
shows their fields, because ``__dataclass_fields__`` and ``__signature__`` are computed on
first access by applying the real :func:`dataclasses.dataclass` to a copy of the class's
definition.
Type checkers are told the truth the same way: under ``TYPE_CHECKING`` :func:`record` *is*
``dataclasses.dataclass``, so ``mypy --strict`` checks every field, default and assignment.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the constant, not typing's: see trustresolve/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["FrozenRecordError", "field", "record", "replace"]

_MISSING: Any = object()


class _Field:
    """What ``field(...)`` says of one field; read once, when its class is defined."""

    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(
        self, default: Any, default_factory: Callable[[], Any], compare: bool, repr: bool
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr

    def as_dataclass_field(self) -> Any:
        import dataclasses

        return dataclasses.field(
            default=self.default if self.default is not _MISSING else dataclasses.MISSING,
            default_factory=(
                self.default_factory
                if self.default_factory is not _MISSING
                else dataclasses.MISSING
            ),
            compare=self.compare,
            repr=self.repr,
        )


def _field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] = _MISSING,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    """:func:`dataclasses.field`'s ``default``, ``default_factory``, ``compare`` and ``repr``."""
    return _Field(default, default_factory, compare, repr)


class FrozenRecordError(AttributeError):
    """A field of a frozen record was assigned (``dataclasses.FrozenInstanceError``'s role)."""


class _Twin:
    """The real dataclass a record stands for: its ``__dataclass_fields__`` and its
    ``__signature__`` (what ``help()``, IDEs and Sphinx show), computed when first asked for."""

    def __init__(self, annotations: dict[str, Any], module: str, specs: dict[str, _Field]) -> None:
        self._annotations = annotations
        self._module = module
        self._specs = specs
        self._twin: Any = None

    def of(self, owner: type) -> Any:
        if self._twin is None:
            import dataclasses

            namespace = {name: spec.as_dataclass_field() for name, spec in self._specs.items()}
            namespace.update(__annotations__=self._annotations, __module__=self._module)
            self._twin = dataclasses.dataclass(frozen=True)(type(owner.__name__, (), namespace))
        return self._twin


class _FromTwin:
    """A class attribute read from the record's :class:`_Twin`, then kept as a plain one."""

    def __init__(self, twin: _Twin, name: str) -> None:
        self._twin = twin
        self._name = name

    def __get__(self, instance: object, owner: type) -> Any:
        twin = self._twin.of(owner)
        if self._name == "__signature__":
            import inspect

            value: Any = inspect.signature(twin)
        else:
            value = getattr(twin, self._name)
        type.__setattr__(owner, self._name, value)  # later reads: a plain attribute
        return value


def _record(cls: type | None = None, /, *, frozen: bool = True) -> Any:
    """Make ``cls`` a frozen value class over its annotated fields (see the module docstring).

    Called as ``@record(frozen=True)`` so that, under ``TYPE_CHECKING``, the same line is
    ``@dataclass(frozen=True)``; only frozen classes are made.
    """
    if not frozen:
        raise TypeError("record() makes frozen classes only; use a dataclass for mutable ones")
    if cls is None:
        return _build
    return _build(cls)


def _build(cls: type) -> type:
    # The class's own annotations, as dataclasses reads them (3.9-3.13 keep them in __dict__).
    annotations: dict[str, Any] = dict(cls.__dict__.get("__annotations__", {}))  # noqa: RUF063
    names = tuple(name for name, kind in annotations.items() if "ClassVar" not in str(kind))
    namespace = {
        key: value
        for key, value in cls.__dict__.items()
        if key not in names and key not in ("__dict__", "__weakref__")
    }
    specs = {name: _spec(cls.__dict__.get(name, _MISSING)) for name in names}
    namespace.update(
        __slots__=names,
        __init__=_init(names, specs),
        __eq__=_eq(tuple(name for name in names if specs[name].compare)),
        __hash__=_hash(tuple(name for name in names if specs[name].compare)),
        __repr__=_repr(tuple(name for name in names if specs[name].repr)),
        __setattr__=_refuse_change,
        __delattr__=_refuse_change,
        __getstate__=lambda self: tuple(getattr(self, name) for name in names),
        __setstate__=lambda self, state: _assign(self, names, state),
        __match_args__=names,
    )
    twin = _Twin(annotations, cls.__module__, specs)
    namespace.update(
        __dataclass_fields__=_FromTwin(twin, "__dataclass_fields__"),
        __signature__=_FromTwin(twin, "__signature__"),
    )
    built = type(cls)(cls.__name__, cls.__bases__, namespace)
    built.__qualname__ = cls.__qualname__
    return built


def _spec(declared: Any) -> _Field:
    if isinstance(declared, _Field):
        return declared
    return _Field(declared, _MISSING, compare=True, repr=True)


def _has_default(spec: _Field) -> bool:
    return spec.default is not _MISSING or spec.default_factory is not _MISSING


def _init(names: tuple[str, ...], specs: dict[str, _Field]) -> Callable[..., None]:
    defaults = [(name, specs[name]) for name in names if _has_default(specs[name])]
    required = names[: len(names) - len(defaults)]
    if any(_has_default(specs[name]) for name in required):
        raise TypeError("a field without a default follows one with a default")
    width = len(names)

    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        if kwargs or len(args) != width:
            args = _arranged(self, args, kwargs)
        for name, value in zip(names, args):
            object.__setattr__(self, name, value)

    def _arranged(self: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        if len(args) > width:
            raise TypeError(f"{type(self).__name__}() takes {width} fields, {len(args)} given")
        values = dict(zip(names, args))
        for name in kwargs:
            if name in values:
                raise TypeError(f"{type(self).__name__}() got {name!r} twice")
            if name not in specs:
                raise TypeError(f"{type(self).__name__}() has no field {name!r}")
        values.update(kwargs)
        for name in required:
            if name not in values:
                raise TypeError(f"{type(self).__name__}() is missing the field {name!r}")
        for name, spec in defaults:
            if name not in values:
                values[name] = (
                    spec.default if spec.default_factory is _MISSING else spec.default_factory()
                )
        return tuple(values[name] for name in names)

    return __init__


def _assign(instance: object, names: tuple[str, ...], values: tuple[Any, ...]) -> None:
    for name, value in zip(names, values):
        object.__setattr__(instance, name, value)


def _eq(names: tuple[str, ...]) -> Callable[[object, object], Any]:
    def __eq__(self: object, other: object) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in names)

    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[object], int]:
    def __hash__(self: object) -> int:
        return hash(tuple(getattr(self, name) for name in names))

    return __hash__


def _repr(names: tuple[str, ...]) -> Callable[[object], str]:
    def __repr__(self: object) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({shown})"

    return __repr__


def _refuse_change(self: object, name: str, *value: object) -> None:
    raise FrozenRecordError(f"cannot change field {name!r} of a frozen {type(self).__name__}")


def _replace(instance: Any, /, **changes: Any) -> Any:
    """A copy of ``instance`` with ``changes``, like :func:`dataclasses.replace`."""
    names = type(instance).__match_args__
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no field {sorted(unknown)[0]!r}")
    values = {name: getattr(instance, name) for name in names}
    values.update(changes)
    return type(instance)(**values)


if TYPE_CHECKING:  # what type checkers see: the real thing, checked as such
    from dataclasses import dataclass as record
    from dataclasses import field, replace
else:
    record, field, replace = _record, _field, _replace
