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


def resolve(module: ModuleType, name: str) -> Any:
    """``name`` in ``module``: a function, or for ``Class.method`` the class (when it has that
    method); None when it is not there."""
    head, _, method = name.partition(".")
    obj = getattr(module, head, None)
    if method:
        return obj if isinstance(obj, type) and callable(getattr(obj, method, None)) else None
    return obj if callable(obj) else None


def module_name(file: str) -> str:
    """The import name of a submission file: ``layers/conv_layer.py`` -> ``layers.conv_layer``."""
    return Path(file).with_suffix("").as_posix().replace("/", ".")


def import_file(folder: Path, file: str) -> ModuleType:
    """Import a submission file by its import name (``layers.conv_layer``).

    A package's ``__init__`` is not run for it: it imports every module of the package, and
    one broken module must spoil only its own functions. The package is registered empty
    (its ``__path__`` set), so the module's own ``from layers.x import y`` still works.
    """
    name = module_name(file)
    parts = name.split(".")
    for i in range(1, len(parts)):
        pkg = ".".join(parts[:i])
        if pkg not in sys.modules:
            module = ModuleType(pkg)
            module.__path__ = [str(Path(folder, *parts[:i]))]
            sys.modules[pkg] = module
    return import_module_file(Path(folder) / file, name)


def load_isolated(folder: Path, names: list[str], modules: dict[str, str] | None = None) -> dict[str, Any]:
    """Load functions by name from ``folder`` without leaving its modules in ``sys.modules``.

    For trusted code in the grader's process: the folder's plain-named modules (``utils``,
    ``relu``) are imported, their functions taken, and sys.modules and sys.path restored,
    so that another folder with the same module names can be loaded next. ``modules`` maps
    a name to its dotted module where that is in a package (``layers.conv_layer``).
    """
    folder = Path(folder).resolve()
    saved_modules = dict(sys.modules)
    saved_path = list(sys.path)
    packages = {m.split(".")[0] for m in (modules or {}).values() if "." in m}
    for name in list(sys.modules):  # other folders' same-named modules must not be reused
        if name in packages or name.split(".")[0] in packages:
            del sys.modules[name]
    for path in folder.glob("*.py"):
        sys.modules.pop(path.stem, None)
    sys.path.insert(0, str(folder))
    try:
        found: dict[str, Any] = {}
        for path in sorted(folder.glob("*.py")):
            module = import_module_file(path, path.stem)
            for name in names:
                if name not in found and resolve(module, name) is not None:
                    found[name] = resolve(module, name)
        for name in names:
            dotted = (modules or {}).get(name, "")
            if name not in found and "." in dotted:
                obj = resolve(import_file(folder, dotted.replace(".", "/") + ".py"), name)
                if obj is not None:
                    found[name] = obj
        return found
    finally:
        sys.path[:] = saved_path
        for name, module in list(sys.modules.items()):
            # Forget the folder's own modules; keep libraries they imported (numpy...).
            if name not in saved_modules and (
                str(getattr(module, "__file__", "") or "").startswith(str(folder))
                or name.split(".")[0] in packages
            ):
                del sys.modules[name]
        sys.modules.update(saved_modules)
