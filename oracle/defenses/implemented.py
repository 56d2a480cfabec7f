"""Every defense the oracle trains with: backfire's own (:data:`IMPLEMENTED`), and a plug-in's
(the ``implementation`` its :class:`strategies.ComponentSpec` records, a
:class:`~oracle.defenses.interface.Defense` subclass). :func:`defense_for` builds the one a
defender strategy names."""

from __future__ import annotations

from oracle.defenses.augmentative import AdversarialTraining, CutMix, NoDefense
from oracle.defenses.interface import Defense
from oracle.defenses.removal import ActivationClustering, SpectralSignatures
from strategies import DEFENSES, DefenderStrategy

__all__ = ["IMPLEMENTED", "defense_class", "defense_for", "defense_key"]

#: backfire's own defenses by name (every name of :data:`strategies.DEFENSES` that is not a plug-in).
IMPLEMENTED: dict[str, type[Defense]] = {
    cls.spec.name: cls for cls in (NoDefense, CutMix, AdversarialTraining, SpectralSignatures, ActivationClustering)
}


def defense_class(name: str) -> type[Defense]:
    """The :class:`Defense` subclass of the defense ``name`` (a plug-in reference is loaded);
    NotImplementedError when the name is registered without an implementation."""
    cls = IMPLEMENTED.get(name) or DEFENSES[name].implementation
    if not (isinstance(cls, type) and issubclass(cls, Defense)):
        raise NotImplementedError(f"defense {name!r} has no implementation in the oracle (implemented: "
                                  f"{', '.join(IMPLEMENTED)}; a plug-in is a Defense subclass)")
    return cls


def defense_key(name: str) -> str:
    """The defense's name as result-cache keys hold it: ``name`` at version 1, ``"name@v<version>"``
    from version 2 on (:attr:`Defense.version`), as :func:`strategies.triggers.trigger_key` names triggers."""
    version = defense_class(name).version
    return name if version == 1 else f"{name}@v{version}"


def defense_for(strategy: DefenderStrategy) -> Defense:
    """The defense a defender strategy names, built with its parameters."""
    return defense_class(strategy.defense)(strategy.params_map)
