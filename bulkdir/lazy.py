"""A package's public names imported on first use (PEP 562): importing the package costs next to nothing,
and a command loads only the modules whose names it uses."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_names(package: str, home_of: dict[str, str],
               namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of a package whose names live in its modules (`home_of`: name -> the
    module): a name's module is imported when the name is first asked for, and the name is then kept in
    `namespace`, the package's globals, for next time.

    >>> getattr_, dir_ = lazy_names("pkg", {"sqrt": "math"}, namespace := {})
    >>> getattr_("sqrt")(9.0), "sqrt" in namespace, dir_()
    (3.0, True, ['sqrt'])
    """

    def __getattr__(name: str) -> Any:
        if name not in home_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = namespace[name] = getattr(importlib.import_module(home_of[name]), name)
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home_of})

    return __getattr__, __dir__
