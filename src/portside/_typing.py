"""`NamedTuple` and `TYPE_CHECKING` for the modules every run loads, without importing `typing`.

Start-up is a feature: `typing` costs about 3 ms to import, and `typing.NamedTuple` compiles a
`ForwardRef` for every field (with `from __future__ import annotations` each annotation is a
string). The records made here are the same `collections.namedtuple` classes, with the class's
methods, docstring and defaults, and `__annotations__` kept as the strings they are. Type
checkers see `typing.NamedTuple` itself (mypy treats any `TYPE_CHECKING` as true).
"""

from __future__ import annotations

__all__ = ["TYPE_CHECKING", "NamedTuple"]

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from collections import namedtuple

    # What typing.NamedTuple refuses to let a class body define, and what it does not copy onto the record.
    _PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"})
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _RecordMaker(type):
        """Turns `class Name(NamedTuple): field: type = default ...` into a `collections.namedtuple`."""

        def __new__(cls, name, bases, namespace):
            fields = dict(namespace.get("__annotations__", {}))
            defaults = []
            for field in fields:
                if field in namespace:
                    defaults.append(namespace[field])
                elif defaults:
                    raise TypeError(f"Non-default namedtuple field {field} cannot follow default field"
                                    f"{'s' if len(defaults) > 1 else ''} {', '.join(fields)}")
            record = namedtuple(name, fields, defaults=defaults, module=namespace["__module__"])
            record.__annotations__ = fields
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"Cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in fields:
                    setattr(record, key, value)
            return record

    NamedTuple = type.__new__(_RecordMaker, "NamedTuple", (), {})
