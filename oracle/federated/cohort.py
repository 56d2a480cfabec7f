"""The honest clients of a round trained together, as one vectorised model.

Sequentially, each of a round's m honest clients loads the global weights,
runs E local epochs of SGD and hands back its weights: m·E·(batches) small
steps, each too small to keep a GPU busy. :class:`CohortTrainer` stacks the
clients' weights into one leading "client" axis and runs their local
training in lockstep with ``torch.func`` (``vmap`` over ``grad`` of a
``functional_call``): step b trains every client that still has a b-th
batch, each on its own batch, in one forward and backward pass (convolutions
become grouped convolutions). On a GPU that is one kernel where there were
m; on the CPU it is slower (measured in ``benchmarks/federated.py``), so
:func:`~oracle.federated.simulator.run_federated` uses it by default only on
CUDA.

It is the batched form of the sequential loop
(:func:`oracle.victims.loop.train_epoch`, through
:class:`~oracle.federated.local.LocalTrainer`), step for step, and shares its
parts:

* each client's batches are drawn from its own generator
  (:func:`~oracle.victims.loop.device_generator`), seeded as in the
  sequential loop (per epoch :func:`~oracle.victims.loop.epoch_order`, a
  permutation of the client's indices, then the augmentation of each batch,
  in that order), cut by the same :func:`~oracle.victims.loop.batch_bounds`,
  so each client sees the same images in the same order with the same
  augmentation;
* a client's last, partial batch is padded with zeros that carry zero weight
  in its loss (the mean cross-entropy over its real images), and a client
  that has run out of batches is left out of the step altogether (the
  models have no batch norm, so padding changes nothing else);
* the optimiser rule is ``torch.optim.SGD``'s own, applied by its functional
  form to the stacked parameters (:func:`~oracle.victims.loop.sgd_update`:
  d = g + λw; b ← μb + d, b = d at the first step; w ← w − lr·b), one
  momentum buffer per client.

What differs: the dropout masks. ``vmap`` draws every client's mask from
torch's global generator at once (``randomness="different"``), seeded once
per round, where the sequential loop seeds it per client. So the two modes
give the same results for models without dropout (up to floating-point
rounding: tested), and statistically equivalent, but not identical, results
with dropout; each mode is reproducible on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from oracle.victims.loop import Augment, batch_bounds, device_generator, epoch_order, sgd_update

__all__ = ["Augment", "CohortTrainer"]


class CohortTrainer:
    """Local training of several clients at once, from the same start.

    ``model`` is only used for its structure (``functional_call`` swaps in
    each client's weights); ``normalize`` maps a uint8 (n, H, W, C) batch to
    the model's float input, ``augment`` is the task's augmentation of such a
    batch with a generator.
    """

    def __init__(
        self,
        model: nn.Module,
        normalize: Callable[[torch.Tensor], torch.Tensor],
        augment: Augment,
        *,
        batch_size: int,
        momentum: float,
        weight_decay: float,
        dev: torch.device,
    ) -> None:
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [tuple(p.shape) for _, p in model.named_parameters()]
        self.numels = [math.prod(s) for s in self.shapes]
        self.normalize = normalize
        self.augment = augment
        self.batch_size = batch_size
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.dev = dev
        self.model = model

        def loss(params: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor):
            out = functional_call(model, params, (xb,))
            return (F.cross_entropy(out, yb, reduction="none") * wb).sum()

        self._grads = vmap(grad(loss), randomness="different")

    def train(
        self,
        w_start: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        clients: Sequence[torch.Tensor],
        seeds: Sequence[int],
        *,
        epochs: int,
        lr: float,
        dropout_seed: int,
    ) -> torch.Tensor:
        """Weights (c, P), flat in ``parameters_to_vector`` order, of c clients
        after ``epochs`` epochs of SGD from ``w_start`` (P,), client k on
        ``x[clients[k]]`` with batch order and augmentation from ``seeds[k]``."""
        c = len(clients)
        if c != len(seeds):
            raise ValueError(f"{c} clients but {len(seeds)} seeds")
        if c == 0:
            return w_start.new_zeros((0, w_start.numel()))
        self.model.train()
        torch.manual_seed(dropout_seed)
        params = [p.view(*s).unsqueeze(0).repeat(c, *([1] * len(s)))
                  for p, s in zip(torch.split(w_start.detach(), self.numels), self.shapes)]
        bufs = [torch.zeros_like(p) for p in params]
        gens = [device_generator(s, self.dev) for s in seeds]
        sizes = [int(idx.numel()) for idx in clients]
        bounds = [batch_bounds(n, self.batch_size) for n in sizes]
        for _ in range(epochs):
            orders = [epoch_order(n, idx, g, self.dev) for idx, n, g in zip(clients, sizes, gens)]
            for b in range(max(len(bk) for bk in bounds)):
                active = [k for k in range(c) if b < len(bounds[k])]
                sels = [orders[k][slice(*bounds[k][b])] for k in active]
                self._step(params, bufs, active, c, x, y, sels, [gens[k] for k in active], lr)
        return torch.cat([p.reshape(c, -1) for p in params], dim=1)

    def _step(self, params, bufs, active, c, x, y, sels, gens, lr) -> None:
        a = len(active)
        width = max(len(sel) for sel in sels)
        xb = x.new_zeros((a, width, *x.shape[1:]))
        yb = y.new_zeros((a, width))
        wb = torch.zeros((a, width), device=self.dev)
        for j, (sel, g) in enumerate(zip(sels, gens)):
            n = len(sel)
            xb[j, :n] = self.augment(x[sel], g)
            yb[j, :n] = y[sel]
            wb[j, :n] = 1.0 / n
        inputs = self.normalize(xb.reshape(a * width, *x.shape[1:]))
        inputs = inputs.reshape(a, width, *inputs.shape[1:])
        everyone = a == c
        idx = None if everyone else torch.tensor(active, device=self.dev)
        p_act = params if everyone else [p.index_select(0, idx) for p in params]
        g = self._grads(dict(zip(self.names, p_act)), inputs, yb, wb)
        grads = [g[n] for n in self.names]
        b_act = bufs if everyone else [q.index_select(0, idx) for q in bufs]
        sgd_update(p_act, grads, b_act, lr=lr, momentum=self.momentum, weight_decay=self.weight_decay)
        if not everyone:
            for p, q, pa, qa in zip(params, bufs, p_act, b_act):
                p.index_copy_(0, idx, pa)
                q.index_copy_(0, idx, qa)
