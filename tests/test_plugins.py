"""Plug-ins (docs/plugins.md): a trigger, a defense, an architecture, a dataset and an aggregator defined in
the test tree (tests/plugins/, as a user's own package) and used from a spec as "plugins.<module>:<NAME>" and
from Python, with no change to backfire; a tiny game filled with them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from oracle.cli import main
from oracle.federated.aggregators import aggregate
from oracle.fill import make_oracle
from oracle.specs import SpecError, load_spec
from oracle.store.cache import ResultCache
from spec_texts import game, patched
from strategies import (AGGREGATORS, ARCHITECTURES, DEFENSES, TRIGGERS, AggregatorStrategy, AttackerStrategy,
                        DefenderStrategy)

GAME = game("plug-ins") + """
[environment]
dataset = "plugins.datasets:INVERTED_DIGITS"
v_d = 0.5
n_max = 2
preset = "tiny"
preset_overrides = { max_epochs = 3 }

[[attackers]]
name = "stripes"
eps = 0.25
p = 0.3
trigger = "plugins.triggers:STRIPES"
labels = { kind = "random" }

[[defenders]]
name = "MLP, noisy copies"
architecture = "plugins.architectures:TinyMLP"
defense = "plugins.defenses:NoisyCopies"
params = { fraction = 0.5, sigma = 8.0 }
"""

FEDERATED = game("plug-in aggregator", n_attackers=1) + """
[environment]
kind = "federated"
preset = "reduced"
overrides = { n_train = 400, n_test = 200, n_clients = 4, clients_per_round = 2, rounds = 1, local_epochs = 1, warm_start_epochs = 1 }

[[attackers]]
name = "black-box"
mode = "black-box"
every = 1

[[defenders]]
name = "clipped mean"
aggregator = "plugins.aggregators:CLIPPED_MEAN"
params = { bound = 0.05 }
"""


@pytest.fixture(autouse=True)
def _registries_restored():
    """Plug-ins registered by a test are removed after it, so other tests see backfire's own registries."""
    from oracle.data.catalog import DATASETS

    registries = (TRIGGERS, ARCHITECTURES, DEFENSES, AGGREGATORS, DATASETS)
    before = [set(r) for r in registries]
    yield
    for registry, names in zip(registries, before):
        for name in set(registry) - names:
            registry.unregister(name)


def test_a_spec_names_plugins_and_validates_their_parameters(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(GAME)
    spec = load_spec(path)
    defender = spec.defenders["MLP, noisy copies"]
    assert defender.params_map == {"fraction": 0.5, "sigma": 8.0}
    assert spec.attackers["stripes"].trigger == "plugins.triggers:STRIPES"
    path.write_text(patched(GAME, "sigma = 8.0", "sigma = 500.0"))
    with pytest.raises(SpecError, match=r"sigma=500.0 is out of range: allowed \[0, 128\]"):
        load_spec(path)
    path.write_text(patched(GAME, "plugins.defenses:NoisyCopies", "plugins.defenses:Nope"))
    with pytest.raises(SpecError, match=r"plugins.defenses has no attribute 'Nope'"):
        load_spec(path)


def test_plugins_from_python():
    from plugins.aggregators import CLIPPED_MEAN
    from plugins.triggers import STRIPES

    TRIGGERS.register(STRIPES)  # under its own name
    actions = AttackerStrategy(name="s", trigger="stripes", eps=0.5).expand(2, 10)
    from strategies import make_triggers

    t = make_triggers(actions, (8, 8, 1))
    assert t.masks[0, 0].all() and not t.masks[0, 1].any() and t.masks[1, 1].all()  # phase = the attacker's index
    from oracle.defenses.implemented import defense_for

    defense = defense_for(DefenderStrategy("plugins.architectures:TinyMLP", "plugins.defenses:NoisyCopies"))
    x = np.zeros((10, 8, 8, 1), np.uint8) + 100
    owner = np.array([-1] * 6 + [0] * 4)
    xt, yt = defense.training_set(x, np.arange(10), owner)
    assert len(xt) == 13 and set(yt[10:]) <= set(range(6)) and not np.array_equal(xt[10:], x[:3])
    AGGREGATORS.register(CLIPPED_MEAN)
    assert AggregatorStrategy("clipped-mean").params_map == {"bound": 0.01}
    out = aggregate("clipped-mean", torch.tensor([[1.0, -0.001], [0.0, 0.003]]), [1, 1])
    assert torch.allclose(out.update, torch.tensor([0.005, 0.001]))


def test_a_plugin_removal_filter_from_python_flags_and_is_scored():
    from oracle.defenses.filter_report import FilterReport
    from oracle.defenses.implemented import defense_for
    from oracle.defenses.removal import filter_from_params

    strategy = DefenderStrategy("smallcnn", "plugins.defenses:FarFromMean", {"fraction": 0.25})
    defense = defense_for(strategy)
    assert defense.removes and defense.params == {"fraction": 0.25}
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    poisoned = np.zeros(40, dtype=bool)
    poisoned[[3, 27]] = True
    features[poisoned] += 25.0  # far from its class: flagged first
    report = defense.flag(features, labels, n_attackers=1)
    assert report.method == "far-from-mean" and report.n_flagged == 10 and report.params_map == {"fraction": 0.25}
    assert report.mask[[3, 27]].all()
    score = report.score(poisoned, np.where(poisoned, 0, -1))
    assert score["recall"] == 1.0 and score["precision"] == 0.2 and score["recall_per_attacker"] == [1.0]
    assert FilterReport.from_dict(report.to_dict()).flagged.tolist() == report.flagged.tolist()
    again = filter_from_params("plugins.defenses:FarFromMean", {"fraction": 0.25}, features, labels, n_attackers=1)
    assert np.array_equal(again.flagged, report.flagged)
    with pytest.raises(ValueError, match=r"fraction=0.9 is out of range: allowed \(0, 0.5\]"):
        DefenderStrategy("smallcnn", "plugins.defenses:FarFromMean", {"fraction": 0.9})
    with pytest.raises(ValueError, match="unknown removal defense 'plugins.defenses:NoisyCopies'"):
        filter_from_params("plugins.defenses:NoisyCopies", {}, features, labels, n_attackers=1)


@pytest.mark.slow
def test_fill_a_tiny_game_with_a_plugin_removal_filter(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(patched(GAME, 'defense = "plugins.defenses:NoisyCopies"\nparams = { fraction = 0.5, sigma = 8.0 }',
                            'defense = "plugins.defenses:FarFromMean"\nparams = { fraction = 0.2 }'))
    cache = tmp_path / "c.sqlite"
    assert main(["fill", str(path), "--cache", str(cache), "--quiet"]) == 0
    oracle = make_oracle(load_spec(path), cache=ResultCache(cache), train=False)
    [job] = oracle.jobs()
    outcome = oracle.cached(job)
    assert outcome is not None and 0.0 <= outcome.attacker_payoff <= 1.0
    removal = outcome.extra["removal"]  # the filter ran on the trained victim, was scored, and the victim retrained
    assert removal["method"] == "far-from-mean" and removal["n_flagged"] > 0 and removal["extra_trainings"] == 1
    assert removal["n_poisoned"] > 0 and 0.0 <= removal["recall"] <= 1.0


@pytest.mark.slow
def test_fill_and_solve_a_tiny_game_of_plugins(tmp_path, capsys):
    path = tmp_path / "g.toml"
    path.write_text(GAME)
    cache = tmp_path / "c.sqlite"
    assert main(["fill", str(path), "--cache", str(cache), "--quiet"]) == 0
    oracle = make_oracle(load_spec(path), cache=ResultCache(cache), train=False)
    [job] = oracle.jobs()
    outcome = oracle.cached(job)
    assert outcome is not None and 0.0 <= outcome.attacker_payoff <= 1.0 and outcome.defender_val_acc > 0.3
    assert outcome.extra["dataset"] == "UCI 8x8 digits, inverted"
    # the defense's hook added the noisy copies: more training inputs than the joint dataset holds
    profile = oracle.profile(job)
    assert profile["defender"]["architecture"] == "plugins.architectures:TinyMLP"
    assert profile["environment"]["dataset"] == "plugins.datasets:INVERTED_DIGITS"
    capsys.readouterr()
    assert main(["solve", str(path), "--cache", str(cache), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["equilibria"] and data["data"]["description"] == "UCI 8x8 digits, inverted"


@pytest.mark.slow
def test_fill_a_federated_game_with_a_plugin_aggregator(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text(FEDERATED)
    cache = tmp_path / "c.sqlite"
    assert main(["fill", str(path), "--cache", str(cache), "--quiet"]) == 0
    oracle = make_oracle(load_spec(path), cache=ResultCache(cache), train=False)
    [job] = oracle.jobs()
    outcome = oracle.cached(job)
    assert outcome is not None and not math.isnan(outcome.attacker_payoff)
    assert 0.0 < outcome.defender_val_acc <= 1.0
    assert job.defender.aggregator == "plugins.aggregators:CLIPPED_MEAN"
