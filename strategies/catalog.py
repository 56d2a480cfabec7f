"""The registries of the defender's side: victim architectures, defenses and
federated aggregators, with their parameters and ranges. Names only; the
implementations live in ``oracle/`` (a plug-in brings its own).

Datta & Shadbolt §4.1 / App. 6.2.3 (E2, architectures) and §6.2.6 (E5,
defenses: CutMix, backdoor adversarial training, spectral signatures,
activation clustering); Wang et al., *Attack of the Tails*, §4 (norm-difference
clipping, Krum, Multi-Krum, RFA, weak differential privacy).
"""

from __future__ import annotations

from typing import Any, Mapping

from .components import ArchitectureSpec, ComponentSpec, ParamSpec
from .registry import Registry
from .validate import DEFAULT_SEED, SEED_MAX, check_int, round_half_up

__all__ = ["AGGREGATORS", "ARCHITECTURES", "DEFENSES", "spectral_removal_count"]


def _real(name, default, low=None, high=None, low_open=False, high_open=False, doc=""):
    return ParamSpec(name, "real", default, low, high, low_open, high_open, (), doc)


def _int(name, default, low=None, high=None, doc=""):
    return ParamSpec(name, "int", default, low, high, doc=doc)


def _choice(name, default, choices, doc=""):
    return ParamSpec(name, "choice", default, choices=tuple(choices), doc=doc)


#: Victim architectures (paper E2; Attack of the Tails for vgg9 and lenet).
ARCHITECTURES: Registry[ArchitectureSpec] = Registry(
    "architecture", ArchitectureSpec,
    (
        ArchitectureSpec("smallcnn", "SmallCNN, channels 16/32/32 (Fort et al., 2020), E6"),
        ArchitectureSpec("resnet9", "ResNet-9 (DAWNBench, myrtle.ai)"),
        ArchitectureSpec("resnet20", "ResNet-20 (He et al., 2016, CIFAR), a batch-norm ResNet a CPU trains"),
        ArchitectureSpec("resnet18", "ResNet-18 (He et al., 2015), the paper's default"),
        ArchitectureSpec("resnet34", "ResNet-34"),
        ArchitectureSpec("resnet50", "ResNet-50"),
        ArchitectureSpec("resnet101", "ResNet-101"),
        ArchitectureSpec("resnet152", "ResNet-152"),
        ArchitectureSpec("wide-resnet50-2", "Wide ResNet-50-2 (Zagoruyko & Komodakis, 2016)"),
        ArchitectureSpec("wide-resnet101-2", "Wide ResNet-101-2"),
        ArchitectureSpec("vgg11-bn", "VGG-11 with batch norm (Simonyan & Zisserman, 2015)"),
        ArchitectureSpec("vgg9", "VGG-9 without batch norm (Attack of the Tails, CIFAR-10 task)"),
        ArchitectureSpec("lenet", "LeNet (Attack of the Tails, digit task)"),
    ),
)

_SPECTRAL_REMOVALS = ("per-attacker", "fixed", "fraction")


def _spectral_rule(params: Mapping[str, Any]) -> None:
    has_fraction = "remove_fraction" in params
    if params["removal"] == "fraction" and not has_fraction:
        raise ValueError(
            "defense 'spectral-signatures': removal='fraction' needs remove_fraction "
            "in (0, 1)"
        )
    if params["removal"] != "fraction" and has_fraction:
        raise ValueError(
            f"defense 'spectral-signatures': remove_fraction is only used with "
            f"removal='fraction', not removal={params['removal']!r}"
        )


#: Defenses (paper E5). Names only; ``oracle`` implements them.
DEFENSES: Registry[ComponentSpec] = Registry(
    "defense", ComponentSpec,
    (
        ComponentSpec("none", "no defense: train on the pooled data as is"),
        ComponentSpec(
            "cutmix",
            "CutMix per batch (Yun et al., 2019) on part of the defender's data",
            (
                _real("alpha", 1.0, 0.0, None, low_open=True,
                      doc="Beta(alpha, alpha) of the mixing ratio"),
                _real("augment_fraction", 0.5, 0.0, 1.0, low_open=True,
                      doc="share of the defender's data used for augmentation"),
            ),
            augmentative=True,
        ),
        ComponentSpec(
            "adversarial-training",
            "backdoor adversarial training: the defender adds its own BadNet-"
            "triggered inputs with their clean labels",
            (
                _real("eps", 0.4, 0.0, 1.0, low_open=True, doc="perturbation rate of its triggers"),
                _real("p", 0.4, 0.0, 1.0, low_open=True, doc="poison rate of its augmentation"),
                _int("n_triggers", 20, 1, doc="number of different triggers"),
                _choice("trigger", "random-badnet",
                        ("random-badnet", "orthogonal-badnet", "rotated-badnet", "patch-badnet"),
                        doc="generator of its triggers"),
                _real("augment_fraction", 0.5, 0.0, 1.0, low_open=True,
                      doc="share of the defender's data used for augmentation"),
                _int("seed", DEFAULT_SEED, 0, SEED_MAX, doc="seed of the defender's own triggers"),
            ),
            augmentative=True,
        ),
        ComponentSpec(
            "spectral-signatures",
            "spectral signatures (Tran et al., 2018): per class, remove the inputs "
            "with the largest projection on the top singular vector of the centred "
            "penultimate features, then retrain",
            (
                _int("k_per_class", 5, 1, doc="inputs removed per class (per attacker with "
                     "removal='per-attacker')"),
                _choice("removal", "per-attacker", _SPECTRAL_REMOVALS,
                        doc="per-attacker: k_per_class * N per class (paper: 5 for N=1, "
                        "500 for N=100); fixed: k_per_class; fraction: remove_fraction "
                        "of each class"),
                _real("remove_fraction", None, 0.0, 1.0, low_open=True, high_open=True,
                      doc="share of each class removed, with removal='fraction'"),
            ),
            rule=_spectral_rule,
        ),
        ComponentSpec(
            "activation-clustering",
            "activation clustering (Chen et al., 2018): per class, ICA of the "
            "penultimate activations, k-means, then exclusionary reclassification",
            (
                _int("n_components", 10, 1, doc="ICA components"),
                _int("n_clusters", 2, 2, doc="k-means clusters per class"),
                _real("reclassification_threshold", 1.0, 0.0, None, low_open=True,
                      doc="a cluster is kept when l/p > threshold, l = its inputs "
                      "classified as their label by a model trained without it, p = the "
                      "largest count of any other class (Chen et al.'s T)"),
            ),
        ),
    ),
)

#: Federated aggregators (Attack of the Tails). Names and parameters only,
#: for the federated simulation.
AGGREGATORS: Registry[ComponentSpec] = Registry(
    "aggregator", ComponentSpec,
    (
        ComponentSpec("fedavg", "federated averaging, weighted by data count"),
        ComponentSpec(
            "norm-clipping",
            "norm-difference clipping: clip ||w_client - w_global|| to bound",
            (_real("bound", 2.0, 0.0, None, low_open=True, doc="CIFAR-10 2, digits 1.5"),),
        ),
        ComponentSpec(
            "krum",
            "Krum: the update with the least sum of squared distances to its n - f - 2 nearest",
            (_int("f", 1, 0, doc="assumed number of attackers"),),
        ),
        ComponentSpec(
            "multi-krum",
            "Multi-Krum: average of the m best Krum scores, weighted by data count",
            (
                _int("f", 1, 0, doc="assumed number of attackers"),
                _int("m", None, 1, doc="updates kept; default n - f"),
            ),
        ),
        ComponentSpec(
            "rfa",
            "RFA: smoothed Weiszfeld geometric median",
            (
                _int("max_iter", 500, 1),
                _real("eps", 1e-5, 0.0, None, low_open=True, doc="smoothing"),
                _real("ftol", 1e-7, 0.0, None, low_open=True, doc="stopping tolerance"),
            ),
        ),
        ComponentSpec(
            "weak-dp",
            "weak differential privacy: norm clipping, then Gaussian noise on the aggregate",
            (
                _real("bound", 2.0, 0.0, None, low_open=True),
                _real("noise_std", 0.025, 0.0, None),
            ),
        ),
        ComponentSpec("median", "coordinate-wise median"),
        ComponentSpec(
            "trimmed-mean",
            "coordinate-wise trimmed mean",
            (_real("beta", 0.1, 0.0, 0.5, high_open=True,
                   doc="share trimmed at each end"),),
        ),
    ),
)


def spectral_removal_count(
    params: Mapping[str, Any], n_attackers: int, class_size: int
) -> int:
    """Inputs the spectral-signatures defense removes from one class.

    * ``per-attacker``: ``k_per_class · N`` (the paper: top 5 for N = 1,
      scaled to top 500 for N = 100);
    * ``fixed``: ``k_per_class``;
    * ``fraction``: ``round_half_up(remove_fraction · class_size)``;

    never more than ``class_size``.
    """
    n_attackers = check_int("n_attackers", n_attackers, 1)
    class_size = check_int("class_size", class_size, 0)
    removal = params["removal"]
    if removal == "per-attacker":
        k = params["k_per_class"] * n_attackers
    elif removal == "fixed":
        k = params["k_per_class"]
    else:
        k = round_half_up(params["remove_fraction"] * class_size)
    return min(k, class_size)
