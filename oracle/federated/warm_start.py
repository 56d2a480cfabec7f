"""The global model a federated run starts from, and its storage.

App. A of Attack of the Tails: the FL process starts from a model trained
centrally for 10 epochs (e.g. VGG-9 at 77.68%, LeNet at 88%).
:func:`warm_start` trains the task's model on the whole (possibly subset)
training set with the local-training recipe (:class:`~oracle.federated.local.LocalTrainer`)
for ``warm_start_epochs`` epochs and returns its state dict;
:func:`save_state` / :func:`load_state` keep it as safetensors, and
:func:`warm_start_key` names what it depends on, for a cache.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

from oracle.progress import progress as progress_bar
from oracle.victims.device import resolve_device
from oracle.victims.models import build_model
from oracle.federated.config import SIMULATOR_VERSION, FederatedConfig
from oracle.federated.local import LocalTrainer, SeedStream, assign, derive_seed, rng_scope
from oracle.federated.run_data import subset_task, to_device
from oracle.federated.tasks import FederatedTask

__all__ = ["load_state", "new_model", "save_state", "warm_start", "warm_start_key"]


def new_model(task: FederatedTask, seed: int) -> nn.Module:
    """The task's model, seeded; refused when it has buffers (the simulation averages parameters only)."""
    h, _, c = task.shape
    model = build_model(task.model, c, task.num_classes, h, seed=seed)
    if any(True for _ in model.buffers()):
        raise ValueError(
            f"model {task.model!r} has buffers (batch norm); the simulation averages parameters only: "
            "use a model without buffers (vgg9, lenet)"
        )
    return model


def warm_start_key(config: FederatedConfig) -> dict[str, Any]:
    """The fields a warm start depends on, as plain data (with
    :data:`SIMULATOR_VERSION`); combine with the task's fingerprint for a
    cache key."""
    fields = ("task", "n_train", "n_test", "seed", "warm_start_epochs", "lr", "batch_size",
              "momentum", "weight_decay", "augment")  # fmt: skip
    return {"simulator": SIMULATOR_VERSION, **{f: getattr(config, f) for f in fields}}


def warm_start(
    task: FederatedTask,
    config: FederatedConfig,
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """The global model FL starts from: the task's model (weights drawn with
    ``config.seed``) trained centrally on the whole (subset) training set for
    ``config.warm_start_epochs`` epochs with the local recipe at the initial
    lr (paper: 10 epochs). Returns its state dict, CPU tensors (cache it with
    :func:`save_state`)."""
    dev = resolve_device(device)
    task = subset_task(task, config)
    with rng_scope(dev):
        return _warm_start(task, config, dev, progress)


def _warm_start(
    task: FederatedTask, config: FederatedConfig, dev: torch.device, progress: bool
) -> dict[str, torch.Tensor]:
    model = new_model(task, config.seed).to(dev)
    if config.warm_start_epochs:
        trainer = LocalTrainer(model, config, task.dataset.name, task.shape[2], dev)
        x, y = to_device(task.dataset.x_train, dev), to_device(task.dataset.y_train, dev)
        bar = progress_bar(total=config.warm_start_epochs, desc=f"warm start {task.model}", unit="epoch", enabled=progress)

        def tick(epoch: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")

        w0 = parameters_to_vector(model.parameters()).detach().clone()
        w = trainer.train(
            w0, x, y, None, epochs=config.warm_start_epochs, lr=config.lr,
            seed=derive_seed(config.seed, SeedStream.WARM), on_epoch=tick if progress else None,
        )  # fmt: skip
        bar.close()
        assign(trainer.params, w)
    return {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}


def save_state(
    path: str | os.PathLike[str], state: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> None:
    """Write a state dict as safetensors (no pickle)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, os.fspath(path), dict(metadata or {}))


def load_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict written by :func:`save_state`."""
    from safetensors.torch import load_file

    return load_file(os.fspath(path))
