"""The one training loop (oracle.victims.loop) and its batched form.

Three kinds of check. The loop against a plain PyTorch loop written out here
(bit for bit, any machine). The cohort's optimiser rule against
``torch.optim.SGD`` (bit for bit). And fingerprints of tiny runs of every
user of the loop (victims under several presets, the federated warm start,
sequential and cohort rounds with PGD and model-replacement attackers, the
CIFAR-10 augmentation) against digests recorded before the three training
loops were made one: results and cache keys must not change without a
version bump. The digests are bits of floating-point results, so they hold
on the machine they were recorded on only (torch version and CPU model
below); elsewhere that test is skipped.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from oracle.data.datasets import load_dataset
from oracle.victims.inputs import Normalizer
from oracle.victims.loop import augmenter, batch_bounds, seed_run, sgd_update, train_epoch
from oracle.victims.models import build_model

SEED = 3407


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_batch_bounds_rules():
    assert batch_bounds(0, 4) == []
    assert batch_bounds(3, 4) == [(0, 3)]
    assert batch_bounds(9, 4) == [(0, 4), (4, 8), (8, 9)]  # federated clients: a lone last image is a batch
    assert batch_bounds(9, 4, merge_lone=True) == [(0, 4), (4, 9)]  # victims: it joins the batch before
    assert batch_bounds(9, 4, drop_last=True) == [(0, 4), (4, 8)]


def test_augmenter_order_is_the_order_of_the_draws():
    x = torch.randint(0, 256, (16, 6, 6, 1), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    runs = {first: augmenter(True, 2, translate_first=first)(x, torch.Generator().manual_seed(1)) for first in (False, True)}
    assert not torch.equal(runs[False], runs[True])  # same generator, other draws feed the flip
    assert augmenter(False, 0)(x, torch.Generator()) is x


def test_train_epoch_is_the_plain_pytorch_loop_bit_for_bit():
    """Two epochs of the loop (SGD with momentum and weight decay, flips, a lone last image) equal
    the loop written out by hand: permutation, gather, augment, normalise, forward, cross-entropy,
    zero_grad, backward, step."""
    d = load_dataset("digits")
    x, y = torch.tensor(d.x_train[:81]), torch.tensor(d.y_train[:81])
    idx = torch.arange(70, 0, -1)  # a subset in another order, as a federated client's indices
    norm = Normalizer("digits", 1, torch.device("cpu"), channels_last=False)
    augment = augmenter(True, 1)
    weights = []
    for by_hand in (False, True):
        model = build_model("smallcnn", 1, 10, 8, seed=SEED)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        gen = seed_run(SEED, torch.device("cpu"))
        bounds = batch_bounds(len(idx), 16)
        for _ in range(2):
            if not by_hand:
                train_epoch(model, opt, x, y, idx, bounds, gen, augment=augment, normalize=norm)
                continue
            order = idx[torch.randperm(len(idx), generator=gen)]
            for start in range(0, len(idx), 16):
                sel = order[start : start + 16]
                loss = F.cross_entropy(model(norm(augment(x[sel], gen))), y[sel])
                opt.zero_grad()
                loss.backward()
                opt.step()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


@pytest.mark.parametrize("momentum, weight_decay", [(0.9, 1e-4), (0.0, 0.0), (0.5, 0.0)])
def test_sgd_update_is_torch_sgd_per_client(momentum, weight_decay):
    """The cohort's update on parameters stacked along a client axis equals torch.optim.SGD run on
    each client's own parameters, bit for bit, over several steps."""
    g = torch.Generator().manual_seed(0)
    shapes = [(3, 4), (5,)]
    stacked = [torch.randn(2, *s, generator=g) for s in shapes]
    grads = [[torch.randn(2, *s, generator=g) for s in shapes] for _ in range(3)]
    single = [[torch.nn.Parameter(p[k].clone()) for p in stacked] for k in range(2)]
    opts = [torch.optim.SGD(ps, lr=0.1, momentum=momentum, weight_decay=weight_decay) for ps in single]
    bufs = [torch.zeros_like(p) for p in stacked]
    for step in grads:
        sgd_update(stacked, step, bufs, lr=0.1, momentum=momentum, weight_decay=weight_decay)
        for k, (ps, opt) in enumerate(zip(single, opts)):
            for p, gr in zip(ps, step):
                p.grad = gr[k].clone()
            opt.step()
    for k in range(2):
        for p, q in zip(single[k], stacked):
            assert torch.equal(p.detach(), q[k])


# --------------------------------------------------------------------------
# fingerprints of tiny runs, recorded before the loops were unified
# --------------------------------------------------------------------------
#: where the digests below were recorded (see the module docstring)
RECORDED_ON = {"torch": "2.14.1+cu130", "machine": "x86_64", "cpu": "AMD EPYC"}

#: recorded on the code of commit 31260cf (before oracle.victims.loop), by :func:`fingerprints`
GOLDEN = {
    "victim_tiny": "f511eedd72ef3f2d627b916eebb9e2c618b0b728e4bde8bf005a6543cce807bf",
    "victim_paper": "3a23525aa92e0e9451116764a7a2e757bf413f45d974dd6b06d03854319057ab",
    "victim_flip_translate_clip": "4910c6125e7f144ce3609919a4e5e347afb97124fb61d0ad881cd8cec68f6a44",
    "victim_adam_drop_last": "2c614eff064925351d2c24194cdf1da8c0a12f5cb615aa2821469539124124cc",
    "victim_soft_targets": "52202a79f45909fbb7bc59304aa803c287de2ed5311fc57e83e48b9c626977fe",
    "warm_start": "c9a09e12bdd85845ab434d15afa24aa9bfd5fdfcc23d0ac0bda10068c35454ec",
    "federated_sequential": "78b32c223480203eda840fb97d31796815912134e24cf5b534c3efe35a3ca0d4",
    "federated_cohort": "5b87ebae1ee00a37b2af5cd6513a3530d8dd07fbe89be14bc2b6413429c26785",
    "southwest_sequential": "be9faf6066503128e99d0170efb343e34ae79705ee96b6a4e52c5f934b06cb1b",
    "southwest_cohort": "b78f96e73cdb088ff106a0205895e4d11711a4cd242636e641aab1f3bc175d2a",
}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, dict) and all(isinstance(v, torch.Tensor) for v in part.values()):
            for k in sorted(part):
                h.update(k.encode())
                h.update(part[k].detach().cpu().contiguous().numpy().tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True).encode())
    return h.hexdigest()


def fingerprints(southwest: bool = True) -> dict[str, str]:
    """Digests of tiny runs through every user of the loop (public API only, so that the same
    function runs on the code before and after a change)."""
    from oracle.federated.attacks import FederatedAttacker
    from oracle.federated.config import FederatedConfig, federated_preset
    from oracle.federated.simulator import run_federated, warm_start
    from oracle.federated.tasks import load_task
    from oracle.victims.presets import get_preset
    from oracle.victims.train import train_victim

    out = {}
    d = load_dataset("digits")
    x, y, xv, yv = d.x_train[:600], d.y_train[:600], d.x_test[:200], d.y_test[:200]

    def mix(xin, target, gen):
        lam = torch.rand((), generator=gen, device=xin.device)
        perm = torch.randperm(len(target), generator=gen, device=xin.device)
        soft = F.one_hot(target, 10).float()
        return lam * xin + (1 - lam) * xin[perm], lam * soft + (1 - lam) * soft[perm]

    victims = {
        "tiny": (get_preset("tiny", max_epochs=3), None),
        "paper": (get_preset("paper", max_epochs=4, patience=2), None),
        "flip_translate_clip": (get_preset("tiny", max_epochs=2, translate=1, flip=True, grad_clip=1.0), None),
        "adam_drop_last": (get_preset("tiny", max_epochs=2, optimizer="adam", nesterov=False, drop_last=True,
                                      batch_size=50), None),
        "soft_targets": (get_preset("tiny", max_epochs=2), mix),
    }  # fmt: skip
    for name, (preset, extra) in victims.items():
        r = train_victim("smallcnn", x, y, xv, yv, num_classes=10, dataset="digits", preset=preset, seed=SEED,
                         device="cpu", extra_batch_transform=extra)  # fmt: skip
        history = {k: v for k, v in r.history.items() if k != "seconds"}
        out[f"victim_{name}"] = _digest(r.model.state_dict(), history, r.best_epoch, r.stopped_early)

    cfg = FederatedConfig(task="ardis", n_clients=8, clients_per_round=3, rounds=2, local_epochs=2, lr=0.05,
                          warm_start_epochs=1, n_train=400, n_test=200, batch_size=16)  # fmt: skip
    task = load_task("ardis")
    warm = warm_start(task, cfg)
    out["warm_start"] = _digest(warm)
    attackers = [FederatedAttacker("pgd", every=1, eps=0.5, n_edge=10, n_clean=10),
                 FederatedAttacker("pgd-replacement", every=2, eps=0.5, n_edge=10, n_clean=10)]  # fmt: skip
    for together in (False, True):
        run = run_federated(task, cfg, attackers, "fedavg", initial_state=warm, batch_clients=together)
        frame = run.to_frame().drop(columns=["seconds"]).to_json()
        out[f"federated_{'cohort' if together else 'sequential'}"] = _digest(run.final_state, frame)
    if southwest:  # VGG-9 on CIFAR-10 with the crop-and-flip augmentation
        sw = federated_preset("southwest", n_clients=6, clients_per_round=3, rounds=1, local_epochs=1, batch_size=8,
                              warm_start_epochs=0, n_train=90, n_test=30)  # fmt: skip
        for together in (False, True):
            run = run_federated(load_task("southwest"), sw, [], "fedavg", batch_clients=together)
            out[f"southwest_{'cohort' if together else 'sequential'}"] = _digest(run.final_state)
    return out


@pytest.mark.slow
def test_results_are_the_ones_recorded_before_the_loops_were_unified():
    here = {"torch": torch.__version__, "machine": platform.machine(), "cpu": _cpu_model()}
    if here != RECORDED_ON:
        pytest.skip(f"digests recorded on {RECORDED_ON}; this is {here}")
    assert fingerprints() == GOLDEN
