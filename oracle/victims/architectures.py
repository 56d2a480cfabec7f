"""The victim architectures of the two papers, as torch modules.

Multi-agent backdoor paper (Datta & Shadbolt, §4.1 "Capacity" and App. 6.2.3):
SmallCNN (channels [16, 32, 32], after Fort et al. 2020), ResNet-9, 18, 34, 50,
101, 152, Wide ResNet-50-2 and 101-2, VGG-11 with batch norm. Attack of the
Tails (Wang et al. 2020, App. B and the authors' code): VGG-9 without batch norm
(CIFAR-10 task) and "LeNet" (digit task).

Every model is a :class:`ZooModel`: ``features(x)`` returns the penultimate
representation ``(B, feature_dim)`` that spectral signatures, activation
clustering and edge-case construction work on, and the final linear layer is
always the child module ``head``, so that ``forward(x) == head(features(x))``.
Where an architecture has dropout right before its last layer (vgg11-bn, vgg9,
lenet), that dropout is the end of ``features``; it is inactive in eval mode,
where defenses should read features.

Inputs are float NCHW tensors that are already normalised (see
:func:`oracle.victims.models.to_input` and
:func:`oracle.victims.models.normalization`). Images are square,
``image_size`` × ``image_size``. :func:`oracle.victims.models.build_model`
builds them (seeded, checked, plug-ins too); :func:`build_architecture` is
its constructor for backfire's own names.

Architectures, and the choices the papers leave open
-----------------------------------------------------
``smallcnn``
    conv1 3×3 (in→16) · ReLU · max-pool 2 · conv2 3×3 (16→32) · ReLU ·
    max-pool 2 · conv3 3×3 (32→32) · ReLU · global average pool · fc1 (32→32) ·
    ReLU | head (32→num_classes). All layers carry biases, no batch norm.
    This layout has exactly 15,722 parameters for **3** input channels and 10
    classes (448 + 4,640 + 9,248 + 1,056 + 330), the figure the paper gives for
    its E6 lottery-ticket model; the paper evaluates on CIFAR-10 unless it
    says otherwise (§4, Methodology) and E6 names no other dataset. With one
    input channel (MNIST) it has 15,434 (two input channels × 16 × 9 fewer).
    A search over three-conv 16/32/32 layouts (kernels 1–8, with/without
    biases and batch norm, flatten or global pooling, with/without a hidden
    dense layer) finds no layout with uniform 3×3 kernels that reaches
    15,722 on one input channel; the ones that do mix 7×7/1×1/3×3 kernels
    and are not plausible. The paper does not say where pooling sits; pooling
    does not change the count. Penultimate features: fc1's output, 32-d.
``resnet9``
    The DAWNBench ResNet-9 of David Page (myrtle.ai): prep conv 64 · layer1
    conv 128 + max-pool + residual(2 × conv 128) · layer2 conv 256 + max-pool ·
    layer3 conv 512 + max-pool + residual(2 × conv 512) · global max pool ·
    head (512→num_classes). Every conv is 3×3 conv (no bias) · BN · ReLU.
    Page's fixed 0.125 logit multiplier is left out (it was tuned for his
    lr-0.4 schedule; the paper trains with SGD lr 0.001), and the head has a
    bias. Features: 512-d.
``resnet20``
    He et al.'s CIFAR ResNet-20 (2016, §4.2), not one of the paper's
    victims: the smallest residual network with batch norm that is a
    standard, so that a CPU can train one in minutes (about 40M multiply-adds
    an image against ResNet-18's 560M). conv 3×3 (in→16) · BN · ReLU · three
    stages of three basic blocks (two 3×3 conv · BN, ReLU after the sum) with
    16, 32, 64 channels, the first block of stages 2 and 3 with stride 2 ·
    global average pool | head (64→num_classes). Shortcuts are He et al.'s
    option A: the identity, subsampled by 2 and zero-padded in channels where
    a block changes shape, so the network has no parameters beyond its plain
    counterpart's (269,722 with 3 input channels and 10 classes). Kaiming
    initialisation of the convolutions (torch's default for BN). Features: 64-d.
``resnet18`` … ``resnet152``, ``wide-resnet50-2``, ``wide-resnet101-2``
    torchvision's models (``weights=None``) with the CIFAR stem: conv1 is a
    3×3 stride-1 conv (in_channels→64, no bias, Kaiming init as torchvision
    does), the stem max-pool is removed, and the fc layer becomes ``head``.
    torchvision's adaptive average pool makes them accept any input size.
    Features: 512-d (18/34) or 2048-d (50/101/152 and the wide ones).
``vgg11-bn``
    torchvision's ``vgg11_bn`` (``weights=None``) adapted for 32×32 inputs:
    the first conv takes ``in_channels``; every max-pool uses ``ceil_mode``
    so that 28×28 inputs survive the five poolings (28→14→7→4→2→1; identical
    to floor mode at 32×32); the 7×7 adaptive pool becomes a 1×1 one and the
    classifier's first layer takes 512 inputs instead of 512·7·7. On a 1×1
    map torchvision's 7×7 pool only replicates the value 49 times, so its
    25,088→4,096 layer spans exactly the functions of a 512→4,096 layer; the
    change removes ~100M redundant parameters (torchvision's unmodified model
    has ~129M with 10 classes, which is the "comparable to Wide ResNet-101"
    capacity the paper mentions). The rest of torchvision's classifier
    (ReLU, dropout, 4,096→4,096, ReLU, dropout) is kept; the last linear
    layer is ``head``. Features: 4,096-d.
``vgg9``
    Attack of the Tails describes its VGG-9 (no batch norm) in a Table 2 that
    our copy of the text lost; this is the VGG-9 of FedMA (Wang et al. 2020,
    same first author; ``ModerateCNN`` in IBM/FedMA's ``model.py``), with the
    32-64-128-128-256-256 layout: conv 32 · conv 64 · max-pool · conv 128 · conv 128 ·
    max-pool · dropout2d 0.05 · conv 256 · conv 256 · max-pool (all 3×3,
    pad 1, ReLU, no batch norm) · flatten · dropout 0.1 · fc 512 · ReLU ·
    fc 512 · ReLU · dropout 0.1 | head (512→num_classes). The flatten width is
    256·(image_size // 8)², 4,096 at 32×32. Features: 512-d. Note: the public
    code of the paper (``models/vgg9_only.py`` in the OOD_Federated_Learning
    repository) instead builds kuangliu's VGG with the configuration
    [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M] and one
    512→10 linear layer (9,225,610 parameters); this module follows FedMA's
    VGG-9 (3,491,530).
``lenet``
    The digit-task model of the paper's public code (``Net`` in its
    ``utils.py``, selected by ``--model lenet``; it is PyTorch's MNIST example
    network rather than LeCun's LeNet-5): conv 3×3 (in→32) · ReLU ·
    conv 3×3 (32→64) · ReLU · max-pool 2 · dropout2d 0.25 · flatten ·
    fc1 (64·((image_size−4)//2)² → 128) · ReLU · dropout 0.5 |
    head (128→num_classes). 9,216 flatten inputs and 1,199,882 parameters on
    MNIST. Features: 128-d.

Input sizes
-----------
Every architecture accepts 28×28 and 32×32 inputs and also 8×8 ones, for tiny
tests. The fully convolutional ones (smallcnn, the ResNets, vgg11-bn) pool
adaptively and accept any size from their minimum up. ``vgg9`` and ``lenet``
have a flatten layer sized from ``image_size`` and accept only inputs of that
size. Minimum sizes: see :data:`MIN_IMAGE_SIZE`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision
from torch import nn

__all__ = [
    "MIN_IMAGE_SIZE",
    "MODEL_NAMES",
    "LeNet",
    "ResNet9",
    "ResNet20",
    "SmallCNN",
    "TorchvisionResNet",
    "VGG9",
    "VGG11BN",
    "ZooModel",
    "build_architecture",
]

#: The architectures of :data:`strategies.ARCHITECTURES` this module builds itself (a plug-in brings its
#: own ``implementation``); tests/test_registries.py checks the two agree.
MODEL_NAMES: tuple[str, ...] = (
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

#: Smallest ``image_size`` each architecture accepts (every spatial layer keeps
#: at least one output pixel).
MIN_IMAGE_SIZE: dict[str, int] = {
    "smallcnn": 4,
    "resnet9": 8,
    "resnet20": 1,
    "resnet18": 1,
    "resnet34": 1,
    "resnet50": 1,
    "resnet101": 1,
    "resnet152": 1,
    "wide-resnet50-2": 1,
    "wide-resnet101-2": 1,
    "vgg11-bn": 1,
    "vgg9": 8,
    "lenet": 6,
}
_SMALLCNN_CHANNELS = (16, 32, 32)
_SMALLCNN_HIDDEN = 32
_VGG9_DROPOUT2D = 0.05
_VGG9_DROPOUT = 0.1
_VGG9_HIDDEN = 512
_LENET_DROPOUT2D = 0.25
_LENET_DROPOUT = 0.5
_LENET_HIDDEN = 128
_VGG11_HIDDEN = 4096

# --------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------
class ZooModel(nn.Module):
    """A classifier split into a feature extractor and a linear ``head``.

    Subclasses implement :meth:`features` and set ``self.head`` (the final
    ``nn.Linear``) and ``self.feature_dim``.
    """

    head: nn.Linear
    feature_dim: int

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Penultimate-layer representation, shape ``(B, feature_dim)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _conv3x3(c_in: int, c_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1, bias=bias)


# --------------------------------------------------------------------------
# SmallCNN
# --------------------------------------------------------------------------
class SmallCNN(ZooModel):
    """Three 3×3 convs (16, 32, 32), global average pool, a 32-unit dense layer.

    Layer names (``conv1``, ``conv2``, ``conv3``, ``fc1``, ``head``) are the
    ones per-layer inspection (E6) reports.
    """

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        c1, c2, c3 = _SMALLCNN_CHANNELS
        self.conv1 = _conv3x3(in_channels, c1)
        self.conv2 = _conv3x3(c1, c2)
        self.conv3 = _conv3x3(c2, c3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(c3, _SMALLCNN_HIDDEN)
        self.head = nn.Linear(_SMALLCNN_HIDDEN, num_classes)
        self.feature_dim = _SMALLCNN_HIDDEN

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.conv3(x))
        x = x.mean(dim=(2, 3))
        return torch.relu(self.fc1(x))


# --------------------------------------------------------------------------
# ResNet-9 (Page, DAWNBench)
# --------------------------------------------------------------------------
def _conv_bn(c_in: int, c_out: int, pool: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [
        _conv3x3(c_in, c_out, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class _Residual(nn.Module):
    """``x + f(x)`` with ``f`` two conv-BN-ReLU blocks of constant width."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.res = nn.Sequential(_conv_bn(channels, channels), _conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res(x)


class ResNet9(ZooModel):
    """Page's DAWNBench ResNet-9 with ``in_channels`` and ``num_classes``."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.prep = _conv_bn(in_channels, 64)
        self.layer1 = nn.Sequential(_conv_bn(64, 128, pool=True), _Residual(128))
        self.layer2 = _conv_bn(128, 256, pool=True)
        self.layer3 = nn.Sequential(_conv_bn(256, 512, pool=True), _Residual(512))
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.head = nn.Linear(512, num_classes)
        self.feature_dim = 512

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return torch.flatten(self.pool(x), 1)


# --------------------------------------------------------------------------
# ResNet-20 (He et al. 2016, CIFAR), option-A shortcuts
# --------------------------------------------------------------------------
class _BasicBlockA(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``, the shortcut parameter-free (option A)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = _conv3x3(c_out, c_out, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.stride, self.pad = stride, c_out - c_in
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        short = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.pad:
            short = nn.functional.pad(short, (0, 0, 0, 0, 0, self.pad))
        return torch.relu(out + short)


class ResNet20(ZooModel):
    """He et al.'s CIFAR ResNet-20: 16-32-64 channels, three blocks a stage, option-A shortcuts."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv3x3(in_channels, 16, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        nn.init.kaiming_normal_(self.stem[0].weight, mode="fan_out", nonlinearity="relu")
        blocks: list[nn.Module] = []
        c_in = 16
        for c_out, stride in ((16, 1), (32, 2), (64, 2)):
            blocks += [_BasicBlockA(c_in, c_out, stride), _BasicBlockA(c_out, c_out, 1), _BasicBlockA(c_out, c_out, 1)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(64, num_classes)
        self.feature_dim = 64

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


# --------------------------------------------------------------------------
# torchvision ResNets with a CIFAR stem
# --------------------------------------------------------------------------
_TORCHVISION_RESNETS: dict[str, Callable[..., torchvision.models.ResNet]] = {
    "resnet18": torchvision.models.resnet18,
    "resnet34": torchvision.models.resnet34,
    "resnet50": torchvision.models.resnet50,
    "resnet101": torchvision.models.resnet101,
    "resnet152": torchvision.models.resnet152,
    "wide-resnet50-2": torchvision.models.wide_resnet50_2,
    "wide-resnet101-2": torchvision.models.wide_resnet101_2,
}


class TorchvisionResNet(ZooModel):
    """A torchvision ResNet with a 3×3 stride-1 stem and no stem max-pool.

    ``backbone`` is the torchvision model with ``fc`` replaced by
    ``nn.Identity`` (so its forward returns the pooled features); ``head`` is
    the classifier.
    """

    def __init__(self, arch: str, in_channels: int, num_classes: int) -> None:
        super().__init__()
        backbone = _TORCHVISION_RESNETS[arch](weights=None)
        stem = nn.Conv2d(in_channels, backbone.conv1.out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        # torchvision's own initialisation of its convolutions
        nn.init.kaiming_normal_(stem.weight, mode="fan_out", nonlinearity="relu")
        backbone.conv1 = stem
        backbone.maxpool = nn.Identity()
        self.feature_dim = backbone.fc.in_features
        backbone.fc = nn.Identity()
        self.backbone = backbone
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


# --------------------------------------------------------------------------
# VGG-11 with batch norm (torchvision), adapted for 32×32
# --------------------------------------------------------------------------
class VGG11BN(ZooModel):
    """torchvision ``vgg11_bn`` with a 1×1 pool and a 512-input classifier."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        tv = torchvision.models.vgg11_bn(weights=None)
        first = tv.features[0]
        assert isinstance(first, nn.Conv2d)
        conv = nn.Conv2d(in_channels, first.out_channels, kernel_size=3, padding=1)
        # torchvision's VGG initialisation
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(conv.bias)
        tv.features[0] = conv
        for module in tv.features:
            if isinstance(module, nn.MaxPool2d):
                module.ceil_mode = True
        self.body = tv.features
        self.pool = nn.AdaptiveAvgPool2d(1)
        channels = [m.out_channels for m in tv.features if isinstance(m, nn.Conv2d)][-1]
        fc1 = nn.Linear(channels, _VGG11_HIDDEN)
        nn.init.normal_(fc1.weight, 0.0, 0.01)
        nn.init.zeros_(fc1.bias)
        # torchvision classifier: Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear
        self.classifier = nn.Sequential(fc1, *list(tv.classifier.children())[1:6])
        self.head = nn.Linear(_VGG11_HIDDEN, num_classes)
        nn.init.normal_(self.head.weight, 0.0, 0.01)
        nn.init.zeros_(self.head.bias)
        self.feature_dim = _VGG11_HIDDEN

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.body(x)), 1))


# --------------------------------------------------------------------------
# VGG-9 (Attack of the Tails / FedMA), no batch norm
# --------------------------------------------------------------------------
class VGG9(ZooModel):
    """Six 3×3 convs (32, 64, M, 128, 128, M, 256, 256, M), two 512-unit layers."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv3x3(in_channels, 32), nn.ReLU(inplace=True),
            _conv3x3(32, 64), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            _conv3x3(64, 128), nn.ReLU(inplace=True),
            _conv3x3(128, 128), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Dropout2d(_VGG9_DROPOUT2D),
            _conv3x3(128, 256), nn.ReLU(inplace=True),
            _conv3x3(256, 256), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )  # fmt: skip
        side = image_size // 2 // 2 // 2
        self.fc = nn.Sequential(
            nn.Dropout(_VGG9_DROPOUT),
            nn.Linear(256 * side * side, _VGG9_HIDDEN), nn.ReLU(inplace=True),
            nn.Linear(_VGG9_HIDDEN, _VGG9_HIDDEN), nn.ReLU(inplace=True),
            nn.Dropout(_VGG9_DROPOUT),
        )  # fmt: skip
        self.head = nn.Linear(_VGG9_HIDDEN, num_classes)
        self.feature_dim = _VGG9_HIDDEN

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.body(x), 1))


# --------------------------------------------------------------------------
# "LeNet" of the Attack of the Tails code (PyTorch's MNIST example network)
# --------------------------------------------------------------------------
class LeNet(ZooModel):
    """conv 32 · conv 64 · max-pool · dropout · fc 128 · dropout · head."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.pool = nn.MaxPool2d(2)
        self.dropout1 = nn.Dropout2d(_LENET_DROPOUT2D)
        side = (image_size - 4) // 2
        self.fc1 = nn.Linear(64 * side * side, _LENET_HIDDEN)
        self.dropout2 = nn.Dropout(_LENET_DROPOUT)
        self.head = nn.Linear(_LENET_HIDDEN, num_classes)
        self.feature_dim = _LENET_HIDDEN

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = self.dropout1(self.pool(x))
        return self.dropout2(torch.relu(self.fc1(torch.flatten(x, 1))))


def build_architecture(name: str, in_channels: int, num_classes: int, image_size: int) -> ZooModel:
    """A new, unchecked ``name`` (one of :data:`MODEL_NAMES`), its weights drawn from torch's default
    generator; :func:`oracle.victims.models.build_model` checks the arguments and seeds it."""
    if name == "smallcnn":
        return SmallCNN(in_channels, num_classes)
    if name == "resnet9":
        return ResNet9(in_channels, num_classes)
    if name == "resnet20":
        return ResNet20(in_channels, num_classes)
    if name in _TORCHVISION_RESNETS:
        return TorchvisionResNet(name, in_channels, num_classes)
    if name == "vgg11-bn":
        return VGG11BN(in_channels, num_classes)
    if name == "vgg9":
        return VGG9(in_channels, num_classes, image_size)
    if name == "lenet":
        return LeNet(in_channels, num_classes, image_size)
    raise AssertionError(f"unhandled model name {name!r}")  # pragma: no cover - MODEL_NAMES is exhaustive
