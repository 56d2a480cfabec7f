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
:mod:`strategies.shifts` (E3's run-time FGSM shift and train-time AdaIN style), :mod:`strategies.defender` (defender and aggregator strategies),
:mod:`strategies.catalog` (the registries of architectures, defenses and
aggregators), :mod:`strategies.components` (what their entries and parameters
are), :mod:`strategies.triggers` (the trigger registry, make_triggers),
:mod:`strategies.trigger_generators` (Random-, Orthogonal-, Rotated- and
Patch-BadNet), :mod:`strategies.trigger_arrays` (the Triggers arrays),
:mod:`strategies.trigger_apply` (applying triggers, trigger distances),
:mod:`strategies.federated` (attacker strategies of the federated game),
:mod:`strategies.keys` (canonical JSON and content keys), :mod:`strategies.registry`
(one registry per concept, plug-ins), :mod:`strategies.validate` (field checks).
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
from .catalog import AGGREGATORS, ARCHITECTURES, DEFENSES, spectral_removal_count
from .components import ArchitectureSpec, ComponentSpec, ParamSpec, validate_params
from .defender import AggregatorStrategy, DefenderStrategy
from .keys import SCHEMA_VERSION, canonical_json, content_key
from .trigger_apply import apply_triggers, cosine_distances_to_first
from .trigger_arrays import Triggers
from .trigger_generators import (
    ORTHOGONAL_BASE_SEED,
    empty_triggers,
    orthogonal_badnet,
    patch_badnet,
    patch_side,
    random_badnet,
    rotated_badnet,
)
from .triggers import TRIGGERS, TriggerSpec, make_triggers, trigger_key

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
