"""`__repr__` and `__eq__` for the package's dataclasses, written once.

`@dataclass` compiles every method it generates, in every process that imports the class:
about 0.1 ms each here. The repr and eq of the dataclasses `import selectools` defines were
7 % of the import (callgrind: 15M of 211M instructions). A class that is not frozen takes
these two instead:

    @dataclass(repr=False, eq=False)
    class AgentConfig(DataclassMethods): ...

and behaves as with dataclass's own: the repr shows the fields with `repr=True` by name
(`...` for a value that contains the instance itself), `==` compares the fields with
`compare=True` as one tuple, only between instances of the same class, and the class is
unhashable (as a dataclass with eq=True that is not frozen). A frozen dataclass keeps its
generated methods (its hash is made from its fields). tests/test_import_weight.py holds both
to the methods dataclass generates.
"""

from __future__ import annotations

import reprlib
from dataclasses import fields

#: An instance with no __init__ run, for a short path that stores the fields itself (held
#: to the class's own __init__ by a test where it is used).
new_object = object.__new__
#: `new_tuple(SomeNamedTuple, (every field))`: a NamedTuple made without its Python
#: __new__ (a generated function whose call costs a frame), for a value made on the hot
#: path with every field given in order.
new_tuple = tuple.__new__


class DataclassMethods:
    """A base for a dataclass made with `repr=False, eq=False`: dataclass's repr and eq."""

    __slots__ = ()
    #: The class that took these methods (the one with DataclassMethods among its own
    #: bases), whose fields they show and compare, as dataclass's generated methods do: a
    #: dataclass subclass made with repr=False or eq=False inherits its parent's methods,
    #: which read the parent's fields, not its own. (Set on each such class, inherited.)
    _fields_of: type

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if DataclassMethods in cls.__bases__:
            cls._fields_of = cls

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(f"{field.name}={getattr(self, field.name)!r}"
                          for field in fields(self._fields_of) if field.repr)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _compared(self) == _compared(other)

    # Defining __eq__ makes instances unhashable, as dataclass does for eq=True: said here
    # too, for readers and for type checkers.
    __hash__ = None  # type: ignore[assignment]


def _compared(instance: DataclassMethods) -> tuple[object, ...]:
    return tuple(getattr(instance, field.name)
                 for field in fields(instance._fields_of) if field.compare)
