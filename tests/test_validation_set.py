"""What the defender's validation set holds: ``TrainPreset.validation`` (issue 14).

``"poisoned"`` (the default, the paper's): the validation split of the pooled
data, poisoned inputs with their poisoned labels; ``"clean"``: the same split
without its poisoned inputs. The field is validated without torch, left out of
``TrainPreset.to_dict`` at its default (so the keys of every result computed
before it existed still hold), and the payoff oracle trains with the set it
names.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from oracle.data.datasets import load_dataset
from oracle.data.joint import VALIDATION_SETS
from oracle.data.poison import build_joint_dataset
from oracle.victims.presets import PRESETS, TrainPreset, get_preset
from strategies import AttackerStrategy
from strategies.keys import content_key

ROOT = Path(__file__).resolve().parents[1]

#: ``content_key("preset", PRESETS[name].to_dict())`` as computed before the
#: field existed (commit 31260cf): adding it must not move any cache key.
KEYS_BEFORE = {
    "paper": "ad8f23c4b9fbd7e9c71a7cc1321df62127e556cff1143441c98371778496a94b",
    "fast": "6713dc6c10be8cd43dce27ceee729c2065b54e6a541c4cf2da2045a4fe76719a",
    "tiny": "1d971123b532fb363ec64e8dea451f8684af4300462c7e14bbe74b7da653cf70",
}


# --------------------------------------------------------------------------
# the preset field (no torch)


def test_default_is_the_papers_poisoned_split():
    assert VALIDATION_SETS == ("poisoned", "clean")
    assert TrainPreset().validation == "poisoned"
    assert all(p.validation == "poisoned" for p in PRESETS.values())


@pytest.mark.parametrize("name", sorted(KEYS_BEFORE))
def test_existing_preset_keys_are_unchanged(name):
    assert content_key("preset", PRESETS[name].to_dict()) == KEYS_BEFORE[name]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_default_is_left_out_of_every_presets_dict(name):
    preset = PRESETS[name]
    d = preset.to_dict()
    assert "validation" not in d
    assert TrainPreset(**d) == preset
    assert get_preset(name, validation="poisoned").to_dict() == d


def test_clean_is_in_the_dict_and_round_trips():
    p = get_preset("paper", validation="clean")
    d = p.to_dict()
    assert d["validation"] == "clean"
    assert TrainPreset(**d) == p
    assert content_key("preset", d) != KEYS_BEFORE["paper"]
    assert {k: v for k, v in d.items() if k != "validation"} == PRESETS["paper"].to_dict()


@pytest.mark.parametrize("bad", ["trusted", "Clean", "", None, 1, ("clean",)])
def test_unknown_validation_is_one_clear_error(bad):
    with pytest.raises(ValueError, match=r"^unknown validation .*: known validation sets are poisoned, clean$"):
        get_preset("tiny", validation=bad)


def test_presets_validate_without_torch():
    code = ("import sys; from oracle.victims.presets import get_preset\n"
            "get_preset('paper', validation='clean')\n"
            "try:\n    get_preset('paper', validation='x')\nexcept ValueError:\n    pass\n"
            "else:\n    raise SystemExit('no error')\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


# --------------------------------------------------------------------------
# where the split is built


@pytest.fixture(scope="module")
def joint():
    actions = AttackerStrategy.independent(eps=0.55, p=0.55).expand(5, 10)
    return build_joint_dataset(load_dataset("digits"), actions, n_max=5, v_d=0.2, seed=3407)


def test_poisoned_is_the_pooled_split(joint):
    x, y = joint.validation_set("poisoned")
    assert x is joint.x_val and y is joint.y_val
    assert joint.validation_set() == (x, y)
    assert joint.poisoned_val.sum() > 0  # otherwise the clean test below proves nothing


def test_clean_leaves_out_exactly_the_poisoned_inputs(joint):
    x, y = joint.validation_set("clean")
    keep = ~joint.poisoned_val
    assert len(y) == len(joint.y_val) - int(joint.poisoned_val.sum())
    np.testing.assert_array_equal(x, joint.x_val[keep])
    np.testing.assert_array_equal(y, joint.y_val_clean[keep])  # every label is the clean one
    clean_images = load_dataset("digits").whole()[0][joint.index_val[keep]]
    np.testing.assert_array_equal(x, clean_images)  # no trigger on any image


def test_unknown_set_raises(joint):
    with pytest.raises(ValueError, match="^unknown validation 'trusted': known validation sets are poisoned, clean$"):
        joint.validation_set("trusted")


# --------------------------------------------------------------------------
# the oracle trains with the set the preset names


def test_oracle_validates_on_the_clean_split(tmp_path):
    from oracle.payoff_oracle import PayoffOracle
    from oracle.specs import Environment, GameSpec
    from strategies import DefenderStrategy

    def oracle(validation: str) -> PayoffOracle:
        env = Environment(dataset="digits", v_d=0.2, n_max=5, preset="tiny",
                          preset_overrides={"max_epochs": 2, "validation": validation})
        spec = GameSpec(name="val", environment=env, n_attackers=5,
                        attackers={"random": AttackerStrategy.independent(eps=0.55, p=0.55)},
                        defenders={"small": DefenderStrategy("smallcnn", "none", name="small")}, seeds=(3407,))
        return PayoffOracle(spec, progress=False)

    poisoned, clean = oracle("poisoned"), oracle("clean")
    (job_p,), (job_c,) = poisoned.jobs(), clean.jobs()
    assert poisoned.key(job_p) != clean.key(job_c)
    out_p, out_c = poisoned.evaluate(job_p), clean.evaluate(job_c)
    hist_p, hist_c = out_p.extra["history"], out_c.extra["history"]
    # the same training (no early stopping), measured on different validation sets
    assert hist_p["train_loss"] == hist_c["train_loss"]
    assert hist_p["val_loss"] != hist_c["val_loss"]
    assert out_c.defender_val_acc == hist_c["val_acc"][-1]
