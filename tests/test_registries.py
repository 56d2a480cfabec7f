"""One registry per concept: every registered name is implemented, and every implementation is registered
(triggers, architectures, defenses, aggregators, datasets, presets); the registries import no torch;
plug-in references resolve, and bad ones fail in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from strategies import AGGREGATORS, ARCHITECTURES, DEFENSES, TRIGGERS, ComponentSpec, Triggers
from strategies.registry import Registry, is_reference, load_reference

ROOT = Path(__file__).resolve().parents[1]


def _own(registry):
    """backfire's own entries: those without an implementation of their own (a plug-in, e.g. one that
    tests/test_plugins.py registered, brings its implementation)."""
    return [name for name, spec in registry.items() if spec.implementation is None]


def test_triggers_all_generate():
    for name, spec in TRIGGERS.items():
        t = spec.generator([0, 1], [0.3, 0.3], (8, 8, 3))
        assert isinstance(t, Triggers) and t.masks.shape == (2, 8, 8), name
        assert bool(t.masks.any()) == spec.pixel, name


def test_architectures_match_the_zoo():
    from oracle.victims.architectures import MIN_IMAGE_SIZE, MODEL_NAMES

    assert set(MODEL_NAMES) == set(_own(ARCHITECTURES)) == set(MIN_IMAGE_SIZE)


def test_defenses_match_their_implementations():
    from oracle.defenses.filter_report import REMOVAL_DEFENSES
    from oracle.defenses.implemented import IMPLEMENTED, defense_class
    from oracle.defenses.interface import Defense

    assert set(IMPLEMENTED) == set(_own(DEFENSES))
    for name, cls in IMPLEMENTED.items():
        assert issubclass(cls, Defense) and cls.spec is DEFENSES[name] and defense_class(name) is cls
        assert cls.removes == (name in REMOVAL_DEFENSES)
        assert cls().params == DEFENSES[name].defaults()  # built with validated defaults
    for name in DEFENSES:  # plug-ins included: every registered defense has a Defense class
        assert issubclass(defense_class(name), Defense)
    with pytest.raises(ValueError, match=r"alpha=-1.0 is out of range"):
        IMPLEMENTED["cutmix"](alpha=-1.0)  # parameters validated at construction
    with pytest.raises(ValueError, match="unknown"):
        IMPLEMENTED["none"](bogus=1)


def test_aggregators_match_their_rules():
    from oracle.federated.aggregators import RULES

    assert set(RULES) == set(_own(AGGREGATORS))


def test_datasets_match_the_readers():
    from oracle.data.catalog import DATASETS, trainable_datasets
    from oracle.data.readers import FORMATS

    assert set(_own(DATASETS)) == set(FORMATS) | {"digits"}
    for name in trainable_datasets():
        mean, std = DATASETS[name].normalization
        assert len(mean) == len(std) in (1, 3) and all(0 < v < 1 for v in (*mean, *std))


def test_presets_one_list():
    from oracle.specs import Environment
    from oracle.victims.presets import PRESETS

    for name in PRESETS:
        assert Environment(dataset="digits", preset=name).preset == name
    with pytest.raises(ValueError, match="unknown preset 'huge': known presets are " + ", ".join(PRESETS)):
        Environment(dataset="digits", preset="huge")


def test_untrainable_dataset_refused_when_the_spec_is_read():
    from oracle.specs import Environment

    with pytest.raises(ValueError, match="dataset='svhn' can be read but not trained on"):
        Environment(dataset="svhn")


def test_registries_and_specs_import_no_torch():
    code = ("import sys; import strategies, oracle.data.catalog, oracle.specs, oracle.victims.presets; "
            "from oracle.specs import load_spec; load_spec('examples/games/quickstart.toml'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plugin_references():
    assert is_reference("mypkg.module:Name") and is_reference("m:Class.attr")
    assert not is_reference("cutmix") and not is_reference("a:b:c") and not is_reference(":x")
    assert load_reference("strategies.catalog:DEFENSES") is DEFENSES
    with pytest.raises(ValueError, match=r"plug-in 'no_such_pkg.x:Y': cannot import no_such_pkg.x"):
        load_reference("no_such_pkg.x:Y")
    with pytest.raises(ValueError, match=r"strategies.catalog has no attribute 'NOPE'"):
        load_reference("strategies.catalog:NOPE")
    registry: Registry[ComponentSpec] = Registry("widget", ComponentSpec)
    with pytest.raises(ValueError, match=r"widget 'strategies.catalog:DEFENSES' is a Registry, not a ComponentSpec"):
        registry["strategies.catalog:DEFENSES"]
    assert "cutmix" not in registry and "no_such_pkg.x:Y" not in registry.keys()
    spec = registry.register(ComponentSpec("w", "a widget"))
    assert registry["w"] is spec and list(registry) == ["w"]
    with pytest.raises(ValueError, match="already registered"):
        registry.register(ComponentSpec("w", "another widget"))
    # an unknown plain name still lists the known ones, as before
    from strategies import DefenderStrategy

    with pytest.raises(ValueError, match="unknown defense 'foo': known defenses are none, cutmix"):
        DefenderStrategy("smallcnn", "foo")
    with pytest.raises(ValueError, match="cannot import no_such_pkg"):
        DefenderStrategy("smallcnn", "no_such_pkg.x:Y")


def test_seed_default_is_one_constant():
    import re

    hits = []
    for path in [*ROOT.glob("oracle/**/*.py"), *ROOT.glob("strategies/*.py")]:
        for k, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if re.search(r"(=|default=)\s*3407\b", code) and "DEFAULT_SEED = 3407" not in code:
                hits.append(f"{path.relative_to(ROOT)}:{k}: {line.strip()}")
    assert hits == [], "3407 written outside strategies.validate.DEFAULT_SEED:\n" + "\n".join(hits)
