"""Federated simulation of "Attack of the Tails": tasks, partition, attacks,
the FedAvg loop (reduced MNIST + ARDIS runs with LeNet), plots.

Kept fast (one CPU core): one warm start and a handful of tiny runs, shared
through module-scoped fixtures.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from oracle.data.locations import DatasetNotFound
from oracle.federated.aggregators import aggregate
from oracle.federated.attacks import (
    FederatedAttacker,
    attacker_dataset,
    draw_pools,
    model_replacement,
    paper_attacker,
    project_l2,
)
from oracle.federated.partition import client_sizes, dirichlet_partition, iid_partition, label_counts
from oracle.federated.plots import plot_accuracy, plot_runs
from oracle.federated.config import FEDERATED_PRESETS, FederatedConfig, federated_preset
from oracle.federated.simulator import load_state, run_federated, save_state, warm_start
from oracle.federated.tasks import EDGE_CASE_TRAIN_IMAGES, EdgeCaseNotFound, find_edge_case_file, load_task

#: A tiny run: 600 MNIST images over 8 clients, 3 a round, 1 local epoch.
TINY = FederatedConfig(
    task="ardis", n_clients=8, clients_per_round=3, rounds=4, local_epochs=1, lr=0.05,
    warm_start_epochs=2, n_train=600, n_test=300,
)  # fmt: skip


@pytest.fixture(scope="module")
def task():
    return load_task("ardis")


@pytest.fixture(scope="module")
def warm(task):
    return warm_start(task, TINY)


@pytest.fixture(scope="module")
def baseline(task, warm):
    return run_federated(task, TINY, (), "fedavg", initial_state=warm)


@pytest.fixture(scope="module")
def attacked(task, warm):
    return run_federated(task, TINY, [FederatedAttacker("black-box", every=1)], "fedavg", initial_state=warm)


# --------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------
def test_ardis_task_shapes_and_labels(task):
    assert task.model == "lenet" and task.dataset.name == "mnist"
    assert task.edge.x_train.shape == (66, 28, 28, 1) and task.edge.x_test.shape == (100, 28, 28, 1)
    assert task.edge.target == 1
    assert task.honest_edge_x.shape == (33, 28, 28, 1) and task.honest_edge_label == 7
    assert (task.n_edge, task.n_clean) == (66, 100)
    assert EDGE_CASE_TRAIN_IMAGES["ardis"] == len(task.edge.x_train)  # what a spec's n_edge is checked against
    with np.load(find_edge_case_file("southwest", "southwest_edgecase.npz"), allow_pickle=False) as z:
        assert EDGE_CASE_TRAIN_IMAGES["southwest"] == len(z["new_train"])  # the Southwest task's edge.x_train


def test_attacker_dataset_mixes_edge_and_clean_seeded(task):
    a = FederatedAttacker()
    x, y = attacker_dataset(task, a, 0)
    assert x.shape == (166, 28, 28, 1) and x.dtype == np.uint8
    assert (y[:66] == 1).all()
    assert {row.tobytes() for row in x[:66]} == {row.tobytes() for row in task.edge.x_train}
    assert len(np.unique(y[66:])) >= 8  # clean digits keep their true labels
    x2, y2 = attacker_dataset(task, a, 0)
    np.testing.assert_array_equal(x, x2)
    x3, _ = attacker_dataset(task, a, 1)
    assert not np.array_equal(x, x3)
    # its own target and sizes
    x4, y4 = attacker_dataset(task, FederatedAttacker(target=3, n_edge=10, n_clean=5), 2)
    assert len(x4) == 15 and (y4[:10] == 3).all()


def test_missing_edge_case_file_names_file_and_places(tmp_path):
    with pytest.raises(EdgeCaseNotFound) as info:
        find_edge_case_file("ardis", "no_such_edgecase.npz", data_dir=tmp_path)
    msg = str(info.value)
    assert "no_such_edgecase.npz" in msg and str(tmp_path) in msg and "BACKFIRE_DATA" in msg
    assert isinstance(info.value, DatasetNotFound)


def test_unknown_task():
    with pytest.raises(ValueError, match="unknown task 'emnist'"):
        load_task("emnist")


# --------------------------------------------------------------------------
# partition
# --------------------------------------------------------------------------
LABELS = np.random.default_rng(0).integers(0, 10, 5000)


@pytest.mark.parametrize("alpha", [0.05, 0.5, 100.0])
def test_dirichlet_partition_is_a_partition(alpha):
    parts = dirichlet_partition(LABELS, 40, alpha, seed=3407)
    assert len(parts) == 40
    assert client_sizes(parts).sum() == len(LABELS) and client_sizes(parts).min() >= 1
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(len(LABELS)))


def test_dirichlet_partition_seeded():
    a = dirichlet_partition(LABELS, 20, 0.5, seed=1)
    b = dirichlet_partition(LABELS, 20, 0.5, seed=1)
    c = dirichlet_partition(LABELS, 20, 0.5, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_small_alpha_skews_labels():
    def top_share(alpha):
        counts = label_counts(dirichlet_partition(LABELS, 20, alpha), LABELS, 10)
        return float(np.mean(counts.max(1) / counts.sum(1)))

    skewed, flat = top_share(0.05), top_share(100.0)
    assert skewed > 0.7 and flat < 0.25, (skewed, flat)


def test_every_client_gets_data_even_when_tight():
    parts = dirichlet_partition(LABELS[:50], 50, 0.01, seed=3)
    assert (client_sizes(parts) == 1).all()


def test_iid_partition_balanced():
    parts = iid_partition(103, 10, seed=0)
    sizes = client_sizes(parts)
    assert sizes.sum() == 103 and sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("bad", [0, 5001, 2.0, True])
def test_partition_rejects_client_counts(bad):
    with pytest.raises(ValueError, match="n_clients"):
        dirichlet_partition(LABELS, bad, 0.5)


# --------------------------------------------------------------------------
# attacks: pure helpers and validation
# --------------------------------------------------------------------------
def test_project_l2_keeps_update_inside_ball():
    gen = torch.Generator().manual_seed(0)
    w_g = torch.randn(1000, generator=gen)
    for eps in (0.1, 1.0, 5.0):
        w = w_g + 3 * torch.randn(1000, generator=gen)
        p = project_l2(w, w_g, eps)
        assert torch.linalg.vector_norm(p - w_g) <= eps * (1 + 1e-6)
        # same direction, on the sphere
        cos = torch.nn.functional.cosine_similarity(p - w_g, w - w_g, dim=0)
        assert cos > 1 - 1e-6
        assert math.isclose(float(torch.linalg.vector_norm(p - w_g)), eps, rel_tol=1e-5)
    inside = w_g + 1e-3
    assert torch.equal(project_l2(inside, w_g, 1.0), inside)


def test_model_replacement_recovers_attacker_model_under_fedavg():
    gen = torch.Generator().manual_seed(1)
    w_g = torch.randn(500, generator=gen, dtype=torch.float64)
    w_a = w_g + torch.randn(500, generator=gen, dtype=torch.float64)
    counts = [166, 120, 95, 300]  # attacker first
    submitted = model_replacement(w_a, w_g, n_total=sum(counts), n_attacker=counts[0])
    updates = torch.zeros(4, 500, dtype=torch.float64)
    updates[0] = submitted - w_g  # honest clients submit w_g: zero updates
    new_global = w_g + aggregate("fedavg", updates, counts).update
    torch.testing.assert_close(new_global, w_a, rtol=0, atol=1e-12)


def test_model_replacement_scale():
    w_g, w_a = torch.zeros(3), torch.ones(3)
    torch.testing.assert_close(model_replacement(w_a, w_g, 10, 2), torch.full((3,), 5.0))
    with pytest.raises(ValueError, match="n_total"):
        model_replacement(w_a, w_g, 1, 2)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"mode": "white-box"}, "attack mode"),
        ({"schedule": "sometimes"}, "attack schedule"),
        ({"every": 0}, "every"),
        ({"pool_fraction": 0.0}, "pool_fraction"),
        ({"pool_fraction": 1.5}, "pool_fraction"),
        ({"eps": 1.0}, "eps"),  # black-box has no radius
        ({"lr": 0.1}, "lr"),
        ({"mode": "pgd"}, "eps"),  # pgd needs one
        ({"mode": "pgd", "eps": -1.0}, "eps"),
        ({"mode": "pgd", "eps": 1.0, "eps_decay": 1.2}, "eps_decay"),
        ({"mode": "pgd", "eps": 1.0, "project_every": 0}, "project_every"),
        ({"local_epochs": 0}, "local_epochs"),
        ({"target": -1}, "target"),
        ({"n_edge": 0, "n_clean": 0}, "n_edge"),
    ],
)
def test_attacker_validation(kwargs, field):
    with pytest.raises(ValueError, match=field):
        FederatedAttacker(**kwargs)


def test_schedules_and_pools():
    ff = FederatedAttacker(every=10)
    assert [r for r in range(1, 32) if ff.attacks_in(r)] == [1, 11, 21, 31]
    pool_a = FederatedAttacker(schedule="fixed-pool", pool_fraction=0.05)
    pool_b = FederatedAttacker(schedule="fixed-pool", pool_fraction=0.1)
    assert not pool_a.attacks_in(1)
    pools = draw_pools([ff, pool_a, pool_b], 100)
    assert pools[0] == () and len(pools[1]) == 5 and len(pools[2]) == 10
    assert not set(pools[1]) & set(pools[2])
    assert pools == draw_pools([ff, pool_a, pool_b], 100)
    with pytest.raises(ValueError, match="does not fit"):
        draw_pools([FederatedAttacker(schedule="fixed-pool", pool_fraction=1.0)] * 2, 10)


def test_paper_attacker_settings():
    a = paper_attacker("southwest", "pgd", "krum")
    assert (a.eps, a.lr, a.project_every, a.every, a.eps_decay) == (1.5, 0.02, 10, 10, 0.998)
    assert math.isclose(a.eps_at(3), 1.5 * 0.998**2)
    b = paper_attacker("ardis", "pgd-replacement", "norm-clipping")
    assert (b.eps, b.eps_decay) == (0.3, 1.0)
    assert paper_attacker("ardis", "black-box").eps is None


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"task": "emnist"}, "task"),
        ({"n_clients": 0}, "n_clients"),
        ({"clients_per_round": 21}, "clients_per_round"),
        ({"rounds": 0}, "rounds"),
        ({"lr": 0.0}, "lr"),
        ({"lr_decay": 1.5}, "lr_decay"),
        ({"momentum": 1.0}, "momentum"),
        ({"alpha": 0.0}, "alpha"),
        ({"partition": "shards"}, "partition"),
        ({"n_train": 10}, "n_train"),  # fewer images than clients
        ({"seed": -1}, "seed"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"augment": "yes"}, "augment"),
    ],
)
def test_config_validation(kwargs, field):
    with pytest.raises(ValueError, match=field):
        FederatedConfig(**kwargs)


def test_config_plain_data_and_presets():
    import json

    d = TINY.to_dict()
    assert FederatedConfig.from_dict(json.loads(json.dumps(d))) == TINY
    assert TINY.key() == FederatedConfig.from_dict(d).key() != dataclasses.replace(TINY, seed=1).key()
    sw = FEDERATED_PRESETS["southwest"]
    assert (sw.n_clients, sw.clients_per_round, sw.local_epochs, sw.lr, sw.lr_decay) == (200, 10, 2, 0.02, 0.998)
    ar = FEDERATED_PRESETS["ardis"]
    assert (ar.n_clients, ar.clients_per_round, ar.lr, ar.alpha, ar.warm_start_epochs) == (3383, 30, 0.1, 0.5, 10)
    assert federated_preset("reduced", rounds=3).rounds == 3
    with pytest.raises(ValueError, match="federated preset"):
        federated_preset("huge")
    with pytest.raises(ValueError, match="unknown field"):
        FederatedConfig.from_dict({"tsk": "ardis"})


@pytest.mark.slow
def test_run_rejects_bad_inputs(task, warm):
    with pytest.raises(ValueError, match="unknown aggregator"):
        run_federated(task, TINY, (), "krumm", initial_state=warm)
    with pytest.raises(ValueError, match="config.task"):
        run_federated(task, dataclasses.replace(TINY, task="southwest"), (), initial_state=warm)
    with pytest.raises(ValueError, match="fixed-frequency"):
        run_federated(task, TINY, [FederatedAttacker()] * 4, initial_state=warm)


# --------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_warm_start_roundtrip(tmp_path, warm):
    path = tmp_path / "warm.safetensors"
    save_state(path, warm, {"config": "tiny"})
    loaded = load_state(path)
    assert loaded.keys() == warm.keys()
    assert all(torch.equal(loaded[k], warm[k]) for k in warm)


@pytest.mark.slow
def test_black_box_attack_every_round_plants_the_backdoor(baseline, attacked):
    base, att = baseline.to_frame(), attacked.to_frame()
    assert len(base) == len(att) == TINY.rounds + 1
    # same warm start: identical round 0
    assert base.loc[0, "backdoor_acc"] == att.loc[0, "backdoor_acc"]
    assert (att.loc[1:, "attacked_0"] == 1).all() and (att.loc[1:, "kept_0"] == 1).all()
    assert (att.loc[1:, "norm_diff_0"] > 0).all()
    # the attack works: the last rounds' backdoor accuracy is far above the
    # run without attacker, and the main task does not collapse
    base_bd = base["backdoor_acc"].iloc[-2:].mean()
    att_bd = att["backdoor_acc_0"].iloc[-2:].mean()
    assert att_bd >= base_bd + 0.3, (base_bd, att_bd)
    assert att["main_acc"].iloc[-1] >= base["main_acc"].iloc[-1] - 0.1
    assert base["main_acc"].iloc[-1] > 0.6


@pytest.mark.slow
def test_same_seed_same_rounds(task, warm, attacked):
    again = run_federated(task, TINY, [FederatedAttacker("black-box", every=1)], "fedavg", initial_state=warm)
    a, b = attacked.to_frame().drop(columns="seconds"), again.to_frame().drop(columns="seconds")
    assert a.equals(b)
    assert all(torch.equal(attacked.final_state[k], again.final_state[k]) for k in again.final_state)


@pytest.mark.slow
def test_pgd_attacker_stays_in_its_ball_and_krum_reports_kept(task, warm):
    cfg = dataclasses.replace(TINY, rounds=2, clients_per_round=4)
    attackers = [
        FederatedAttacker("pgd", every=1, eps=0.5, lr=0.05, project_every=2),
        FederatedAttacker("pgd-replacement", every=2, eps=0.1, lr=0.05),
    ]
    run = run_federated(task, cfg, attackers, "krum", initial_state=warm)
    frame = run.to_frame()
    assert (frame.loc[1:, "norm_diff_0"] <= 0.5 + 1e-4).all()
    # replacement: the projected update (≤ eps) scaled by n_S / n_attacker
    r1 = run.records[1]
    n_round = sum(run.client_sizes[c] for c in r1.clients) + sum(run.attacker_sizes)
    assert frame.loc[1, "norm_diff_1"] <= 0.1 * n_round / run.attacker_sizes[1] + 1e-4
    assert frame.loc[2, "attacked_1"] == 0 and math.isnan(frame.loc[2, "norm_diff_1"])
    # Krum keeps exactly one participant per round
    assert (frame.loc[1:, "n_kept"] == 1).all()


@pytest.mark.slow
def test_fairness_client_and_ap_ratio(task, warm):
    cfg = dataclasses.replace(TINY, rounds=1, partition="iid", fairness_client=True)
    run = run_federated(task, cfg, [], "fedavg", initial_state=warm)
    frame = run.to_frame()
    assert (frame["ap_ratio"].between(0, 1)).all() and frame["honest_edge_acc"].notna().all()
    per_client = TINY.n_train // TINY.n_clients
    assert run.client_sizes == (per_client + len(task.honest_edge_x),) + (per_client,) * (TINY.n_clients - 1)


@pytest.mark.slow
def test_fixed_pool_and_fixed_frequency_attackers_together(task, warm):
    """Multi-agent: a pool attacker with its own target beside a
    fixed-frequency one; pool members attack only when sampled."""
    cfg = dataclasses.replace(TINY, rounds=2, clients_per_round=4)
    attackers = [
        FederatedAttacker(every=1, n_clean=20),
        FederatedAttacker(schedule="fixed-pool", pool_fraction=0.5, target=4, n_edge=30, n_clean=20),
    ]
    run = run_federated(task, cfg, attackers, "multi-krum", initial_state=warm)
    pool = set(run.pools[1])
    assert run.pools[0] == () and len(pool) == 4
    assert run.attacker_sizes == (86, 50)
    for r in run.records[1:]:
        assert len(r.clients) + len(r.attackers) == cfg.clients_per_round
        assert not pool & set(r.clients)  # a sampled pool member trains as the attacker
        assert r.attackers.count(0) == 1
        assert set(c for a, c in zip(r.attackers, r.attacker_clients) if a == 1) <= pool
    assert sum(r.attackers.count(1) for r in run.records) > 0
    frame = run.to_frame()
    # attacker 1 is scored on its own target (4), attacker 0 on the task's
    assert frame["backdoor_acc_0"].equals(frame["backdoor_acc"])
    assert not frame["backdoor_acc_1"].equals(frame["backdoor_acc"])


def _without_dropout(monkeypatch):
    """Build the task models with every dropout at p = 0 (the one thing the two training modes draw differently)."""
    import oracle.federated.simulator as sim

    build = sim.new_model

    def new_model(task, seed):
        model = build(task, seed)
        for m in model.modules():
            if isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d)):
                m.p = 0.0
        return model

    monkeypatch.setattr(sim, "new_model", new_model)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["ardis", "southwest"])
def test_clients_trained_together_match_the_sequential_loop(which, task, warm, monkeypatch):
    """Honest clients trained as one vectorised model (the default on CUDA) take the same SGD steps on
    the same batches as the sequential loop: with dropout off, the same weights up to rounding. The
    clients hold different amounts of data, so partial batches and clients that run out early occur."""
    _without_dropout(monkeypatch)
    if which == "ardis":
        the_task, cfg, state = task, dataclasses.replace(TINY, rounds=2, batch_size=16, local_epochs=2), warm
    else:
        the_task = load_task("southwest")  # VGG-9, crop-and-flip augmentation drawn per client
        cfg = federated_preset("southwest", n_clients=6, clients_per_round=3, rounds=1, local_epochs=2,
                               batch_size=8, warm_start_epochs=0, n_train=120, n_test=40)
        state = None
    runs = {}
    for together in (False, True):
        attackers = [FederatedAttacker("black-box", every=1, n_edge=10, n_clean=10)]
        runs[together] = run_federated(the_task, cfg, attackers, "fedavg", initial_state=state,
                                       batch_clients=together)
        assert runs[together].batch_clients is together
    sizes = {runs[True].client_sizes[c] for r in runs[True].records for c in r.clients}
    assert len(sizes) > 1 and any(n % cfg.batch_size for n in sizes)
    seq, vec = runs[False], runs[True]
    for k in seq.final_state:
        assert torch.allclose(seq.final_state[k], vec.final_state[k], atol=1e-5), k
    a, b = seq.to_frame(), vec.to_frame()
    assert a["clients"].equals(b["clients"])
    np.testing.assert_allclose(a["honest_norm_mean"][1:], b["honest_norm_mean"][1:], rtol=1e-4)
    np.testing.assert_allclose(a["main_acc"], b["main_acc"], atol=0.01)


@pytest.mark.slow
def test_clients_trained_together_with_dropout_are_seeded(task, warm):
    cfg = dataclasses.replace(TINY, rounds=2)
    runs = [run_federated(task, cfg, [FederatedAttacker("black-box", every=1)], "fedavg", initial_state=warm,
                          batch_clients=True) for _ in range(2)]
    assert all(torch.equal(runs[0].final_state[k], runs[1].final_state[k]) for k in runs[0].final_state)
    sequential = run_federated(task, cfg, [FederatedAttacker("black-box", every=1)], "fedavg", initial_state=warm,
                               batch_clients=False)
    # other dropout masks: other weights, a model of the same quality
    assert not torch.equal(runs[0].final_state["fc1.weight"], sequential.final_state["fc1.weight"])
    assert abs(runs[0].main_acc()[-1] - sequential.main_acc()[-1]) < 0.05


@pytest.mark.slow
def test_southwest_vgg9_smoke():
    """CIFAR-10 + Southwest with VGG-9 and the crop/flip augmentation: one tiny round."""
    sw = load_task("southwest")
    assert sw.model == "vgg9" and sw.edge.target == 9 and sw.edge.x_test.shape == (196, 32, 32, 3)
    assert sw.honest_edge_x.shape == (100, 32, 32, 3) and sw.honest_edge_label == 0
    cfg = federated_preset(
        "southwest", n_clients=4, clients_per_round=2, rounds=1, local_epochs=1,
        warm_start_epochs=0, n_train=80, n_test=40,
    )  # fmt: skip
    run = run_federated(sw, cfg, [FederatedAttacker(every=1, n_edge=8, n_clean=8)], "norm-clipping")
    frame = run.to_frame()
    assert frame.loc[1, "attacked_0"] == 1 and frame["main_acc"].between(0, 1).all()
    assert 0 <= frame.loc[1, "backdoor_acc"] <= 1


@pytest.mark.slow
def test_to_csv_and_plots(tmp_path, baseline, attacked):
    csv = tmp_path / "run.csv"
    attacked.to_csv(csv)
    import pandas as pd

    back = pd.read_csv(csv)
    assert list(back["round"]) == list(range(TINY.rounds + 1))
    fig = plot_accuracy(attacked, tmp_path / "acc.png", title="black-box, every round")
    assert (tmp_path / "acc.png").stat().st_size > 1000 and fig.axes
    plot_runs({"no attack": baseline, "black-box": attacked}, tmp_path / "cmp.png")
    assert (tmp_path / "cmp.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"^unknown metric .* known metrics \(columns\) of run .* are "):
        plot_runs({"x": baseline}, metric="nope")
