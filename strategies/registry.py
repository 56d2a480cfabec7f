"""One registry per concept, and plug-ins: a user's own trigger, defense, architecture, aggregator or
dataset, named in a spec as ``"package.module:Name"``.

A :class:`Registry` maps names to entries of one kind (a :class:`~strategies.triggers.TriggerSpec`,
a :class:`~strategies.components.ComponentSpec`, …). backfire registers its own entries when the
registry is built; a user adds one

- from Python: ``REGISTRY.register(entry)`` (under ``entry.name``), or
- from a spec, with no code run beforehand: the name ``"package.module:Name"`` (a *plug-in
  reference*). The first lookup imports ``package.module``, takes its attribute ``Name``
  (dots walk nested attributes) and registers it under the reference itself, so the reference
  is the name the spec, the cache key and every report use.

The attribute is either an entry of the registry's kind, or an implementation that carries one
as its ``spec`` attribute (e.g. a defense class or a model class with ``spec = ComponentSpec(...)``);
the entry then records that implementation (``entry.implementation``). Anything else is refused
in one line naming what was found. docs/plugins.md walks through one plug-in of each kind.

Registries are torch-free (entries are plain data plus callables): specs validate without torch;
only a plug-in's own module may import it.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["PLUGIN_REFERENCE", "Registry", "is_reference", "load_reference"]

T = TypeVar("T")

#: ``package.module:Name`` (``Name`` may be dotted: ``module:Class.attribute``).
PLUGIN_REFERENCE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def is_reference(name: Any) -> bool:
    """Whether ``name`` is a plug-in reference ``package.module:Name``."""
    return isinstance(name, str) and PLUGIN_REFERENCE.match(name) is not None


def load_reference(reference: str) -> Any:
    """The object a plug-in reference names (imports its module); ValueError in one line otherwise."""
    if not is_reference(reference):
        raise ValueError(f"{reference!r} is not a plug-in reference: allowed 'package.module:Name'")
    module_name, _, attribute = reference.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"plug-in {reference!r}: cannot import {module_name} ({exc})") from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"plug-in {reference!r}: {module_name} has no attribute {attribute!r}") from None
    return obj


class Registry(Mapping[str, T], Generic[T]):
    """Entries of one ``kind`` by name (module docstring); a read-only mapping plus :meth:`register`.

    ``concept`` names the concept in errors ("defense"); ``plural`` its plural.
    """

    def __init__(self, concept: str, kind: type, entries: Any = (), *, plural: str | None = None) -> None:
        self.concept = concept
        self.plural = plural or concept + "s"
        self.kind = kind
        self._entries: dict[str, T] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: Any, name: str | None = None) -> T:
        """Add ``entry`` (an entry of this kind, or an implementation with one as ``spec``) under
        ``name`` (default: the entry's name). Registering a different entry under a taken name raises."""
        entry = self._as_entry(entry, name or getattr(entry, "name", None) or "?")
        name = name or entry.name  # type: ignore[attr-defined]
        held = self._entries.get(name)
        if held is not None and held is not entry and held != entry:
            raise ValueError(f"{self.concept} {name!r} is already registered (as {held!r})")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (e.g. a plug-in a test registered); unknown names are ignored."""
        self._entries.pop(name, None)

    def _as_entry(self, obj: Any, where: str) -> T:
        if isinstance(obj, self.kind):
            return obj
        spec = getattr(obj, "spec", None)
        if isinstance(spec, self.kind):
            if dataclasses.is_dataclass(spec) and "implementation" in {f.name for f in dataclasses.fields(spec)}:
                return dataclasses.replace(spec, implementation=obj)  # type: ignore[return-value]
            return spec
        raise ValueError(f"{self.concept} {where!r} is a {type(obj).__name__}, not a {self.kind.__name__} "
                         f"(nor an object with one as its 'spec' attribute)")

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            pass
        if not is_reference(name):
            raise KeyError(name)
        return self.register(self._as_entry(load_reference(name), name), name)

    def __contains__(self, name: object) -> bool:
        """Registered, or a plug-in reference that loads (a broken one: False; ``registry[name]`` says why)."""
        try:
            self[name]  # type: ignore[index]
        except (KeyError, ValueError):
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.concept!r}: {', '.join(self._entries)})"
