"""Game spec files: parsing, validation messages, round trip, and keys."""

import dataclasses

import pytest

from oracle.specs import Environment, GameSpec, SpecError, load_spec, spec_from_dict, spec_to_toml
from strategies import AttackerStrategy, DefenderStrategy, MixedAttackerStrategy

QUICKSTART = "examples/games/quickstart.toml"


def test_quickstart_spec_reads():
    spec = load_spec(QUICKSTART)
    assert spec.n_attackers == 20 and spec.seeds == (3407,)
    assert list(spec.attackers) == ["independent labels", "all on label 4"]
    assert list(spec.defenders) == ["SmallCNN", "LeNet"]
    assert spec.environment.dataset == "mnist" and spec.environment.n_images == 3000
    targets = [a.target for a in spec.attackers["all on label 4"].expand(20, 10)]
    assert targets == [4] * 20


@pytest.mark.parametrize("path,dataset,architecture", [
    ("examples/games/table6.toml", "cifar10", "resnet18"),
    ("examples/games/table6_paper.toml", "cifar10", "resnet18"),
    ("examples/games/table6_cpu.toml", "cifar10", "smallcnn"),
    ("examples/games/table6_cpu_full.toml", "cifar10", "smallcnn"),
])
def test_table6_specs_are_the_papers_game(path, dataset, architecture):
    """Five mixed strategies over the 2 trigger generators × 3 label configurations of Tables 3 and 4."""
    spec = load_spec(path)
    assert spec.n_attackers == 5 and spec.environment.v_d == 0.5 and spec.environment.dataset == dataset
    assert list(spec.attackers) == ["eps = 0.55", "0% label overlap", "100% label overlap", "Random triggers",
                                    "Orthogonal triggers"]
    assert [(d.architecture, d.defense) for d in spec.defenders.values()] == [
        (architecture, "none"), (architecture, "adversarial-training")]
    targets = {}
    for label, mixed in spec.attackers.items():
        assert isinstance(mixed, MixedAttackerStrategy)
        for weight, s in mixed.components:
            assert weight == 1 / len(mixed.components) and s.eps == s.p == 0.55
            targets[s.name] = (s.trigger, [a.target for a in s.expand(5, 10)])
    assert len(targets) == 6
    assert {t for t, _ in targets.values()} == {"random-badnet", "orthogonal-badnet"}
    assert sorted({tuple(l) for _, l in targets.values()}) == [(0, 2, 4, 6, 8), (2, 4, 4, 6, 8), (4, 4, 4, 4, 4)]
    assert {s.trigger for _, s in spec.attackers["Random triggers"].components} == {"random-badnet"}
    assert {tuple(a.target for a in s.expand(5, 10)) for _, s in spec.attackers["100% label overlap"].components} \
        == {(4, 4, 4, 4, 4)}


def test_table6_full_data_spec_differs_from_the_subset_only_in_its_data():
    subset, full = load_spec("examples/games/table6_cpu.toml"), load_spec("examples/games/table6_cpu_full.toml")
    assert subset.environment.n_images == 6000 and full.environment.n_images is None
    assert [s.key() for s in full.attackers.values()] == [s.key() for s in subset.attackers.values()]
    assert [d.key() for d in full.defenders.values()] == [d.key() for d in subset.defenders.values()]
    assert (full.environment.v_d, full.environment.n_max, full.environment.preset) == \
        (subset.environment.v_d, subset.environment.n_max, subset.environment.preset)


@pytest.mark.parametrize("base,variant,presets", [
    ("examples/games/table6_cpu.toml", "examples/games/table6_paper_cpu.toml", ("tiny", "paper-cpu")),
    ("examples/games/table6.toml", "examples/games/table6_paper.toml", ("fast", "paper")),
])
def test_table6_recipe_variants_differ_only_in_their_preset(base, variant, presets):
    """The paper-recipe variants of a Table 6 game: the same environment, strategies and keys but the preset,
    with three seeds."""
    one, other = load_spec(base), load_spec(variant)
    assert (one.environment.preset, other.environment.preset) == presets
    assert dataclasses.replace(other.environment, preset=presets[0]) == one.environment
    assert [s.key() for s in other.attackers.values()] == [s.key() for s in one.attackers.values()]
    assert [d.key() for d in other.defenders.values()] == [d.key() for d in one.defenders.values()]
    assert other.seeds == (3407, 3408, 3409)


def test_round_trip_and_key(tmp_path):
    spec = load_spec(QUICKSTART)
    path = tmp_path / "again.toml"
    path.write_text(spec_to_toml(spec))
    again = load_spec(path)
    assert again.key() == spec.key()
    assert again.attackers == spec.attackers and again.defenders == spec.defenders
    assert spec.with_seeds([1, 2]).key() == spec.key()  # seeds are not part of the game's identity


def test_mixed_attacker_strategy_in_spec():
    data = {
        "game": {"n_attackers": 5},
        "attackers": [{
            "name": "Random triggers",
            "components": [
                {"weight": 1, "strategy": AttackerStrategy.fixed_labels((0, 2, 4, 6, 8)).to_dict()},
                {"weight": 1, "strategy": AttackerStrategy.coordinate_label(4, 1.0).to_dict()},
            ],
        }],
        "defenders": [{"architecture": "smallcnn", "defense": "none"}],
    }
    spec = spec_from_dict(data)
    mixed = spec.attackers["Random triggers"]
    assert isinstance(mixed, MixedAttackerStrategy) and mixed.weights == (0.5, 0.5)
    assert list(spec.defenders) == ["smallcnn/none"]


BAD = [
    ({"game": {"n_attackers": 5}, "environment": {"dataset": "imagenet"}}, r"\[environment\]: unknown dataset 'imagenet': known datasets are cifar10"),
    ({"game": {"n_attackers": 5}, "environment": {"v_d": 1.5}}, r"v_d=1.5 is out of range: allowed \[0, 1\)"),
    ({"game": {"n_attackers": 5}, "environment": {"preset": "turbo"}}, "unknown preset 'turbo': known presets are paper, fast, tiny"),
    ({"game": {"n_attackers": 5}, "environment": {"colour": 1}}, "unknown field\\(s\\) colour"),
    ({"game": {}}, r"\[game\]: n_attackers is missing"),
    ({"game": {"n_attackers": 0}, "attackers": [{"name": "a"}], "defenders": [{}]}, "n_attackers=0 is out of range"),
    ({"game": {"n_attackers": 6}, "environment": {"n_max": 5}}, r"n_attackers=6 is out of range: allowed \[1, 5\] \(environment.n_max\)"),
    ({"game": {"n_attackers": 5}, "attackers": [{"name": "a", "eps": 2}]}, r"\[\[attackers\]\] #1: .*eps"),
    ({"game": {"n_attackers": 5}, "attackers": [{"name": "a"}], "defenders": [{"architecture": "resnet18", "defense": "magic"}]},
     r"\[\[defenders\]\] #1: unknown defense 'magic': known defenses are none, cutmix"),
    ({"game": {"n_attackers": 5}, "attackers": [{"name": "a"}, {"name": "a"}]}, "name 'a' is used twice"),
    ({"game": {"n_attackers": 5, "seeds": [1, 1]}, "attackers": [{"name": "a"}], "defenders": [{}]}, "distinct"),
    ({"game": {"n_attackers": 5}, "players": []}, "unknown table\\(s\\) players"),
]


@pytest.mark.parametrize("data,message", BAD)
def test_bad_specs_name_the_place(data, message):
    with pytest.raises(SpecError, match=message):
        spec_from_dict(data, where="g.toml")


def test_bad_toml_and_missing_file(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text("[game\nn_attackers = 5\n")
    with pytest.raises(SpecError, match="broken.toml: invalid TOML"):
        load_spec(p)
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "none.toml")


def test_python_api_builds_the_same_spec():
    spec = GameSpec(
        name="quickstart",
        environment=Environment(dataset="mnist", n_images=3000, v_d=0.5, n_max=20, preset="tiny"),
        n_attackers=20,
        attackers={
            "independent labels": AttackerStrategy(name="independent labels", eps=0.55, p=0.55),
            "all on label 4": AttackerStrategy.coordinate_label(4, 1.0, name="all on label 4"),
        },
        defenders={"SmallCNN": DefenderStrategy("smallcnn", "none", name="SmallCNN"),
                   "LeNet": DefenderStrategy("lenet", "none", name="LeNet")},
    )
    assert spec.key() == load_spec(QUICKSTART).key()
