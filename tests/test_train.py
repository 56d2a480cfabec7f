"""Tests for oracle.victims.train and the modules it is built from (device, inputs, loop,
inference): presets, on-device augmentation, the training loop, early stopping, determinism,
the batch hook, inference helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from oracle.data.datasets import load_dataset
from oracle.victims.models import build_model, normalization, to_input
from oracle.victims.loop import batch_bounds
from oracle.victims.presets import FLIP_DATASETS, PRESETS, TrainPreset, flip_default, get_preset, lr_factor
from oracle.victims.train import (
    TrainedVictim,
    Normalizer,
    device_info,
    features,
    predict,
    random_flip,
    random_translate,
    resolve_device,
    train_victim,
)

SEED = 3407


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: on a busy 2-core machine two OpenMP threads can
    make small convolutions ~50× slower (spin-waiting on a taken core)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def tiny_run(digits) -> TrainedVictim:
    return train_victim(
        "smallcnn", digits.x_train, digits.y_train, digits.x_test, digits.y_test,
        num_classes=10, dataset="digits", preset="tiny", seed=SEED, device="cpu",
    )  # fmt: skip


# --------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------
def test_preset_names_and_paper_recipe():
    assert set(PRESETS) == {"paper", "fast", "tiny", "paper-cpu"}
    p = PRESETS["paper"]
    # Datta & Shadbolt App. 6.2.3: SGD lr 0.001, momentum 0.9, batch 128, CE, early stopping
    assert (p.optimizer, p.lr, p.momentum, p.batch_size) == ("sgd", 0.001, 0.9, 128)
    assert p.nesterov is False and p.weight_decay == 0 and p.label_smoothing == 0
    assert p.schedule == "constant" and p.early_stopping and p.patience >= 1
    assert p.flip is False and p.translate == 0  # the paper names no augmentation
    f = PRESETS["fast"]
    assert f.nesterov and f.schedule == "onecycle" and f.label_smoothing > 0 and f.translate > 0
    assert f.patience is None and f.amp and f.channels_last and f.batch_size > p.batch_size
    assert f.max_epochs < 30
    assert PRESETS["tiny"].max_epochs <= 20


#: The paper-cpu preset as first measured (docs/reproduction.md, "paper-cpu: the games again"). Its to_dict() is part
#: of every cached result's key: a change here silently orphans those results, so change it only on purpose.
PAPER_CPU = {
    "name": "paper-cpu", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
    "batch_size": 128, "max_epochs": 30, "schedule": "onecycle", "warmup_fraction": 0.2, "label_smoothing": 0.0,
    "flip": False, "translate": 0, "patience": None, "min_delta": 0.0, "amp": False, "channels_last": False,
    "drop_last": False, "grad_clip": None,
}


def test_paper_cpu_is_the_paper_recipe_with_the_optimiser_swapped():
    """The victim ablation's choice: the paper's recipe (batch, momentum, no augmentation, no label smoothing) with
    the optimiser under which SmallCNN learns on a CPU subset, over the paper's ~30 epochs, and no early stopping
    (with the one-cycle peak it stopped victims before they had learned their task)."""
    cpu, paper, fast = PRESETS["paper-cpu"], PRESETS["paper"].to_dict(), PRESETS["fast"].to_dict()
    d = cpu.to_dict()
    changed = {k for k in PAPER_CPU if d[k] != paper[k]}
    assert changed == {"name", "lr", "nesterov", "weight_decay", "schedule", "warmup_fraction", "max_epochs",
                       "patience"}
    optimiser = ("optimizer", "lr", "momentum", "nesterov", "weight_decay", "schedule", "warmup_fraction")
    assert all(d[k] == fast[k] for k in optimiser)
    assert not cpu.early_stopping and cpu.max_epochs == 30 and get_preset("paper-cpu") is cpu


def test_paper_cpu_to_dict_is_stable():
    d = PRESETS["paper-cpu"].to_dict()
    assert {k: d[k] for k in PAPER_CPU} == PAPER_CPU  # every field as first measured (cache keys)
    assert json.dumps(d, sort_keys=True) == json.dumps(TrainPreset(**d).to_dict(), sort_keys=True)
    with pytest.raises(ValueError, match="lr=-0.1 is out of range"):
        get_preset("paper-cpu", lr=-0.1)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_to_dict_round_trips_and_is_json(name):
    preset = PRESETS[name]
    d = preset.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert TrainPreset(**d) == preset
    assert d["name"] == name and set(d) >= {"lr", "batch_size", "schedule", "patience", "amp"}


def test_get_preset_overrides_and_passthrough():
    before = PRESETS["fast"].to_dict()
    p = get_preset("fast", lr=0.05, max_epochs=3)
    assert (p.lr, p.max_epochs) == (0.05, 3)
    assert p.replace(lr=PRESETS["fast"].lr, max_epochs=PRESETS["fast"].max_epochs) == PRESETS["fast"]
    assert get_preset(p) is p
    assert get_preset("tiny") is PRESETS["tiny"]
    assert PRESETS["fast"].to_dict() == before  # the registry is not mutated


def test_unknown_preset_lists_names():
    with pytest.raises(ValueError, match="unknown preset 'fastest': known presets are paper, fast, tiny"):
        get_preset("fastest")
    with pytest.raises(ValueError, match="unknown preset field 'learning_rate': known preset fields are .*lr"):
        get_preset("fast", learning_rate=0.1)


@pytest.mark.parametrize(
    "field, value",
    [
        ("lr", 0.0),
        ("lr", -1.0),
        ("lr", float("nan")),
        ("lr", "0.1"),
        ("momentum", 1.0),
        ("momentum", -0.1),
        ("batch_size", 0),
        ("batch_size", 1.5),
        ("batch_size", True),
        ("max_epochs", 0),
        ("schedule", "cosine"),
        ("optimizer", "rmsprop"),
        ("warmup_fraction", 1.0),
        ("label_smoothing", 1.0),
        ("translate", -1),
        ("patience", 0),
        ("min_delta", -1e-3),
        ("flip", "yes"),
        ("amp", 1),
        ("grad_clip", 0.0),
        ("weight_decay", -1.0),
    ],
)
def test_preset_validation_names_field_value_and_range(field, value):
    # strategies.validate's wording: "lr=0.0 is out of range: allowed (0, inf)", "unknown schedule 'cosine': ..."
    with pytest.raises(ValueError, match=rf"^({field}=.* is (out of range|not an? \w+): allowed |unknown {field} '.*': known )"):
        get_preset("fast", **{field: value})


def test_nesterov_needs_momentum():
    with pytest.raises(ValueError, match="nesterov=True.*momentum"):
        get_preset("fast", momentum=0.0)
    assert get_preset("fast", momentum=0.0, nesterov=False).momentum == 0.0


def test_lr_factor_schedules():
    assert lr_factor("constant", 7, 10) == 1.0
    assert [lr_factor("linear", t, 4) for t in range(4)] == [1.0, 0.75, 0.5, 0.25]
    # onecycle over 10 steps with 20% warm-up: 0.2 → 1 over 2 steps, then linear to 0
    got = [lr_factor("onecycle", t, 10, 0.2) for t in range(10)]
    np.testing.assert_allclose(got, [0.2, 0.6, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])
    assert lr_factor("onecycle", 0, 10, 0.0) == 1.0
    with pytest.raises(ValueError, match="^unknown schedule 'cosine': known schedules are constant, linear, onecycle$"):
        lr_factor("cosine", 0, 10)


def test_flip_default_by_dataset():
    assert flip_default("cifar10") and flip_default("stl10")
    for name in ("mnist", "fashion-mnist", "digits", "svhn"):
        assert not flip_default(name)
    assert FLIP_DATASETS == {"cifar10", "stl10"}


def test_batch_bounds():
    """The victims' batches: a partial last batch dropped (drop_last) or kept, a lone last image merged."""
    assert batch_bounds(10, 4, drop_last=True, merge_lone=True) == [(0, 4), (4, 8)]
    assert batch_bounds(10, 4, merge_lone=True) == [(0, 4), (4, 8), (8, 10)]
    assert batch_bounds(9, 4, merge_lone=True) == [(0, 4), (4, 9)]  # a lone last image joins the batch before
    assert batch_bounds(3, 4, drop_last=True) == [(0, 3)]  # fewer images than a batch: one batch
    assert batch_bounds(8, 4, drop_last=True) == [(0, 4), (4, 8)]


# --------------------------------------------------------------------------
# augmentation and normalisation
# --------------------------------------------------------------------------
def _images(b=64, h=6, w=5, c=3, dtype=torch.uint8):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (b, h, w, c), generator=g)  # no zeros: padding is recognisable
    return x.to(dtype)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_flip_is_an_exact_mirror(dtype):
    x = _images(dtype=dtype)
    out = random_flip(x, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    mirrored = torch.tensor([torch.equal(o, xi.flip(1)) for o, xi in zip(out, x)])
    same = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x)])
    assert bool((mirrored | same).all())
    assert 10 < int(mirrored.sum()) < 54  # about half of 64 flipped
    again = random_flip(x, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)  # seeded
    assert torch.equal(random_flip(x, torch.Generator().manual_seed(1), p=0.0), x)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_translate_crops_come_from_the_padded_image(dtype):
    pixels = 2
    x = _images(b=200, dtype=dtype)
    out = random_translate(x, pixels, torch.Generator().manual_seed(2))
    assert out.shape == x.shape and out.dtype == x.dtype
    h, w = x.shape[1:3]
    padded = F.pad(x, (0, 0, pixels, pixels, pixels, pixels))
    seen = set()
    for o, p in zip(out, padded):
        hits = [
            (dy, dx)
            for dy in range(2 * pixels + 1)
            for dx in range(2 * pixels + 1)
            if torch.equal(o, p[dy : dy + h, dx : dx + w])
        ]
        assert len(hits) == 1, "each output is exactly one crop of its zero-padded image"
        seen.add(hits[0])
    assert len(seen) == (2 * pixels + 1) ** 2  # every offset occurs in 200 draws
    assert torch.equal(random_translate(x, pixels, torch.Generator().manual_seed(2)), out)
    assert random_translate(x, 0) is x


def test_augmentation_rejects_bad_input():
    with pytest.raises(ValueError, match="allowed: \\(B, H, W, C\\)"):
        random_flip(torch.zeros(3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="pixels=-1"):
        random_translate(_images(), -1)


def test_normalizer_matches_to_input_bit_for_bit():
    x = _images(c=3)
    mean, std = normalization("cifar10")
    norm = Normalizer("cifar10", 3, torch.device("cpu"), channels_last=False)
    assert torch.equal(norm(x), to_input(x, mean, std))
    with pytest.raises(ValueError, match="1-channel normalization"):
        Normalizer("mnist", 3, torch.device("cpu"), channels_last=False)


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_tiny_preset_learns_digits(tiny_run, digits):
    r = tiny_run
    assert r.val_acc > 0.8
    assert not r.model.training
    assert r.epochs_run == PRESETS["tiny"].max_epochs == r.best_epoch and not r.stopped_early
    assert r.preset == PRESETS["tiny"].to_dict() and r.device == "cpu" and r.seed == SEED
    for key in ("train_loss", "val_loss", "val_acc", "seconds"):
        assert len(r.history[key]) == r.epochs_run and all(math.isfinite(v) for v in r.history[key])
    assert r.history["train_loss"][-1] < r.history["train_loss"][0]
    assert r.val_acc == r.history["val_acc"][-1]
    assert r.seconds > 0
    # predict() reproduces the validation accuracy measured inside training
    pred = predict(r.model, digits.x_test, dataset="digits", device="cpu")
    assert pred.dtype == np.int64 and pred.shape == digits.y_test.shape
    assert np.mean(pred == digits.y_test) == pytest.approx(r.val_acc)
    # the returned model is a zoo model: head(features) == forward
    feats = features(r.model, digits.x_test[:50], dataset="digits")
    assert feats.shape == (50, r.model.feature_dim) and feats.dtype == np.float32
    logits = r.model.head(torch.from_numpy(feats))
    np.testing.assert_array_equal(logits.argmax(1).numpy(), pred[:50])


@pytest.mark.slow
def test_same_seed_same_weights_on_cpu(tiny_run, digits):
    again = train_victim(
        "smallcnn", digits.x_train, digits.y_train, digits.x_test, digits.y_test,
        num_classes=10, dataset="digits", preset="tiny", seed=SEED, device="cpu",
    )  # fmt: skip
    a, b = tiny_run.model.state_dict(), again.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert again.history["train_loss"] == tiny_run.history["train_loss"]
    other = train_victim(
        "smallcnn", digits.x_train, digits.y_train, digits.x_test, digits.y_test,
        num_classes=10, dataset="digits", preset=get_preset("tiny", max_epochs=1), seed=SEED + 1, device="cpu",
    )  # fmt: skip
    assert not torch.equal(other.model.state_dict()["conv1.weight"], a["conv1.weight"])


@pytest.mark.slow
def test_training_is_seeded_with_augmentation(digits):
    """Flip and translate draw from the run's generator: two runs agree, and differ from no augmentation."""
    preset = get_preset("tiny", max_epochs=2, flip=True, translate=1)
    kw = dict(num_classes=10, dataset="digits", preset=preset, device="cpu")
    x, y = digits.x_train[:300], digits.y_train[:300]
    r1 = train_victim("smallcnn", x, y, None, None, **kw)
    r2 = train_victim("smallcnn", x, y, None, None, **kw)
    plain = train_victim("smallcnn", x, y, None, None, **{**kw, "preset": preset.replace(flip=False, translate=0)})
    w = lambda r: r.model.state_dict()["conv1.weight"]  # noqa: E731
    assert torch.equal(w(r1), w(r2)) and not torch.equal(w(r1), w(plain))
    assert math.isnan(r1.val_acc) and math.isnan(r1.history["val_loss"][0])  # no validation data


@pytest.mark.slow
def test_early_stopping_on_a_plateau(digits):
    # lr so small that the validation loss cannot improve by min_delta after epoch 1
    preset = get_preset("paper", lr=1e-9, min_delta=1e-3)
    r = train_victim(
        "smallcnn", digits.x_train[:400], digits.y_train[:400], digits.x_test[:200], digits.y_test[:200],
        num_classes=10, dataset="digits", preset=preset, device="cpu",
    )  # fmt: skip
    assert r.stopped_early
    assert r.epochs_run == 1 + preset.patience < preset.max_epochs
    assert r.best_epoch == 1


@pytest.mark.slow
def test_early_stopping_restores_the_best_weights(digits):
    # validation labels shuffled: the better the model fits the training set,
    # the worse its validation loss, so the best epoch comes early
    rng = np.random.default_rng(0)
    y_val = rng.permutation(digits.y_test)
    preset = get_preset("tiny", patience=2, max_epochs=30)
    r = train_victim(
        "smallcnn", digits.x_train, digits.y_train, digits.x_test, y_val,
        num_classes=10, dataset="digits", preset=preset, device="cpu",
    )  # fmt: skip
    assert r.stopped_early and r.epochs_run == r.best_epoch + preset.patience
    best = r.best_epoch - 1
    assert r.history["val_loss"][best] == min(r.history["val_loss"])
    with torch.no_grad():
        logits = r.model(to_input(torch.from_numpy(digits.x_test.copy()), *normalization("digits")))
    loss = F.cross_entropy(logits, torch.from_numpy(y_val)).item()
    assert loss == pytest.approx(r.history["val_loss"][best], rel=1e-5)
    assert loss != pytest.approx(r.history["val_loss"][-1], rel=1e-3)
    assert r.val_acc == r.history["val_acc"][best]


@pytest.mark.slow
def test_extra_batch_transform_with_soft_targets(digits):
    calls = []

    def soft_mix(x, y, generator):
        """Mixup-like: blend each image with a shuffled partner, soft targets."""
        calls.append((tuple(x.shape), x.dtype, y.dtype, isinstance(generator, torch.Generator)))
        perm = torch.randperm(x.shape[0], generator=generator, device=x.device)
        lam = 0.7
        onehot = F.one_hot(y, 10).float()
        return lam * x + (1 - lam) * x[perm], lam * onehot + (1 - lam) * onehot[perm]

    r = train_victim(
        "smallcnn", digits.x_train, digits.y_train, digits.x_test, digits.y_test,
        num_classes=10, dataset="digits", preset="tiny", device="cpu", extra_batch_transform=soft_mix,
    )  # fmt: skip
    batch = PRESETS["tiny"].batch_size
    steps = len(digits.y_train) // batch * PRESETS["tiny"].max_epochs
    assert len(calls) == steps
    assert calls[0] == ((batch, 1, 8, 8), torch.float32, torch.int64, True)
    assert r.val_acc > 0.6
    assert all(math.isfinite(v) for v in r.history["train_loss"])


@pytest.mark.slow
def test_extra_batch_transform_checked(digits):
    kw = dict(num_classes=10, dataset="digits", preset=get_preset("tiny", max_epochs=1), device="cpu")
    x, y = digits.x_train[:100], digits.y_train[:100]
    with pytest.raises(ValueError, match="soft targets have shape"):
        train_victim("smallcnn", x, y, None, None, extra_batch_transform=lambda x, y, g: (x, torch.zeros(len(y), 3)), **kw)
    with pytest.raises(FloatingPointError, match="diverged"):
        train_victim("smallcnn", x, y, None, None, extra_batch_transform=lambda x, y, g: (x * math.nan, y), **kw)
    with pytest.raises(ValueError, match="extra_batch_transform"):
        train_victim("smallcnn", x, y, None, None, extra_batch_transform="cutmix", **kw)


def test_train_victim_validates_inputs(digits):
    x, y = digits.x_train[:64], digits.y_train[:64]
    kw = dict(num_classes=10, dataset="digits", preset=get_preset("tiny", max_epochs=1), device="cpu")
    with pytest.raises(ValueError, match="x_train has dtype float"):
        train_victim("smallcnn", x.astype(float), y, None, None, **kw)
    with pytest.raises(ValueError, match=r"y_train\[0\]=10 is out of range: allowed \[0, 9\]"):
        train_victim("smallcnn", x, y + 10, None, None, **kw)
    with pytest.raises(ValueError, match="y_train has dtype"):
        train_victim("smallcnn", x, y[:10], None, None, **kw)
    with pytest.raises(ValueError, match="x_val images have shape"):
        train_victim("smallcnn", x, y, x[:, :4, :4], y, **kw)
    with pytest.raises(ValueError, match="unknown architecture 'resnet7': known architectures are "):
        train_victim("resnet7", x, y, None, None, **kw)
    with pytest.raises(ValueError, match="dataset='imagenet' is out of range: allowed "):
        train_victim("smallcnn", x, y, None, None, **{**kw, "dataset": "imagenet"})
    with pytest.raises(ValueError, match="^unknown preset 'slow': known presets are "):
        train_victim("smallcnn", x, y, None, None, **{**kw, "preset": "slow"})
    with pytest.raises(ValueError, match="needs validation data"):
        train_victim("smallcnn", x, y, None, None, **{**kw, "preset": "paper"})
    with pytest.raises(ValueError, match="seed=-1"):
        train_victim("smallcnn", x, y, None, None, seed=-1, **kw)


@pytest.mark.slow
def test_progress_bar_and_nhw_input(digits, capsys, monkeypatch):
    monkeypatch.setenv("BACKFIRE_PROGRESS", "bar")  # a bar even though pytest's stderr is no terminal
    x = digits.x_train[:64, :, :, 0]  # (N, H, W) is accepted as one channel
    r = train_victim(
        "smallcnn", x, digits.y_train[:64], x[:32], digits.y_train[:32],
        num_classes=10, dataset="digits", preset=get_preset("tiny", max_epochs=2), device="cpu", progress=True,
    )  # fmt: skip
    assert r.epochs_run == 2
    assert "epoch" in capsys.readouterr().err


# --------------------------------------------------------------------------
# inference helpers and device
# --------------------------------------------------------------------------
def test_predict_and_features_edge_cases():
    model = build_model("smallcnn", 1, 10, 8, seed=0)
    model.train()
    x = np.zeros((0, 8, 8, 1), np.uint8)
    assert predict(model, x, dataset="digits").shape == (0,)
    assert features(model, x, dataset="digits").shape == (0, 32)
    xs = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    # batch size does not change the answer; the model's mode is restored
    a = predict(model, xs, dataset="digits", batch_size=2)
    b = predict(model, torch.from_numpy(xs), dataset="digits", batch_size=1024)
    np.testing.assert_array_equal(a, b)
    assert model.training
    with pytest.raises(ValueError, match="allowed: uint8"):
        predict(model, xs.astype(np.float32), dataset="digits")


def test_resolve_device_and_device_info():
    auto = resolve_device(None)
    assert auto.type in {"cuda", "mps", "cpu"}
    assert auto.type == "cuda" or not torch.cuda.is_available()
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device='gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device='cuda' is out of range: allowed cpu.*\(CUDA is not available here\)"):
            resolve_device("cuda")
    info = device_info("cpu")
    assert info["device"] == "cpu" and info["torch"] == torch.__version__ and info["gpu"] is None
    assert json.loads(json.dumps(info)) == info


@pytest.mark.slow
def test_cuda_only_settings_train_on_the_cpu(tiny_run, digits, monkeypatch):
    """The fast preset's CUDA-only settings (bf16 autocast, channels_last), switched on for the CPU: the
    same training loop runs through them (loss in fp32, evaluation under autocast) and learns as well as
    fp32 does. CI has no GPU, so this is what runs those lines there."""
    import oracle.victims.train as train

    monkeypatch.setattr(train, "use_amp", lambda amp, device: bool(amp))
    monkeypatch.setattr(train, "use_channels_last", lambda channels_last, device: bool(channels_last))
    r = train_victim(
        "smallcnn", digits.x_train, digits.y_train, digits.x_test, digits.y_test, num_classes=10,
        dataset="digits", preset=get_preset("tiny", amp=True, channels_last=True), seed=SEED, device="cpu",
    )  # fmt: skip
    assert r.model.conv1.weight.dtype == torch.float32  # autocast, not a bf16 model
    assert r.model.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(math.isfinite(v) for v in r.history["train_loss"])
    assert r.val_acc > 0.8 and abs(r.val_acc - tiny_run.val_acc) < 0.05
    pred = predict(r.model, digits.x_test, dataset="digits", device="cpu", amp=True)
    assert np.mean(pred == digits.y_test) == pytest.approx(r.val_acc, abs=0.02)


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_smoke(digits):  # pragma: no cover - runs on GPU machines only
    r = train_victim(
        "smallcnn", digits.x_train, digits.y_train, digits.x_test, digits.y_test,
        num_classes=10, dataset="digits", preset="tiny",
    )  # fmt: skip
    assert r.device.startswith("cuda") and r.val_acc > 0.8
    assert device_info(r.device)["gpu"]
    pred = predict(r.model, digits.x_test, dataset="digits")
    assert np.mean(pred == digits.y_test) == pytest.approx(r.val_acc, abs=0.01)
