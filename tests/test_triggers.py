"""Trigger generators, applying triggers, and trigger distances
(strategies.triggers; paper App. 6.1.8, §6.2.5, Tables 3–4)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cosine as scipy_cosine
from scipy.stats import ortho_group

from strategies import (
    TRIGGERS,
    AttackerAction,
    AttackerStrategy,
    Triggers,
    apply_triggers,
    cosine_distances_to_first,
    make_triggers,
    orthogonal_badnet,
    patch_badnet,
    patch_side,
    random_badnet,
    rotated_badnet,
    trigger_key,
)

SHAPES = [(32, 32, 3), (28, 28, 1), (8, 5, 2)]


def paper_random_badnet(i: int, eps: float, h: int, w: int, c: int):
    """The paper's formula, written out literally for attacker i (App. 6.1.8)."""
    rng = np.random.RandomState(i)
    z = rng.choice([0, 1], size=h * w, p=[1 - eps, eps]).reshape(h, w)
    m = rng.uniform(0, 1, size=(h, w, c)) * 255
    z3 = np.repeat(z[:, :, None], c, axis=2)
    m = np.where(z3 == 1, m, 0.0)
    return z, m


# --------------------------------------------------------------------------- #
# Random-BadNet
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("eps", [0.0, 0.15, 0.55, 0.95, 1.0])
def test_random_badnet_equals_paper_formula_bit_for_bit(shape, eps):
    h, w, c = shape
    t = random_badnet(np.arange(6), eps, shape)
    assert t.masks.shape == (6, h, w) and t.masks.dtype == np.uint8
    assert t.patterns.shape == (6, h, w, c) and t.patterns.dtype == np.float64
    for i in range(6):
        z, m = paper_random_badnet(i, eps, h, w, c)
        np.testing.assert_array_equal(t.masks[i], z)
        np.testing.assert_array_equal(t.patterns[i], m)  # exact, not approx


def test_random_badnet_per_attacker_eps_and_arbitrary_seeds():
    seeds = np.array([7, 0, 123456, 7, 2**32 - 1])
    eps = np.array([0.15, 0.55, 0.95, 0.55, 0.3])
    t = random_badnet(seeds, eps, (32, 32, 3))
    for k, (s, e) in enumerate(zip(seeds.tolist(), eps.tolist())):
        z, m = paper_random_badnet(s, e, 32, 32, 3)
        np.testing.assert_array_equal(t.masks[k], z)
        np.testing.assert_array_equal(t.patterns[k], m)


def test_same_seed_same_trigger_different_index_different_trigger():
    a = random_badnet(np.arange(50), 0.55, (32, 32, 3))
    b = random_badnet(np.arange(50), 0.55, (32, 32, 3))
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.patterns, b.patterns)
    flat = a.masks.reshape(50, -1)
    assert len({row.tobytes() for row in flat}) == 50
    flat = a.patterns.reshape(50, -1)
    assert len({row.tobytes() for row in flat}) == 50
    # the same seed twice in one call gives the same trigger twice
    t = random_badnet([3, 3], 0.55, (32, 32, 3))
    np.testing.assert_array_equal(t.patterns[0], t.patterns[1])


@pytest.mark.parametrize("eps", [0.05, 0.15, 0.55, 0.95])
def test_mask_has_about_eps_h_w_pixels(eps):
    h = w = 32
    t = random_badnet(np.arange(1000), eps, (h, w, 3))
    counts = t.masks.reshape(1000, -1).sum(axis=1)
    # each attacker: Binomial(h*w, eps); allow 6 standard deviations
    sd = np.sqrt(h * w * eps * (1 - eps))
    assert np.all(np.abs(counts - eps * h * w) <= 6 * sd)
    # over 1,000 attackers the mean is tight
    assert abs(counts.mean() - eps * h * w) <= 6 * sd / np.sqrt(1000)
    np.testing.assert_allclose(t.mask_fraction, counts / (h * w))


def test_random_badnet_colours_in_range_and_zero_off_mask():
    t = random_badnet(np.arange(20), 0.5, (32, 32, 3))
    assert t.patterns.min() >= 0 and t.patterns.max() < 255
    off = t.masks == 0
    assert np.all(t.patterns[off] == 0)
    on = t.masks == 1
    assert np.all(t.patterns[on] > 0)  # uniform draws are never exactly 0 here
    np.testing.assert_array_equal(t.values, np.rint(t.patterns).astype(np.uint8))


# Table 3 (Random-BadNet, 32x32x3, agents 1-5 = seeds 0-4): printed distances
# to agent 1 of agents 2-5.
TABLE3_SHAPE = {
    0.15: [0.849, 0.849, 0.873, 0.785],
    0.55: [0.458, 0.454, 0.456, 0.445],
    0.95: [0.053, 0.046, 0.044, 0.049],
}
TABLE3_SHAPE_COLOUR = {
    0.15: [0.904, 0.883, 0.895, 0.819],
    0.55: [0.598, 0.572, 0.580, 0.582],
    0.95: [0.286, 0.283, 0.282, 0.283],
}


@pytest.mark.parametrize("eps", [0.15, 0.55, 0.95])
def test_table3_shape_distances_are_reproduced(eps):
    t = random_badnet(np.arange(5), eps, (32, 32, 3))
    shape, colour = cosine_distances_to_first(t)
    assert shape[0] == 0.0 and colour[0] == 0.0
    # shapes: the printed three decimals (0.8498 is printed 0.849 once)
    np.testing.assert_allclose(shape[1:], TABLE3_SHAPE[eps], atol=1.0e-3)
    # shape+colour: same level, not the same digits (see strategies.triggers)
    np.testing.assert_allclose(colour[1:], TABLE3_SHAPE_COLOUR[eps], atol=0.03)
    # and both near their expectations 1 - eps and 1 - 0.75 eps
    np.testing.assert_allclose(shape[1:], 1 - eps, atol=0.1)
    np.testing.assert_allclose(colour[1:], 1 - 0.75 * eps, atol=0.1)


# --------------------------------------------------------------------------- #
# Orthogonal-BadNet
# --------------------------------------------------------------------------- #


def test_orthogonal_matrices_are_orthogonal_and_seeded_like_scipy():
    from strategies.trigger_generators import _ortho_matrices

    q = _ortho_matrices(np.array([0, 1, 2, 9, 1]), 32)
    for k, s in enumerate([0, 1, 2, 9, 1]):
        np.testing.assert_allclose(q[k] @ q[k].T, np.eye(32), atol=1e-12)
        np.testing.assert_allclose(q[k].T @ q[k], np.eye(32), atol=1e-12)
        np.testing.assert_array_equal(q[k], ortho_group.rvs(32, random_state=s))
    np.testing.assert_array_equal(q[1], q[4])
    assert not np.allclose(q[0], q[1])


def paper_orthogonal_badnet(i: int, eps: float, l: int, c: int):
    """The paper's Orthogonal-BadNet, written out literally (App. 6.1.8): the
    shared base (attacker 0's Random-BadNet draw), o_i = ortho_group.rvs(l)
    repeated over the c channels, and the poisoning function of an image."""
    z, m = paper_random_badnet(0, eps, l, l, c)
    o = np.repeat(ortho_group.rvs(l, random_state=i)[:, :, None], c, axis=2)
    z3 = np.repeat(z[:, :, None], c, axis=2)

    def poison(x):
        return np.rint(np.clip(x * (1 - z3 * o) + m * z3 * o, 0, 255)).astype(np.uint8)

    return z, m, z3 * o, poison


@pytest.mark.parametrize("shape", [(32, 32, 3), (28, 28, 1), (5, 5, 2)])
@pytest.mark.parametrize("eps", [0.0, 0.15, 0.55, 0.95, 1.0])
def test_orthogonal_badnet_is_the_papers_formula(shape, eps):
    h, w, c = shape
    t = orthogonal_badnet(np.arange(5), eps, shape)
    rng = np.random.RandomState(3407)
    x = rng.randint(0, 256, size=(5, h, w, c), dtype=np.uint8)
    out = apply_triggers(x, np.arange(5), t)
    for i in range(5):
        z, m, zo, poison = paper_orthogonal_badnet(i, eps, h, c)
        np.testing.assert_array_equal(t.masks[i], z)
        np.testing.assert_array_equal(t.patterns[i], m)
        np.testing.assert_array_equal(t.alpha[i], zo[:, :, 0])
        np.testing.assert_array_equal(out[i], poison(x[i].astype(np.float64)))


@pytest.mark.parametrize("shape", [(32, 32, 3), (28, 28, 1)])
@pytest.mark.parametrize("eps", [0.05, 0.15, 0.55, 0.95])
def test_orthogonal_badnet_stays_inside_its_mask(shape, eps):
    # every attacker, every eps: pixels off the shape z are never changed, and the
    # shape has Random-BadNet's density eps (eps keeps its meaning)
    h, w, c = shape
    n = 20
    t = orthogonal_badnet(np.arange(n), eps, shape)
    rng = np.random.RandomState(3407)
    x = rng.randint(0, 256, size=(4 * n, h, w, c), dtype=np.uint8)
    who = np.arange(4 * n) % n
    out = apply_triggers(x, who, t)
    off = t.masks[who] == 0
    np.testing.assert_array_equal(out[off], x[off])
    assert np.all(t.alpha[t.masks == 0] == 0) and np.abs(t.alpha).max() <= 1
    sd = np.sqrt(h * w * eps * (1 - eps))
    assert np.all(np.abs(t.masks.reshape(n, -1).sum(axis=1) - eps * h * w) <= 6 * sd)
    # inside the shape it does change pixels (a Haar matrix has no zero entries)
    changed = (out != x).any(axis=-1)
    if eps > 0.1:
        assert changed[~off].mean() > 0.5


def test_orthogonal_badnet_is_deterministic_and_differs_per_attacker():
    a = orthogonal_badnet(np.arange(10), 0.55, (32, 32, 3))
    b = orthogonal_badnet(np.arange(10), 0.55, (32, 32, 3))
    np.testing.assert_array_equal(a.alpha, b.alpha)
    assert len({row.tobytes() for row in a.alpha.reshape(10, -1)}) == 10
    np.testing.assert_array_equal(a.masks, np.broadcast_to(a.masks[0], a.masks.shape))


# Table 4 (Orthogonal-BadNet, 32x32x3): printed distances to agent 1 of agents 2-5.
TABLE4_SHAPE = {0.15: [1.0, 1.0, 1.0, 0.996], 0.55: [0.897, 1.0, 1.0, 0.959],
                0.95: [0.777, 1.0, 1.0, 0.918]}


@pytest.mark.parametrize("eps", [0.15, 0.55, 0.95])
def test_orthogonal_badnet_distances_as_computed(eps):
    t = orthogonal_badnet(np.arange(5), eps, (32, 32, 3))
    shape, colour = cosine_distances_to_first(t)
    a = t.alpha.reshape(5, -1)
    mc = (t.patterns * t.alpha[..., None]).reshape(5, -1)
    for i in range(1, 5):
        assert shape[i] == pytest.approx(scipy_cosine(a[0], a[i]), abs=1e-12)
        assert colour[i] == pytest.approx(scipy_cosine(mc[0], mc[i]), abs=1e-12)
    assert shape[0] == colour[0] == 0.0
    # independent Haar matrices on a shared shape: near 1 (0.94-1.15 measured),
    # the level Table 4 prints, far from Random-BadNet's 1 - eps at eps = 0.95
    np.testing.assert_allclose(shape[1:], 1.0, atol=0.2)
    np.testing.assert_allclose(colour[1:], 1.0, atol=0.2)
    np.testing.assert_allclose(shape[1:], TABLE4_SHAPE[eps], atol=0.25)


def test_orthogonal_badnet_needs_square_images():
    with pytest.raises(ValueError, match=r"image_shape=\(8, 5, 3\) is out of range: allowed square images of side >= 2 for orthogonal-badnet"):
        orthogonal_badnet([0], 0.5, (8, 5, 3))
    with pytest.raises(ValueError, match="square images of side >= 2"):
        orthogonal_badnet([0], 0.5, (1, 1, 3))


def test_trigger_versions_enter_the_keys():
    assert trigger_key("random-badnet") == "random-badnet"
    assert trigger_key("orthogonal-badnet") == "orthogonal-badnet@v2"
    assert TRIGGERS["rotated-badnet"].version == 1
    ortho = AttackerStrategy.orthogonal()
    assert ortho.key_data()["trigger"] == "orthogonal-badnet@v2"
    assert ortho.to_dict()["trigger"] == "orthogonal-badnet"  # the name users write
    assert AttackerStrategy.independent().key_data()["trigger"] == "random-badnet"
    act = AttackerAction(1, 2, trigger="orthogonal-badnet")
    assert act.key() != AttackerAction(1, 2, trigger="rotated-badnet").key()
    from strategies import DefenderStrategy, content_key

    d = DefenderStrategy(defense="adversarial-training", params={"trigger": "orthogonal-badnet"})
    assert d.to_dict(keyed=True)["params"]["trigger"] == "orthogonal-badnet@v2"
    assert d.to_dict()["params"]["trigger"] == "orthogonal-badnet"
    # version-1 names keep the keys they had before versions existed
    plain = {k: v for k, v in AttackerAction(1, 2).to_dict().items()}
    assert AttackerAction(1, 2).key() == content_key("attacker-action", plain)


@pytest.mark.parametrize("shape", SHAPES)
def test_rotated_badnet_matches_its_definition(shape):
    h, w, c = shape
    eps = 0.55
    t = rotated_badnet(np.arange(4), eps, shape)
    _, base = paper_random_badnet(0, eps, h, w, c)  # shared base: attacker 0's draw
    for i in range(4):
        q = ortho_group.rvs(h, random_state=i)
        expected = np.stack([q @ base[:, :, ch] for ch in range(c)], axis=-1)
        expected = np.clip(expected, 0, 255)
        np.testing.assert_allclose(t.patterns[i], expected, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(t.masks[i], (t.patterns[i] > 0).any(axis=-1))
    assert t.patterns.min() >= 0 and t.patterns.max() <= 255
    assert np.all(t.patterns[t.masks == 0] == 0)


def test_rotated_badnet_is_deterministic_and_differs_per_attacker():
    a = rotated_badnet(np.arange(10), 0.55, (32, 32, 3))
    b = rotated_badnet(np.arange(10), 0.55, (32, 32, 3))
    np.testing.assert_array_equal(a.patterns, b.patterns)
    flat = a.patterns.reshape(10, -1)
    assert len({row.tobytes() for row in flat}) == 10
    shape, colour = cosine_distances_to_first(a)
    assert np.all(colour[1:] > 0.3)  # far apart, unlike a shared trigger


def test_rotated_badnet_rotation_preserves_column_norms_before_clipping():
    # Q is orthogonal, so the unclipped rotated base has the base's column norms;
    # the clipped pattern keeps only the positive part, hence no larger norms.
    _, base = paper_random_badnet(0, 0.3, 16, 16, 1)
    t = rotated_badnet([5], 0.3, (16, 16, 1))
    q = ortho_group.rvs(16, random_state=5)
    rotated = q @ base[:, :, 0]
    np.testing.assert_allclose(
        np.linalg.norm(rotated, axis=0), np.linalg.norm(base[:, :, 0], axis=0), atol=1e-9
    )
    assert np.all(
        np.linalg.norm(t.patterns[0, :, :, 0], axis=0)
        <= np.linalg.norm(base[:, :, 0], axis=0) + 1e-9
    )


def test_rotated_badnet_needs_height_two():
    with pytest.raises(ValueError, match=r"image_shape=\(1, \d+, \d+\) is out of range: allowed height in \[2, inf\) for rotated-badnet"):
        rotated_badnet([0], 0.5, (1, 8, 3))


# --------------------------------------------------------------------------- #
# Patch-BadNet
# --------------------------------------------------------------------------- #


def test_patch_side_rule():
    assert patch_side(0.0, 32, 32) == 0
    assert patch_side(0.01, 32, 32) == 3  # the classic 3x3 square
    assert patch_side(0.01, 28, 28) == 3
    assert patch_side(0.55, 32, 32) == 24  # sqrt(563.2) = 23.7
    assert patch_side(1.0, 32, 32) == 32
    assert patch_side(1e-6, 32, 32) == 1  # at least one pixel when eps > 0
    assert patch_side(1.0, 8, 5) == 5  # never more than min(H, W)


@pytest.mark.parametrize("shape", SHAPES)
def test_patch_badnet_is_a_white_bottom_right_square(shape):
    h, w, c = shape
    eps = [0.0, 0.1, 0.5]
    t = patch_badnet(np.arange(3), eps, shape)
    for i, e in enumerate(eps):
        s = patch_side(e, h, w)
        expected = np.zeros((h, w), np.uint8)
        if s:
            expected[h - s :, w - s :] = 1
        np.testing.assert_array_equal(t.masks[i], expected)
        np.testing.assert_array_equal(t.patterns[i], 255.0 * expected[..., None].repeat(c, -1))
    # the seed does not matter
    u = patch_badnet([9, 1, 4], eps, shape)
    np.testing.assert_array_equal(t.masks, u.masks)


# --------------------------------------------------------------------------- #
# make_triggers from actions
# --------------------------------------------------------------------------- #


def test_make_triggers_from_expanded_strategy_rows_are_attackers():
    s = AttackerStrategy.escalate("eps", fraction=0.4, base=0.15, raised=0.55)
    actions = s.expand(10, 10)
    t = make_triggers(actions, (32, 32, 3))
    assert len(t) == 10
    for a in actions:
        z, m = paper_random_badnet(a.index, a.eps, 32, 32, 3)
        np.testing.assert_array_equal(t.masks[a.index], z)
        np.testing.assert_array_equal(t.patterns[a.index], m)


def test_make_triggers_shared_trigger_is_attacker_zeros():
    actions = AttackerStrategy.shared(eps=0.3).expand(6, 10)
    t = make_triggers(actions, (28, 28, 1))
    z, m = paper_random_badnet(0, 0.3, 28, 28, 1)
    for i in range(6):
        np.testing.assert_array_equal(t.masks[i], z)
        np.testing.assert_array_equal(t.patterns[i], m)
    shape, colour = cosine_distances_to_first(t)
    np.testing.assert_array_equal(shape, 0.0)
    np.testing.assert_array_equal(colour, 0.0)


def test_make_triggers_mixed_names():
    actions = [
        AttackerAction(0, 1, eps=0.5, trigger="random-badnet"),
        AttackerAction(1, 2, eps=0.5, trigger="orthogonal-badnet"),
        AttackerAction(2, 3, eps=0.1, trigger="patch-badnet"),
        AttackerAction(3, 4, eps=0.5, trigger="clean-label"),
        AttackerAction(4, 5, eps=0.5, trigger="edge-case"),
        AttackerAction(5, 6, eps=0.5, trigger="rotated-badnet"),
    ]
    t = make_triggers(actions, (32, 32, 3))
    np.testing.assert_array_equal(t.patterns[0], random_badnet([0], 0.5, (32, 32, 3)).patterns[0])
    np.testing.assert_array_equal(t.alpha[1], orthogonal_badnet([1], 0.5, (32, 32, 3)).alpha[0])
    np.testing.assert_array_equal(t.alpha[0], t.masks[0])  # replacement rows: alpha = z
    np.testing.assert_array_equal(
        t.patterns[5], rotated_badnet([5], 0.5, (32, 32, 3)).patterns[0]
    )
    # a blended row among replacement rows poisons exactly as it does alone
    x = np.random.RandomState(0).randint(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    out = apply_triggers(x, np.arange(6), t)
    alone = apply_triggers(x[1:2], [0], orthogonal_badnet([1], 0.5, (32, 32, 3)))
    np.testing.assert_array_equal(out[1], alone[0])
    for k in (0, 2, 5):
        single = apply_triggers(x[k:k + 1], [0], make_triggers([actions[k]], (32, 32, 3)))
        np.testing.assert_array_equal(out[k], single[0])
    np.testing.assert_array_equal(t.masks[2], patch_badnet([2], 0.1, (32, 32, 3)).masks[0])
    np.testing.assert_array_equal(t.patterns[3], random_badnet([3], 0.5, (32, 32, 3)).patterns[0])
    assert t.masks[4].sum() == 0 and not TRIGGERS["edge-case"].pixel


# --------------------------------------------------------------------------- #
# apply_triggers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("shape", SHAPES)
def test_apply_equals_the_formula(shape):
    h, w, c = shape
    rng = np.random.RandomState(0)
    t = random_badnet(np.arange(7), np.linspace(0.1, 0.9, 7), shape)
    images = rng.randint(0, 256, size=(300, h, w, c), dtype=np.uint8)
    who = rng.randint(0, 7, size=300)
    before = images.copy()
    out = apply_triggers(images, who, t, chunk_size=64)
    z = t.masks[who][..., None].astype(np.float64)
    expected = np.rint(images * (1 - z) + t.patterns[who] * z).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(images, before)  # input untouched
    assert out.dtype == np.uint8 and out.shape == images.shape
    # the chunk size does not change the result
    np.testing.assert_array_equal(apply_triggers(images, who, t, chunk_size=1000), out)


def test_apply_rotated_and_grayscale_without_channel_axis():
    t = rotated_badnet(np.arange(3), 0.4, (28, 28, 1))
    rng = np.random.RandomState(1)
    images = rng.randint(0, 256, size=(20, 28, 28), dtype=np.uint8)
    who = np.arange(20) % 3
    out = apply_triggers(images, who, t)
    assert out.shape == (20, 28, 28)
    z = t.masks[who].astype(np.float64)
    expected = np.rint(images * (1 - z) + t.patterns[who][..., 0] * z).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)


def test_apply_validates_inputs():
    t = random_badnet(np.arange(3), 0.5, (32, 32, 3))
    x = np.zeros((4, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8"):
        apply_triggers(x.astype(np.float32), [0, 1, 2, 0], t)
    with pytest.raises(ValueError, match="image shape"):
        apply_triggers(np.zeros((4, 28, 28, 1), np.uint8), [0, 1, 2, 0], t)
    with pytest.raises(ValueError, match=r"contains 3: allowed \[0, 2\]"):
        apply_triggers(x, [0, 1, 2, 3], t)
    with pytest.raises(ValueError, match="does not match the 4 images"):
        apply_triggers(x, [0, 1], t)


# --------------------------------------------------------------------------- #
# distances and the container
# --------------------------------------------------------------------------- #


def test_distances_match_scipy_cosine():
    t = random_badnet(np.arange(6), [0.1, 0.3, 0.5, 0.7, 0.9, 0.5], (16, 16, 3))
    shape, colour = cosine_distances_to_first(t)
    for i in range(1, 6):
        a, b = t.masks[0].ravel().astype(float), t.masks[i].ravel().astype(float)
        assert shape[i] == pytest.approx(scipy_cosine(a, b), abs=1e-12)
        a, b = t.patterns[0].ravel(), t.patterns[i].ravel()
        assert colour[i] == pytest.approx(scipy_cosine(a, b), abs=1e-12)


def test_distances_with_empty_triggers():
    t = random_badnet(np.arange(3), [0.0, 0.0, 0.5], (8, 8, 1))
    shape, colour = cosine_distances_to_first(t)
    np.testing.assert_array_equal(shape, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(colour, [0.0, 0.0, 1.0])


def test_triggers_container_is_read_only_and_validated():
    t = random_badnet(np.arange(3), 0.5, (8, 8, 3))
    for arr in (t.masks, t.patterns, t.values, t.keep):
        with pytest.raises(ValueError):
            arr[0] = 0
    sub = t[[2, 0]]
    np.testing.assert_array_equal(sub.patterns, t.patterns[[2, 0]])
    assert len(t[1]) == 1 and t.image_shape == (8, 8, 3) and t.n == 3
    with pytest.raises(ValueError, match=r"^masks=2.0 is out of range: allowed 0 or 1$"):
        Triggers(np.full((1, 2, 2), 2), np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        Triggers(np.ones((1, 2, 2)), np.full((1, 2, 2, 1), 300.0))
    with pytest.raises(ValueError, match=r"^patterns=1.0 is out of range: allowed 0 where the mask is 0$"):
        Triggers(np.zeros((1, 2, 2)), np.ones((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="does not match"):
        Triggers(np.zeros((1, 2, 2)), np.zeros((1, 3, 2, 1)))
    # blend weights: read-only, kept by indexing, in [-1, 1], zero off the mask
    o = orthogonal_badnet(np.arange(3), 0.5, (8, 8, 3))
    with pytest.raises(ValueError):
        o.alpha[0] = 0
    np.testing.assert_array_equal(o[[2, 0]].alpha, o.alpha[[2, 0]])
    built = Triggers(o.masks, o.patterns, alpha=o.alpha)
    np.testing.assert_array_equal(built.alpha, o.alpha)
    with pytest.raises(ValueError, match=r"alpha=\S+ is out of range: allowed \[-1, 1\]"):
        Triggers(np.ones((1, 2, 2)), np.ones((1, 2, 2, 1)), alpha=np.full((1, 2, 2), 1.5))
    with pytest.raises(ValueError, match=r"^alpha=\S+ is out of range: allowed 0 where the mask is 0$"):
        Triggers(np.zeros((1, 2, 2)), np.zeros((1, 2, 2, 1)), alpha=np.full((1, 2, 2), 0.5))
    with pytest.raises(ValueError, match="alpha.shape"):
        Triggers(np.zeros((1, 2, 2)), np.zeros((1, 2, 2, 1)), alpha=np.zeros((1, 3, 2)))


def test_generator_argument_errors():
    with pytest.raises(ValueError, match=r"eps=1.5 is out of range: allowed \[0, 1\]"):
        random_badnet([0], 1.5, (32, 32, 3))
    with pytest.raises(ValueError, match=r"seed=-1 is out of range"):
        random_badnet([-1], 0.5, (32, 32, 3))
    with pytest.raises(ValueError, match=r"image_shape=\(32, 32\) is not \(H, W, C\)"):
        random_badnet([0], 0.5, (32, 32))
    with pytest.raises(ValueError, match="shape"):
        random_badnet([0, 1], [0.5, 0.5, 0.5], (32, 32, 3))
    with pytest.raises(ValueError, match="unknown trigger"):
        make_triggers([type("A", (), {"trigger": "nope", "eps": 0.5, "trigger_seed": 0})()],
                      (8, 8, 1))
