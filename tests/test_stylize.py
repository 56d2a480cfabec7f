"""Train-time stylistic perturbations (E3): AdaIN, the attacker's style fields, the joint dataset, the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from oracle.attacks.adain import (WEIGHTS_SHA256, adain, load_adain, mean_std, style_names, stylize, to_vgg,
                                  weights_sha256)
from oracle.data.datasets import load_dataset, subset_of_whole
from oracle.data.poison import build_joint_dataset
from strategies import STYLES, AttackerAction, AttackerStrategy


@pytest.fixture(scope="module")
def cifar():
    return subset_of_whole(load_dataset("cifar10"), 400)


def _distance_to_style(x: np.ndarray, style: str) -> float:
    """Mean |μ − μ_s| + |σ − σ_s| of the encoder's relu3_1 channels between images and the style image."""
    model = load_adain()
    with torch.no_grad():
        fx, _ = model.encode(to_vgg(x))
        fs, _ = model.encode(to_vgg(model.styles[style][None]))
    (mx, sx), (ms, ss) = mean_std(fx), mean_std(fs)
    return float(((mx - ms).abs() + (sx - ss).abs()).mean())


def test_shipped_weights_are_the_recorded_ones_and_hold_every_style():
    assert weights_sha256() == WEIGHTS_SHA256
    assert style_names() == STYLES
    assert all(img.shape == (64, 64, 3) and img.dtype == np.uint8 for img in load_adain().styles.values())


def test_adain_matches_the_style_statistics_exactly():
    g = torch.Generator().manual_seed(3407)
    c, s = torch.rand(2, 8, 5, 5, generator=g), 3 * torch.rand(2, 8, 6, 6, generator=g) + 1
    (mt, st), (ms, ss) = mean_std(adain(c, s)), mean_std(s)
    torch.testing.assert_close(mt, ms)
    torch.testing.assert_close(st, ss, rtol=1e-3, atol=1e-3)


def test_stylize_keeps_shapes_and_range_is_identity_at_zero_and_moves_towards_the_style(cifar):
    x = cifar.x_train[:32]
    assert stylize(x, "brick", 0.0) is x
    out = {a: stylize(x, "brick", a) for a in (0.5, 1.0)}
    for y in out.values():
        assert y.shape == x.shape and y.dtype == np.uint8
        assert np.abs(y.astype(int) - x).mean() > 2  # changed
    # relu3_1 statistics move towards the style's, more at α = 1 than at 0.5
    d0, d5, d1 = (_distance_to_style(v, "brick") for v in (x, out[0.5], out[1.0]))
    assert d1 < d5 < d0
    # different styles give different images
    assert np.abs(stylize(x, "coffee", 1.0).astype(int) - out[1.0]).mean() > 2


@pytest.mark.parametrize("args,message", [
    (("brick", 1.5), r"alpha=1.5 is out of range"),
    (("picasso", 0.5), r"^unknown style 'picasso': known styles are astronaut, brick, "),
])
def test_stylize_rejects_bad_arguments(cifar, args, message):
    with pytest.raises(ValueError, match=message):
        stylize(cifar.x_train[:2], *args)


def test_stylize_rejects_grey_images():
    with pytest.raises(ValueError, match=r"allowed: uint8 \(N, H, W, 3\)"):
        stylize(np.zeros((2, 28, 28, 1), np.uint8), "brick", 0.5)


def test_style_fields_are_validated_and_keyed():
    plain = AttackerStrategy.independent()
    assert AttackerStrategy.independent(style="brick", style_alpha=0.0).key() == plain.key()  # α = 0: no style
    keys = {AttackerStrategy.independent(style="distinct", style_alpha=a).key() for a in (0.25, 0.5, 1.0)}
    assert len(keys) == 3 and plain.key() not in keys
    acts = AttackerStrategy.independent(style="distinct", style_alpha=0.5).expand(12, 10)
    assert [a.style for a in acts] == [*STYLES, STYLES[0], STYLES[1]] and {a.style_alpha for a in acts} == {0.5}
    assert AttackerAction(0, 1).to_dict() == {"index": 0, "target": 1, "eps": 0.55, "p": 0.55,
                                              "trigger": "random-badnet", "trigger_seed": 0}
    with pytest.raises(ValueError, match=r"style_alpha=0.5 needs a style"):
        AttackerStrategy.independent(style_alpha=0.5)
    with pytest.raises(ValueError, match=r"unknown style 'distinct'"):
        AttackerAction(0, 1, style="distinct", style_alpha=0.5)  # a single action names its image
    with pytest.raises(ValueError, match=r"style_alpha=-0.1 is out of range"):
        AttackerStrategy.independent(style="brick", style_alpha=-0.1)


def test_stylised_attackers_contribute_stylised_shares_with_their_triggers(cifar):
    plain = AttackerStrategy.independent(eps=0.55, p=0.5).expand(2, 10)
    styled = (plain[0], AttackerAction(1, plain[1].target, 0.55, 0.5, style="coffee", style_alpha=1.0))
    a = build_joint_dataset(cifar, plain, n_max=2, v_d=0.5, seed=3407)
    b = build_joint_dataset(cifar, styled, n_max=2, v_d=0.5, seed=3407, stylize=stylize)
    np.testing.assert_array_equal(a.index_train, b.index_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    for owner, changed in ((-1, False), (0, False), (1, True)):
        rows = a.owner_train == owner
        differs = np.abs(a.x_train[rows].astype(int) - b.x_train[rows]).mean() > 2
        assert differs == changed, owner
    # the stylised attacker's poisoned images: its share stylised, then its trigger stamped
    rows = np.flatnonzero((b.owner_train == 1) & b.poisoned_train)
    clean = cifar.whole()[0][b.index_train[rows]]
    z = np.broadcast_to(b.triggers.weights[1][..., None], clean.shape[1:])
    assert (z == 1).any() and (z == 0).any()
    np.testing.assert_array_equal(b.x_train[rows][:, z == 1], a.x_train[rows][:, z == 1])  # the trigger's pixels
    np.testing.assert_array_equal(b.x_train[rows][:, z == 0], stylize(clean, "coffee", 1.0)[:, z == 0])
    # run-time inputs are not stylised
    np.testing.assert_array_equal(a.runtime_x, b.runtime_x)
    with pytest.raises(ValueError, match="stylised attackers need stylize="):
        build_joint_dataset(cifar, styled, n_max=2, v_d=0.5, seed=3407)


SPEC = """
[game]
name = "stylize"
n_attackers = 2
seeds = [3407]

[environment]
dataset = "cifar10"
n_images = 600
v_d = 0.5
n_max = 2
preset = "tiny"
preset_overrides = { max_epochs = 2 }

[[attackers]]
name = "backdoor"
eps = 0.55
p = 0.5

[[attackers]]
name = "backdoor + style"
eps = 0.55
p = 0.5
style = "distinct"
style_alpha = 1.0

[[defenders]]
name = "small"
architecture = "smallcnn"
defense = "none"
"""


@pytest.mark.slow
def test_a_game_offers_stylisation_and_the_oracle_fills_it(tmp_path):
    from oracle.payoff_oracle import PayoffOracle
    from oracle.specs import load_spec
    from oracle.store.cache import ResultCache

    path = tmp_path / "stylize.toml"
    path.write_text(SPEC)
    oracle = PayoffOracle(load_spec(path), cache=ResultCache(tmp_path / "cache.sqlite"))
    plain, styled = oracle.jobs()
    assert [a.style for a in styled.actions(2, 10)] == list(STYLES[:2])
    assert oracle.key(plain) != oracle.key(styled) and oracle.profile(styled)["adain"]["sha256"] == WEIGHTS_SHA256
    a, b = oracle.run(plain), oracle.run(styled)
    assert a.defender_val_acc != b.defender_val_acc  # another victim: trained on stylised shares
    assert oracle.cached(styled) is not None and oracle.cached(plain) is not None


@pytest.mark.parametrize("fields,message", [
    ({"style": "picasso", "style_alpha": 0.5}, r"\[\[attackers\]\] #1: unknown style 'picasso': known styles are"),
    ({"style": "brick", "style_alpha": 2}, r"\[\[attackers\]\] #1: .*style_alpha=2 is out of range"),
    ({"style_alpha": 0.5}, r"\[\[attackers\]\] #1: .*style_alpha=0.5 needs a style"),
])
def test_bad_style_in_a_spec_is_one_line_naming_the_place(fields, message):
    from oracle.specs import SpecError, spec_from_dict

    data = {"game": {"n_attackers": 2}, "environment": {"dataset": "cifar10"},
            "attackers": [{"name": "a", **fields}], "defenders": [{}]}
    with pytest.raises(SpecError, match=message) as info:
        spec_from_dict(data, where="g.toml")
    assert "\n" not in str(info.value)


def test_a_style_on_grey_data_is_a_spec_error():
    from oracle.specs import SpecError, spec_from_dict

    data = {"game": {"n_attackers": 2}, "environment": {"dataset": "mnist"},
            "attackers": [{"name": "a", "style": "brick", "style_alpha": 0.5}], "defenders": [{}]}
    with pytest.raises(SpecError, match=r"style='brick' needs colour images .* mnist is greyscale"):
        spec_from_dict(data, where="g.toml")


def test_the_cli_answers_a_bad_style_with_one_line_and_status_2(tmp_path, capsys):
    from oracle.cli import main

    path = tmp_path / "g.toml"
    path.write_text(SPEC.replace('style = "distinct"', 'style = "monet"'))
    assert main(["fill", str(path), "--cache", str(tmp_path / "c.sqlite")]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown style 'monet'" in err and "\n" not in err and "Traceback" not in err
