"""The trigger registry: the trigger names an attacker action may use (Datta &
Shadbolt, *Backdoors Stuck at the Frontdoor*, App. 6.1.8), and the triggers
of a list of attacker actions. numpy and scipy only; never torch.

:data:`TRIGGERS` is the registry of trigger names an attacker action may use;
:func:`make_triggers` builds the triggers of a list of attacker actions;
:func:`trigger_key` is the versioned name under which a trigger enters
content keys (a trigger whose construction changed gets a new version, so
cached results of the old construction are not reused).

Where the rest lives: :mod:`strategies.trigger_arrays` (:class:`Triggers`,
the arrays, and the notation), :mod:`strategies.trigger_generators`
(Random-, Orthogonal-, Rotated- and Patch-BadNet, and the reproduction of the
paper's Table 3), :mod:`strategies.trigger_apply` (:func:`apply_triggers`,
:func:`cosine_distances_to_first`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .registry import Registry
from .trigger_arrays import Triggers, check_image_shape
from .trigger_generators import empty_triggers, orthogonal_badnet, patch_badnet, random_badnet, rotated_badnet

__all__ = ["TRIGGERS", "TriggerSpec", "make_triggers", "trigger_key"]


@dataclass(frozen=True)
class TriggerSpec:
    """A trigger name an attacker action may use.

    ``generator(seeds, eps, image_shape) -> Triggers`` builds the pixel
    trigger (one row per attacker: ``seeds[k]`` and ``eps[k]`` are attacker
    k's; :meth:`Triggers` holds masks and patterns); ``pixel`` is False where
    the attack has no pixel trigger (the data-poisoning oracle needs one).
    ``version`` counts changes of the construction behind the name; it
    enters content keys through :func:`trigger_key`.
    """

    name: str
    description: str
    generator: Callable[..., Triggers]
    pixel: bool = True
    version: int = 1


#: The trigger registry (:mod:`strategies.registry`; a plug-in is a :class:`TriggerSpec`), in the
#: order error messages list the names.
TRIGGERS: Registry[TriggerSpec] = Registry(
    "trigger", TriggerSpec,
    (
        TriggerSpec(
            "random-badnet",
            "Random-BadNet (paper App. 6.1.8): each attacker's own random shape "
            "of density eps and random colours, seeded by its index",
            random_badnet,
        ),
        TriggerSpec(
            "orthogonal-badnet",
            "Orthogonal-BadNet (paper App. 6.1.8): a shared base random trigger "
            "blended in as x*(1 - z*o_i) + m*z*o_i with attacker i's seeded Haar "
            "orthogonal matrix o_i; stays inside the base shape z",
            orthogonal_badnet,
            version=2,  # 1: the matrix-product construction, now rotated-badnet
        ),
        TriggerSpec(
            "rotated-badnet",
            "a shared base random trigger whose columns are rotated per attacker by a "
            "seeded Haar orthogonal matrix, clip(Q_i @ base, 0, 255): dense and strong",
            rotated_badnet,
        ),
        TriggerSpec(
            "patch-badnet",
            "BadNet's classic white square in the bottom-right corner, side "
            "round(sqrt(eps*H*W))",
            patch_badnet,
        ),
        TriggerSpec(
            "clean-label",
            "clean-label backdoor (Turner et al., 2019): the attacker's Random-BadNet "
            "trigger; the oracle adds the PGD perturbation and keeps the clean labels",
            random_badnet,
        ),
        TriggerSpec(
            "edge-case",
            "edge-case backdoor (Wang et al., 2020): no pixel trigger; the oracle "
            "supplies the edge-case inputs (Southwest planes, ARDIS sevens)",
            empty_triggers,
            pixel=False,
        ),
    ),
)


def trigger_key(name: str) -> str:
    """The name under which trigger ``name`` enters content keys: the name
    itself at version 1 (so keys made before versions existed stay valid),
    ``"name@v<version>"`` from version 2 on.

    >>> trigger_key("random-badnet"), trigger_key("orthogonal-badnet")
    ('random-badnet', 'orthogonal-badnet@v2')
    """
    version = TRIGGERS[name].version
    return name if version == 1 else f"{name}@v{version}"


def make_triggers(actions: Sequence[Any], image_shape: Sequence[int]) -> Triggers:
    """The triggers of a list of attacker actions: row ``k`` is ``actions[k]``.

    Each action needs ``trigger`` (a :data:`TRIGGERS` name), ``eps`` and
    ``trigger_seed`` (see :class:`strategies.AttackerAction`). Actions with
    different trigger names may be mixed; each name's generator runs once on
    its group. With actions from ``AttackerStrategy.expand``, row ``k`` is
    attacker ``k``.
    """
    from .validate import check_name

    h, w, c = check_image_shape(image_shape)
    n = len(actions)
    masks = np.zeros((n, h, w), dtype=np.uint8)
    patterns = np.zeros((n, h, w, c), dtype=np.float64)
    alpha = np.zeros((n, h, w), dtype=np.float64)
    blended = False
    groups: dict[str, list[int]] = {}
    for k, a in enumerate(actions):
        groups.setdefault(check_name("trigger", a.trigger, TRIGGERS), []).append(k)
    if len(groups) == 1:
        (name,) = groups
        return TRIGGERS[name].generator(
            [a.trigger_seed for a in actions], [a.eps for a in actions], (h, w, c)
        )
    for name, rows in groups.items():
        t = TRIGGERS[name].generator(
            [actions[k].trigger_seed for k in rows],
            [actions[k].eps for k in rows],
            (h, w, c),
        )
        masks[rows] = t.masks
        patterns[rows] = t.patterns
        alpha[rows] = t.weights
        blended |= t.alpha is not None
    return Triggers._trusted(masks, patterns, alpha if blended else None)
