"""What players can do: attacker and defender actions and strategies, and the
paper's trigger generators. numpy/scipy/stdlib/tomli_w only; never torch.

>>> from strategies import AttackerStrategy, DefenderStrategy
>>> s = AttackerStrategy.coordinate_label(label=4, fraction=0.4, others=(2, 6, 8))
>>> [a.target for a in s.expand(5, num_classes=10)]
[2, 4, 4, 6, 8]
>>> d = DefenderStrategy("resnet18", "spectral-signatures")
>>> len(d.key())
64

Modules: :mod:`strategies.actions` (one attacker's action),
:mod:`strategies.population` (population and mixed attacker strategies),
:mod:`strategies.policies` (label policies, escalation),
:mod:`strategies.shifts` (E3's run-time FGSM shift and train-time AdaIN style), :mod:`strategies.defender` (defender strategy and the registries
of architectures, defenses and aggregators), :mod:`strategies.triggers`
(Random-, Orthogonal- and Patch-BadNet, applying triggers, trigger
distances), :mod:`strategies.keys` (canonical JSON and content keys).
"""

from .validate import DEFAULT_SEED, round_half_up
from .actions import AttackerAction
from .policies import (
    PAPER_LABELS,
    CoordinatedLabels,
    Escalation,
    FixedLabels,
    LabelPolicy,
    RandomLabels,
    label_policy_from_dict,
)
from .population import AttackerStrategy, MixedAttackerStrategy, attacker_strategy_from_dict
from .shifts import SHIFTS, STYLES
from .defender import (
    AGGREGATORS,
    ARCHITECTURES,
    DEFENSES,
    AggregatorStrategy,
    ArchitectureSpec,
    ComponentSpec,
    DefenderStrategy,
    ParamSpec,
    spectral_removal_count,
    validate_params,
)
from .keys import SCHEMA_VERSION, canonical_json, content_key
from .triggers import (
    ORTHOGONAL_BASE_SEED,
    TRIGGERS,
    TriggerSpec,
    Triggers,
    apply_triggers,
    cosine_distances_to_first,
    empty_triggers,
    make_triggers,
    orthogonal_badnet,
    patch_badnet,
    patch_side,
    random_badnet,
    rotated_badnet,
    trigger_key,
)

__all__ = [
    "AGGREGATORS",
    "ARCHITECTURES",
    "DEFAULT_SEED",
    "DEFENSES",
    "ORTHOGONAL_BASE_SEED",
    "PAPER_LABELS",
    "SHIFTS",
    "STYLES",
    "SCHEMA_VERSION",
    "TRIGGERS",
    "AggregatorStrategy",
    "ArchitectureSpec",
    "AttackerAction",
    "AttackerStrategy",
    "ComponentSpec",
    "CoordinatedLabels",
    "DefenderStrategy",
    "Escalation",
    "FixedLabels",
    "LabelPolicy",
    "MixedAttackerStrategy",
    "ParamSpec",
    "RandomLabels",
    "TriggerSpec",
    "Triggers",
    "apply_triggers",
    "attacker_strategy_from_dict",
    "canonical_json",
    "content_key",
    "cosine_distances_to_first",
    "empty_triggers",
    "label_policy_from_dict",
    "make_triggers",
    "orthogonal_badnet",
    "patch_badnet",
    "patch_side",
    "random_badnet",
    "rotated_badnet",
    "round_half_up",
    "spectral_removal_count",
    "trigger_key",
    "validate_params",
]
