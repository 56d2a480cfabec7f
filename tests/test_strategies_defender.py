"""Defender strategies, the registries of names, content keys, and the
package's import rule (strategies.defender, catalog, components, keys)."""

from __future__ import annotations

import ast
import dataclasses
import json
import pathlib
import subprocess
import sys

import pytest

from strategies import (
    AGGREGATORS,
    ARCHITECTURES,
    DEFENSES,
    AggregatorStrategy,
    DefenderStrategy,
    canonical_json,
    content_key,
    spectral_removal_count,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_registries_hold_the_papers_names():
    assert list(ARCHITECTURES) == [
        "smallcnn", "resnet9", "resnet20", "resnet18", "resnet34", "resnet50", "resnet101",
        "resnet152", "wide-resnet50-2", "wide-resnet101-2", "vgg11-bn", "vgg9", "lenet",
    ]
    assert list(DEFENSES) == [
        "none", "cutmix", "adversarial-training", "spectral-signatures",
        "activation-clustering",
    ]
    assert list(AGGREGATORS) == [
        "fedavg", "norm-clipping", "krum", "multi-krum", "rfa", "weak-dp", "median",
        "trimmed-mean",
    ]
    assert DEFENSES["cutmix"].augmentative and not DEFENSES["spectral-signatures"].augmentative
    for spec in list(DEFENSES.values()) + list(AGGREGATORS.values()):
        for p in spec.params:
            assert p.describe().startswith(p.name + ":")


def test_defaults_are_filled_in():
    d = DefenderStrategy("resnet18", "adversarial-training")
    assert dict(d.params_map) == {
        "eps": 0.4, "p": 0.4, "n_triggers": 20, "trigger": "random-badnet",
        "augment_fraction": 0.5, "seed": 3407,
    }
    assert DefenderStrategy("resnet18", "cutmix") == DefenderStrategy(
        "resnet18", "cutmix", {"alpha": 1, "augment_fraction": 0.5}
    )
    assert DefenderStrategy().to_dict() == {"architecture": "resnet18", "defense": "none"}
    ac = DefenderStrategy("smallcnn", "activation-clustering").params_map
    assert (ac["n_components"], ac["n_clusters"], ac["reclassification_threshold"]) == (10, 2, 1.0)
    assert DefenderStrategy(defense="spectral-signatures").params_map["k_per_class"] == 5


def test_params_are_sorted_pairs_and_read_only():
    d = DefenderStrategy("resnet18", "cutmix", {"augment_fraction": 0.25, "alpha": 0.5})
    assert d.params == (("alpha", 0.5), ("augment_fraction", 0.25))
    with pytest.raises(TypeError):
        d.params_map["alpha"] = 2.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.defense = "none"  # type: ignore[misc]
    assert hash(d) == hash(DefenderStrategy("resnet18", "cutmix", (("alpha", 0.5), ("augment_fraction", 0.25))))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: DefenderStrategy("resnet18", "foo"),
         r"unknown defense 'foo': known defenses are none, cutmix, adversarial-training, "
         r"spectral-signatures, activation-clustering"),
        (lambda: DefenderStrategy("resnet-18"),
         r"unknown architecture 'resnet-18': known architectures are smallcnn, resnet9, resnet20, "
         r"resnet18, .*lenet"),
        (lambda: DefenderStrategy("resnet18", "cutmix", {"alpha": 0}),
         r"cutmix.alpha=0 is out of range: allowed \(0, inf\)"),
        (lambda: DefenderStrategy("resnet18", "cutmix", {"augment_fraction": 1.5}),
         r"cutmix.augment_fraction=1.5 is out of range: allowed \(0, 1\]"),
        (lambda: DefenderStrategy("resnet18", "cutmix", {"beta": 1.0}),
         r"unknown parameter\(s\) 'beta' for defense 'cutmix': allowed parameters are "
         r"alpha, augment_fraction"),
        (lambda: DefenderStrategy("resnet18", "none", {"alpha": 1.0}),
         r"unknown parameter\(s\) 'alpha' for defense 'none': allowed parameters are none"),
        (lambda: DefenderStrategy("resnet18", "adversarial-training", {"n_triggers": 0}),
         r"adversarial-training.n_triggers=0 is out of range: allowed \[1, inf\)"),
        (lambda: DefenderStrategy("resnet18", "adversarial-training", {"n_triggers": 2.5}),
         r"adversarial-training.n_triggers=2.5 is not an integer"),
        (lambda: DefenderStrategy("resnet18", "adversarial-training", {"trigger": "x"}),
         r"adversarial-training.trigger='x' is not allowed: allowed values are 'random-badnet'"),
        (lambda: DefenderStrategy("resnet18", "spectral-signatures", {"removal": "fraction"}),
         r"removal='fraction' needs remove_fraction"),
        (lambda: DefenderStrategy("resnet18", "spectral-signatures", {"remove_fraction": 0.1}),
         r"remove_fraction is only used with removal='fraction'"),
        (lambda: DefenderStrategy("resnet18", "activation-clustering", {"n_clusters": 1}),
         r"activation-clustering.n_clusters=1 is out of range: allowed \[2, inf\)"),
        (lambda: DefenderStrategy("resnet18", "none", name=""), r"name='' is not a non-empty string"),
        (lambda: AggregatorStrategy("bulyan"), r"unknown aggregator 'bulyan': known aggregators are fedavg"),
        (lambda: AggregatorStrategy("trimmed-mean", {"beta": 0.5}),
         r"trimmed-mean.beta=0.5 is out of range: allowed \[0, 0.5\)"),
        (lambda: AggregatorStrategy("krum", {"f": -1}), r"krum.f=-1 is out of range: allowed \[0, inf\)"),
        (lambda: AggregatorStrategy("norm-clipping", {"bound": 0.0}), r"norm-clipping.bound=0"),
        (lambda: AggregatorStrategy("weak-dp", {"noise_std": -0.1}), r"weak-dp.noise_std=-0.1"),
        (lambda: AggregatorStrategy("rfa", {"tol": 1}), r"allowed parameters are max_iter, eps, ftol"),
    ],
)
def test_unknown_names_and_bad_params_are_rejected(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_spectral_signature_removal_rules():
    per = DefenderStrategy(defense="spectral-signatures").params_map
    assert spectral_removal_count(per, 1, 5000) == 5  # the paper: top 5 for N = 1
    assert spectral_removal_count(per, 100, 5000) == 500  # scaled to top 500 for N = 100
    assert spectral_removal_count(per, 100, 300) == 300  # never more than the class
    fixed = DefenderStrategy(defense="spectral-signatures", params={"removal": "fixed"}).params_map
    assert spectral_removal_count(fixed, 100, 5000) == 5
    frac = DefenderStrategy(
        defense="spectral-signatures", params={"removal": "fraction", "remove_fraction": 0.15}
    ).params_map
    assert spectral_removal_count(frac, 100, 1000) == 150


def test_aggregators():
    assert AggregatorStrategy("rfa").params_map == {"eps": 1e-5, "ftol": 1e-7, "max_iter": 500}
    mk = AggregatorStrategy("multi-krum")
    assert dict(mk.params_map) == {"f": 1}  # m is optional, no default
    assert AggregatorStrategy("multi-krum", {"m": 5}).params_map["m"] == 5
    assert AggregatorStrategy.from_toml(mk.to_toml()) == mk
    assert AggregatorStrategy("median").to_dict() == {"aggregator": "median"}
    assert AggregatorStrategy("krum").key() != AggregatorStrategy("krum", {"f": 2}).key()


@pytest.mark.parametrize(
    "d",
    [
        DefenderStrategy(),
        DefenderStrategy("smallcnn", "cutmix", {"alpha": 0.5}, name="CutMix"),
        DefenderStrategy("resnet18", "adversarial-training", name="Defense"),
        DefenderStrategy("vgg11-bn", "spectral-signatures",
                         {"removal": "fraction", "remove_fraction": 0.05}),
        DefenderStrategy("lenet", "activation-clustering", {"n_components": 3}),
    ],
    ids=lambda d: d.label,
)
def test_defender_round_trips(d):
    data = d.to_dict()
    assert None not in data.values()
    json.dumps(data)
    assert DefenderStrategy.from_dict(data) == d
    assert DefenderStrategy.from_dict(json.loads(json.dumps(data))) == d
    assert DefenderStrategy.from_toml(d.to_toml()) == d
    assert DefenderStrategy.from_toml(d.to_toml()).key() == d.key()


def test_defender_keys():
    a = DefenderStrategy.from_toml(
        'defense = "cutmix"\narchitecture = "resnet18"\n[params]\naugment_fraction = 0.5\nalpha = 1.0\n'
    )
    b = DefenderStrategy("resnet18", "cutmix")
    assert a == b and a.key() == b.key()
    assert DefenderStrategy("resnet18", "cutmix", name="CutMix").key() == b.key()
    assert DefenderStrategy("resnet18", "cutmix", {"alpha": 0.9}).key() != b.key()
    assert DefenderStrategy("resnet34", "cutmix").key() != b.key()
    assert DefenderStrategy("resnet18", "none").key() != b.key()
    assert DefenderStrategy("resnet18", "none").label == "resnet18/none"
    with pytest.raises(ValueError, match=r"unknown field\(s\) 'defence'"):
        DefenderStrategy.from_dict({"defence": "none"})


def test_canonical_json_and_content_key():
    assert canonical_json({"b": 1, "a": [0.55, (1, 2)], "c": {"y": True, "x": 1.0}}) == (
        '{"a":[0.55,[1,2]],"b":1,"c":{"x":1.0,"y":true}}'
    )
    assert canonical_json({"x": 0.1 + 0.2}) == '{"x":0.30000000000000004}'  # repr
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    k1 = content_key("defender-strategy", {"a": 1, "b": 2})
    assert k1 == content_key("defender-strategy", {"b": 2, "a": 1})
    assert k1 != content_key("attacker-strategy", {"a": 1, "b": 2})
    assert k1 != content_key("defender-strategy", {"a": 1.0, "b": 2})


def test_strategies_never_imports_torch_gametheory_or_oracle():
    allowed = {"numpy", "scipy", "tomli_w", "__future__"}
    stdlib = set(sys.stdlib_module_names)
    for path in sorted((ROOT / "strategies").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in stdlib, f"{path.name} imports {name}"
    code = (
        "import sys, strategies; "
        "s = strategies.AttackerStrategy.independent(); s.expand(10, 10); "
        "strategies.random_badnet([0, 1], 0.5, (8, 8, 3)); "
        "bad = [m for m in ('torch', 'gametheory', 'oracle', 'scipy.stats') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
