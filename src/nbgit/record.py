"""`Record`: a tuple with named fields, defaults and `_replace`, as `collections.namedtuple` makes them.

git starts textconv once per notebook blob, and textconv's quick path builds nbgit.render's views.
`typing.NamedTuple` would import typing (and re, enum: about 8 ms a process); `collections.namedtuple`
imports collections and compiles each class's constructor: about 2.5 ms a process, an eighth of one.
A Record costs neither. Equality, hashing, ordering and unpacking are the tuple's.

    class Point(Record):
        __slots__ = ()
        x: int
        y: int = 0
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Self


class Record(tuple):  # type: ignore[type-arg]
    """A tuple whose items are also attributes: the fields the subclass annotates, in order, with their defaults."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _defaults: dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(cls.__annotations__)
        cls._defaults = {name: cls.__dict__[name] for name in cls._fields if name in cls.__dict__}
        for index, name in enumerate(cls._fields):
            setattr(cls, name, property(_item(index), doc=f"item {index} of the record"))

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        if len(args) > len(cls._fields):
            raise TypeError(f"{cls.__name__}() takes {len(cls._fields)} arguments, not {len(args)}")
        values = list(args)
        for name in cls._fields[len(args) :]:
            if name in kwargs:
                values.append(kwargs.pop(name))
            elif name in cls._defaults:
                values.append(cls._defaults[name])
            else:
                raise TypeError(f"{cls.__name__}() misses its argument {name!r}")
        if kwargs:
            raise TypeError(f"{cls.__name__}() has no field {sorted(kwargs)[0]!r}")
        return tuple.__new__(cls, values)

    def _replace(self, **changes: Any) -> Self:
        """A copy with the named fields changed."""
        unknown = changes.keys() - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        return tuple.__new__(type(self), [changes.get(name, value) for name, value in zip(self._fields, self)])

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{name}={value!r}' for name, value in zip(self._fields, self))})"


def _item(index: int) -> Callable[[Record], Any]:
    return lambda record: record[index]
