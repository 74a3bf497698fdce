"""Whether moto's internals are there in the shape a patch of ``moto_patches`` expects.

The harness accepts any moto 5 (a project's tests usually pin a moto of their own), while its
patches replace or call functions that moto does not promise to keep. Each patch names what it
touches through these checks, which answer with the problem in a few words, or None, without
calling anything of moto's: a function's parameters are read with ``inspect``, the attributes an
object gets from the names its constructor's code assigns.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from typing import Any


def find(path: str) -> Any:
    """``module:Attr.attr`` -> that object; LookupError naming what is missing."""
    module_name, _, attrs = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError:
        raise LookupError(f"{module_name} is missing") from None
    for attr in attrs.split(".") if attrs else ():
        if not hasattr(found, attr):
            raise LookupError(f"{path} is missing")
        found = getattr(found, attr)
    return found


def present(path: str) -> str | None:
    """None when ``path`` names something."""
    try:
        find(path)
    except LookupError as exc:
        return str(exc)
    return None


def accepts(path: str, *args: Any, **kwargs: Any) -> str | None:
    """None when the callable at ``path`` can be called with these arguments."""
    try:
        inspect.signature(find(path)).bind(*args, **kwargs)
    except LookupError as exc:
        return str(exc)
    except (TypeError, ValueError):
        return f"{path} takes other arguments"
    return None


def takes_exactly(path: str, *names: str) -> str | None:
    """None when the function at ``path`` has exactly these parameters (one it replaces)."""
    try:
        found = tuple(inspect.signature(find(path)).parameters)
    except LookupError as exc:
        return str(exc)
    except (TypeError, ValueError):
        found = ()
    return None if found == names else f"{path} takes other arguments"


def sets(path: str, *attributes: str) -> str | None:
    """None when the function at ``path`` (a constructor) assigns each of ``attributes``."""
    try:
        code = getattr(find(path), "__code__", None)
    except LookupError as exc:
        return str(exc)
    missing = [name for name in attributes if code is None or name not in code.co_names]
    return f"{path} does not set {', '.join(missing)}" if missing else None


def version() -> str:
    """The installed moto's version."""
    try:
        return importlib.metadata.version("moto")
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(find("moto"), "__version__", "(unknown version)"))
