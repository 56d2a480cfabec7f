"""Tests for oracle.victims.models and oracle.victims.architectures: shapes, features, parameter counts, determinism."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch

from oracle.victims.architectures import MIN_IMAGE_SIZE, MODEL_NAMES, ZooModel
from oracle.victims.models import (
    build_model,
    count_parameters,
    normalization,
    to_input,
)

SEED = 3407

EXPECTED_NAMES = (
    "smallcnn",
    "resnet9",
    "resnet20",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "wide-resnet50-2",
    "wide-resnet101-2",
    "vgg11-bn",
    "vgg9",
    "lenet",
)

# Parameter counts on 32×32×3 inputs with 10 classes (regression pins; see the
# module docstring for the layouts).
PARAMS_CIFAR10 = {
    "smallcnn": 15_722,
    "resnet9": 6_573_130,
    "resnet20": 269_722,
    "resnet18": 11_173_962,
    "resnet34": 21_282_122,
    "resnet50": 23_520_842,
    "resnet101": 42_512_970,
    "resnet152": 58_156_618,
    "wide-resnet50-2": 66_847_050,
    "wide-resnet101-2": 124_850_506,
    "vgg11-bn": 28_149_514,
    "vgg9": 3_491_530,
    "lenet": 1_626_442,
}

FEATURE_DIM = {
    "smallcnn": 32,
    "resnet9": 512,
    "resnet20": 64,
    "resnet18": 512,
    "resnet34": 512,
    "resnet50": 2048,
    "resnet101": 2048,
    "resnet152": 2048,
    "wide-resnet50-2": 2048,
    "wide-resnet101-2": 2048,
    "vgg11-bn": 4096,
    "vgg9": 512,
    "lenet": 128,
}

@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # These tensors are tiny; on a shared 2-core machine intra-op threads only
    # fight other processes for the cores (20× slower under load).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SIZE_DEPENDENT = {"vgg9", "lenet"}  # flatten layer sized from image_size


@dataclass
class Built:
    """One architecture built for CIFAR-10-like and MNIST-like inputs."""

    name: str
    cifar: ZooModel  # 32×32×3, 10 classes
    mnist: ZooModel  # 28×28×1, 7 classes (any number of classes works)


@pytest.fixture(scope="module", params=MODEL_NAMES)
def built(request: pytest.FixtureRequest) -> Built:
    # Module-scoped and parametrised: pytest runs every test of one
    # architecture together and drops its models before building the next,
    # so no two architectures are held at once.
    name = request.param
    return Built(
        name=name,
        cifar=build_model(name, 3, 10, 32, seed=SEED).eval(),
        mnist=build_model(name, 1, 7, 28, seed=SEED).eval(),
    )


def _check_forward(name: str, model: ZooModel, in_channels: int, size: int, num_classes: int) -> None:
    assert isinstance(model, ZooModel)
    assert isinstance(model.head, torch.nn.Linear)
    x = torch.randn(2, in_channels, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(x)
        feats = model.features(x)
        via_head = model.head(feats)
    assert logits.shape == (2, num_classes)
    assert feats.shape == (2, FEATURE_DIM[name]) == (2, model.feature_dim)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(logits, via_head)


def test_model_names() -> None:
    assert MODEL_NAMES == EXPECTED_NAMES
    assert set(MIN_IMAGE_SIZE) == set(MODEL_NAMES)


def test_forward_cifar_shape(built: Built) -> None:
    _check_forward(built.name, built.cifar, 3, 32, 10)


def test_forward_mnist_shape(built: Built) -> None:
    _check_forward(built.name, built.mnist, 1, 28, 7)


def test_forward_tiny_8x8(built: Built) -> None:
    if built.name in SIZE_DEPENDENT:
        model = build_model(built.name, 1, 7, 8, seed=SEED).eval()
    else:  # adaptive pooling: the 28×28 model takes 8×8 inputs as they are
        model = built.mnist
    _check_forward(built.name, model, 1, 8, 7)


def test_parameter_count_cifar10(built: Built) -> None:
    assert count_parameters(built.cifar) == PARAMS_CIFAR10[built.name]


def test_seeded_build_is_deterministic(built: Built) -> None:
    again = build_model(built.name, 3, 10, 32, seed=SEED)
    assert _same_weights(built.cifar, again)


@pytest.mark.parametrize("name", ["smallcnn", "resnet9", "resnet20", "resnet18", "vgg9", "lenet"])
def test_minimum_image_size(name: str) -> None:
    size = MIN_IMAGE_SIZE[name]
    model = build_model(name, 3, 5, size, seed=SEED).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, size, size)).shape == (2, 5)
    if size > 1:
        with pytest.raises(ValueError, match=f"image_size={size - 1}"):
            build_model(name, 3, 5, size - 1)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_smallcnn_layout_and_counts() -> None:
    # 15,722 = the paper's figure (E6), reached with 3 input channels.
    model = build_model("smallcnn", 3, 10, 32)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes == {
        "conv1.weight": (16, 3, 3, 3),
        "conv1.bias": (16,),
        "conv2.weight": (32, 16, 3, 3),
        "conv2.bias": (32,),
        "conv3.weight": (32, 32, 3, 3),
        "conv3.bias": (32,),
        "fc1.weight": (32, 32),
        "fc1.bias": (32,),
        "head.weight": (10, 32),
        "head.bias": (10,),
    }
    assert count_parameters(model) == 15_722
    # On MNIST (one channel) the same layout has 2 × 16 × 9 = 288 fewer.
    assert count_parameters(build_model("smallcnn", 1, 10, 28)) == 15_434


def test_lenet_matches_authors_mnist_network() -> None:
    model = build_model("lenet", 1, 10, 28)
    assert model.fc1.in_features == 9216
    assert count_parameters(model) == 1_199_882


def test_vgg9_flatten_width() -> None:
    assert build_model("vgg9", 3, 10, 32).fc[1].in_features == 4096
    assert build_model("vgg9", 1, 10, 28).fc[1].in_features == 2304


def test_count_parameters_trainable_only() -> None:
    model = build_model("smallcnn", 1, 10, 28)
    for p in model.conv1.parameters():
        p.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 15_434 - (16 * 9 + 16)
    assert count_parameters(model) == 15_434


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ValueError) as info:
        build_model("resnet-18", 3, 10, 32)
    message = str(info.value)
    assert message.startswith("unknown architecture 'resnet-18': known architectures are ")
    for name in MODEL_NAMES:
        assert name in message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"in_channels": 0}, "in_channels"),
        ({"num_classes": 1}, "num_classes"),
        ({"image_size": 4}, "image_size"),
        ({"image_size": 32.0}, "image_size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_arguments(kwargs: dict, field: str) -> None:
    args = {"name": "vgg9", "in_channels": 3, "num_classes": 10, "image_size": 32} | kwargs
    with pytest.raises(ValueError, match=rf"^{field}=\S+ is out of range: allowed \["):
        build_model(**args)


@pytest.mark.parametrize("name", ["smallcnn", "resnet9", "resnet20", "resnet18", "vgg9", "lenet"])
def test_global_seed_determinism(name: str) -> None:
    torch.manual_seed(SEED)
    a = build_model(name, 1, 10, 28)
    torch.manual_seed(SEED)
    b = build_model(name, 1, 10, 28)
    assert _same_weights(a, b)
    # seed=3407 draws exactly what torch.manual_seed(3407) would
    assert _same_weights(a, build_model(name, 1, 10, 28, seed=SEED))
    assert not _same_weights(a, build_model(name, 1, 10, 28, seed=SEED + 1))


def test_seed_leaves_global_generator_alone() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_model("resnet9", 3, 10, 32, seed=SEED)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "lr"), [("smallcnn", 1e-2), ("resnet9", 1e-3)])
def test_training_steps_reduce_loss(name: str, lr: float) -> None:
    # A tiny learnable task: each class is a fixed random pattern plus noise.
    generator = torch.Generator().manual_seed(SEED)
    templates = torch.randn(10, 3, 8, 8, generator=generator)
    y = torch.arange(20) % 10
    x = templates[y] + 0.5 * torch.randn(20, 3, 8, 8, generator=generator)
    model = build_model(name, 3, 10, 8, seed=SEED).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("name", ["smallcnn", "resnet9", "resnet20", "resnet18", "vgg9", "lenet"])
def test_channels_last_gives_same_output(name: str) -> None:
    size = 16
    model = build_model(name, 3, 10, size, seed=SEED).eval()
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x)
        model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
        got = model_cl(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_to_input_normalises_and_permutes() -> None:
    mean, std = normalization("cifar10")
    x = torch.zeros(2, 32, 32, 3, dtype=torch.uint8)
    x[..., 0] = 255
    out = to_input(x, mean, std)
    assert out.shape == (2, 3, 32, 32)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[:, 0], torch.full((2, 32, 32), (1 - mean[0]) / std[0]))
    torch.testing.assert_close(out[:, 2], torch.full((2, 32, 32), -mean[2] / std[2]))
    assert out.is_contiguous(memory_format=torch.channels_last)
    # feeds a model directly
    with torch.no_grad():
        assert build_model("smallcnn", 3, 10, 32).eval()(out).shape == (2, 10)


def test_to_input_grayscale_without_channel_axis() -> None:
    mean, std = normalization("mnist")
    x = torch.full((4, 28, 28), 51, dtype=torch.uint8)
    out = to_input(x, mean, std)
    assert out.shape == (4, 1, 28, 28)
    torch.testing.assert_close(out, torch.full_like(out, (0.2 - mean[0]) / std[0]))


def test_to_input_rejects_bad_input() -> None:
    mean, std = normalization("mnist")
    with pytest.raises(ValueError, match="uint8"):
        to_input(torch.zeros(2, 28, 28, 1), mean, std)
    with pytest.raises(ValueError, match="channel"):
        to_input(torch.zeros(2, 32, 32, 3, dtype=torch.uint8), mean, std)
    with pytest.raises(ValueError, match="shape"):
        to_input(torch.zeros(28, 28, dtype=torch.uint8), mean, std)


def test_normalization_constants() -> None:
    from oracle.data.catalog import trainable_datasets

    assert set(trainable_datasets()) == {"cifar10", "mnist", "fashion-mnist", "digits"}
    assert len(normalization("cifar10")[0]) == 3
    for name in ("mnist", "fashion-mnist", "digits"):
        mean, std = normalization(name)
        assert len(mean) == len(std) == 1
        assert 0 < mean[0] < 1 and 0 < std[0] < 1
    with pytest.raises(ValueError, match=r"dataset='svhn' is out of range: allowed cifar10, .*normalization constants"):
        normalization("svhn")


def test_zoo_matches_the_strategies_registry():
    from strategies import ARCHITECTURES

    assert set(MODEL_NAMES) == set(ARCHITECTURES)
