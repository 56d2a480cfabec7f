"""Run-time adversarial perturbations (E3): FGSM, the attacker's shift fields, surrogates, the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from oracle.attacks.fgsm import SHIFT_SCALE, SurrogateCache, fgsm, shifted_runtime
from oracle.data.datasets import load_dataset
from oracle.data.poison import build_joint_dataset
from oracle.victims.models import normalization
from oracle.victims.presets import get_preset
from spec_texts import DIGITS_ENVIRONMENT, SMALL, game, patched
from strategies import AttackerAction, AttackerStrategy


def _linear(w: np.ndarray) -> nn.Module:
    """Two classes on 2×2 grey images: logits (w·x̂, −w·x̂), x̂ the normalised pixels."""
    lin = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(np.stack([w, -w]), dtype=torch.float32))
    return nn.Sequential(nn.Flatten(), lin)


def test_fgsm_by_hand_on_a_linear_model():
    # dL/dx_j = (p0 − 1)·w_j + p1·(−w_j) = −2·p1·w_j for y = 0: the step is −sign(w); +sign(w) for y = 1.
    w = np.array([1.0, -2.0, 0.5, -0.1])
    x = np.array([[10, 100, 250, 5], [10, 100, 250, 5]], dtype=np.uint8).reshape(2, 2, 2, 1)
    y = np.array([0, 1])
    out = fgsm(_linear(w), x, y, 20 / 255, dataset="mnist").reshape(2, 4)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], [0, 120, 230, 25])  # 10 − 20 clipped at 0
    np.testing.assert_array_equal(out[1], [30, 80, 255, 0])  # 250 + 20 clipped at 255, 5 − 20 at 0
    np.testing.assert_array_equal(fgsm(_linear(w), x, y, 0.0, dataset="mnist"), x)
    with pytest.raises(ValueError, match=r"^radius=1.5 is out of range: allowed \[0, 1\]$"):
        fgsm(_linear(w), x, y, 1.5, dataset="mnist")
    with pytest.raises(ValueError, match="uint8"):
        fgsm(_linear(w), x.astype(np.float32), y, 0.1, dataset="mnist")


def test_fgsm_agrees_with_art():
    art = pytest.importorskip("art.attacks.evasion")
    from art.estimators.classification import PyTorchClassifier

    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))
    x = rng.integers(0, 256, size=(32, 4, 4, 1), dtype=np.uint8)
    y = rng.integers(0, 3, size=32)
    mean, std = normalization("mnist")
    clf = PyTorchClassifier(model, loss=nn.CrossEntropyLoss(), input_shape=(1, 4, 4), nb_classes=3,
                            clip_values=(0.0, 1.0), preprocessing=(mean, std))
    radius = 12 / 255
    ref = art.FastGradientMethod(clf, norm=np.inf, eps=radius).generate(
        x.transpose(0, 3, 1, 2).astype(np.float32) / 255, y=np.eye(3)[y])
    ours = fgsm(model, x, y, radius, dataset="mnist")
    np.testing.assert_array_equal(ours, np.rint(ref.transpose(0, 2, 3, 1) * 255).astype(np.uint8))


def test_shift_fields_are_validated_and_keys_of_old_strategies_do_not_change():
    plain = AttackerStrategy.independent()
    # the key of the paper's default attackers before the shift fields existed
    assert plain.key() == "415884772cc31d05a232bf0233c9e84378662e4d98b9c1a17157f095e2ea8bcb"
    assert "shift" not in plain.to_dict() and "shift" not in plain.expand(1, 10)[0].to_dict()
    s = AttackerStrategy.independent(shift="fgsm", shift_eps=0.5)
    assert s.key() != plain.key() != AttackerStrategy.independent(shift="fgsm", shift_eps=1.0).key()
    assert AttackerStrategy.from_toml(s.to_toml()) == s
    a = s.expand(3, 10)[2]
    assert (a.shift, a.shift_eps) == ("fgsm", 0.5)
    assert AttackerAction.from_dict(a.to_dict()) == a
    with pytest.raises(ValueError, match="unknown shift 'pgd'"):
        AttackerStrategy.independent(shift="pgd")
    with pytest.raises(ValueError, match=r"shift_eps=2 is out of range"):
        AttackerStrategy.independent(shift="fgsm", shift_eps=2)
    with pytest.raises(ValueError, match="needs a shift"):
        AttackerStrategy.independent(shift_eps=0.3)


@pytest.fixture(scope="module")
def digits_joint():
    ds = load_dataset("digits")
    actions = AttackerStrategy.independent(eps=0.55, p=0.5, shift="fgsm", shift_eps=1.0).expand(2, 10)
    return ds, build_joint_dataset(ds, actions, n_max=2, v_d=0.5, seed=3407)


def test_private_share_is_the_attackers_contribution(digits_joint):
    _ds, joint = digits_joint
    x, y = joint.private_share(1)
    assert len(x) == len(y) == joint.allocation.train_time_size
    summary = joint.summary()
    assert int((y == joint.targets[1]).sum()) >= int(summary.n_poisoned[1])
    rows = np.flatnonzero(joint.owner_train == 1)
    np.testing.assert_array_equal(x[: rows.size], joint.x_train[rows])


@pytest.mark.slow
def test_surrogates_are_cached_and_shift_only_the_shifting_attackers(digits_joint, tmp_path):
    ds, joint = digits_joint
    preset = get_preset("tiny", max_epochs=4)
    cache = SurrogateCache(tmp_path, "smallcnn", ds.name, ds.num_classes, preset, seed=3407, device="cpu")
    rt_x, rt_clean = shifted_runtime(joint, cache)
    assert len(list(tmp_path.glob("*.safetensors"))) == 2  # one surrogate per attacker
    step = np.abs(rt_clean.astype(int) - joint.runtime_x_clean.astype(int))
    assert step.max() <= round(SHIFT_SCALE * 255) + 1 and step.mean() > 5  # most pixels move by 25.5 levels
    assert rt_x.shape == joint.runtime_x.shape and rt_x.dtype == np.uint8
    # a fresh cache loads the same surrogate from disk: the same perturbation, no retraining
    again = SurrogateCache(tmp_path, "smallcnn", ds.name, ds.num_classes, preset, seed=3407, device="cpu")
    x, y = joint.private_share(0)
    m1, m2 = cache.model(x, y), again.model(x, y)
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())
    np.testing.assert_array_equal(shifted_runtime(joint, again, shift_eps=0.0)[1], joint.runtime_x_clean)


SPEC = game("fgsm") + patched(DIGITS_ENVIRONMENT, 'preset = "tiny"\n', 'preset = "tiny"\npreset_overrides = { max_epochs = 4 }\n') + """
[[attackers]]
name = "backdoor"
eps = 0.55
p = 0.5

[[attackers]]
name = "backdoor + FGSM"
eps = 0.55
p = 0.5
shift = "fgsm"
shift_eps = 1.0
""" + SMALL


@pytest.mark.slow
def test_a_game_offers_fgsm_and_the_oracle_fills_it(tmp_path):
    from oracle.payoff_oracle import PayoffOracle
    from oracle.specs import load_spec
    from oracle.store.cache import ResultCache

    path = tmp_path / "fgsm.toml"
    path.write_text(SPEC)
    oracle = PayoffOracle(load_spec(path), cache=ResultCache(tmp_path / "cache.sqlite"))
    plain, shifted = oracle.jobs()
    assert shifted.attacker.shift == "fgsm" and oracle.key(plain) != oracle.key(shifted)
    a, b = oracle.run(plain), oracle.run(shifted)
    assert len(list((tmp_path / "surrogates").glob("*.safetensors"))) == 2
    # the same victim (the shift acts at run time only), measured on other inputs
    assert a.defender_val_acc == b.defender_val_acc
    assert (a.asr, a.clean_acc) != (b.asr, b.clean_acc)
    assert oracle.cached(shifted) is not None


@pytest.mark.parametrize("fields,message", [
    ({"shift": "pgd"}, r"\[\[attackers\]\] #1: unknown shift 'pgd': known shifts are none, fgsm"),
    ({"shift": "fgsm", "shift_eps": -0.1}, r"\[\[attackers\]\] #1: .*shift_eps=-0.1 is out of range"),
    ({"shift_eps": 0.5}, r"\[\[attackers\]\] #1: .*shift_eps=0.5 needs a shift"),
])
def test_bad_shift_in_a_spec_is_one_line_naming_the_place(fields, message):
    from oracle.specs import SpecError, spec_from_dict

    data = {"game": {"n_attackers": 2}, "attackers": [{"name": "a", **fields}], "defenders": [{}]}
    with pytest.raises(SpecError, match=message) as info:
        spec_from_dict(data, where="g.toml")
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_a_surrogate_under_an_early_stopping_preset_holds_out_a_validation_split(digits_joint):
    ds, joint = digits_joint
    preset = get_preset("paper", max_epochs=2, patience=1)
    cache = SurrogateCache(None, "smallcnn", ds.name, ds.num_classes, preset, seed=3407, device="cpu")
    model = cache.model(*joint.private_share(0))
    assert not model.training
    assert cache.model(*joint.private_share(0)) is model  # kept in memory
