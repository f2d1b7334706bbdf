"""Package exports loaded on first use.

Pages that only read tables must not pay for scikit-learn or TensorFlow at import time,
so each subpackage names its exports here and imports the module behind one only when
it is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """Return a module ``__getattr__`` and ``__all__`` for ``{name: submodule}``."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        submodule = exports[name]
        module = importlib.import_module(f"{package}.{submodule}")
        parent = importlib.import_module(package)
        setattr(parent, name, getattr(module, name))
        if exports.get(submodule) == submodule:
            # Importing ``tabular.prepare`` made the package attribute ``prepare`` that
            # module; the export of that name (the function) must win.
            setattr(parent, submodule, getattr(module, submodule))
        return getattr(parent, name)

    return __getattr__, sorted(exports)
