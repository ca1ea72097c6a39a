"""Import functions from a folder of modules that import each other by plain name.

Used by the sandboxed child for a submission, and in the grader's own process for
the trusted reference (``harness.cases.reference``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def import_module_file(path: Path, name: str) -> ModuleType:
    """Import ``path`` as module ``name`` (registered in sys.modules, so plain imports share it)."""
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # not a path Python can import from
        raise ImportError(f"cannot import {path} as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_isolated(folder: Path, names: list[str]) -> dict[str, Any]:
    """Load functions by name from ``folder`` without leaving its modules in ``sys.modules``.

    For trusted code in the grader's process: the folder's plain-named modules (``utils``,
    ``relu``) are imported, their functions taken, and sys.modules and sys.path restored,
    so that another folder with the same module names can be loaded next.
    """
    folder = Path(folder).resolve()
    saved_modules = dict(sys.modules)
    saved_path = list(sys.path)
    for path in folder.glob("*.py"):  # other folders' same-named modules must not be reused
        sys.modules.pop(path.stem, None)
    sys.path.insert(0, str(folder))
    try:
        found = {}
        for path in sorted(folder.glob("*.py")):
            module = import_module_file(path, path.stem)
            for name in names:
                if name not in found and callable(getattr(module, name, None)):
                    found[name] = getattr(module, name)
        return found
    finally:
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            # Forget the folder's own modules; keep libraries they imported (numpy...).
            if name not in saved_modules and str(getattr(module, "__file__", "") or "").startswith(
                str(folder)
            ):
                del sys.modules[name]
        sys.modules.update(saved_modules)
