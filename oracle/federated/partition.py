"""Splitting a training set over federated clients, as index arrays.

``dirichlet_partition`` is the "hetero-dir" split of the Attack of the Tails
code (after FedMA, Wang et al., 2020, and Hsu et al., 2019, "Measuring the
effects of non-identical data distribution"): for every class c, client
shares p_c ~ Dirichlet(α·1_K); class c's images, in a seeded random order,
are cut into K consecutive runs of lengths ≈ p_c,k · n_c. Small α gives each
client few classes; α → ∞ tends to the i.i.d. split. The authors redraw
until every client has 10 images; here a client left empty instead takes one
image from the currently largest client, so the split always exists (as long
as K ≤ N) and every client holds at least one image.
"""

from __future__ import annotations

import numpy as np

from strategies.validate import DEFAULT_SEED, check_int, check_real

__all__ = ["client_sizes", "dirichlet_partition", "iid_partition", "label_counts"]


def _check_counts(n: int, n_clients: object) -> int:
    return check_int("n_clients", n_clients, 1, n)  # one image per client at least


def _split(owner: np.ndarray, n_clients: int) -> tuple[np.ndarray, ...]:
    """Index arrays (sorted) of each client, from the owner of every sample."""
    order = np.argsort(owner, kind="stable")
    bounds = np.cumsum(np.bincount(owner, minlength=n_clients))[:-1]
    return tuple(np.split(order, bounds))


def _fill_empty(owner: np.ndarray, n_clients: int, rng: np.random.Generator) -> np.ndarray:
    """Give every empty client one sample of the currently largest client."""
    owner = owner.copy()
    sizes = np.bincount(owner, minlength=n_clients)
    for client in np.flatnonzero(sizes == 0):
        donor = int(np.argmax(sizes))
        moved = rng.choice(np.flatnonzero(owner == donor))
        owner[moved] = client
        sizes[donor] -= 1
        sizes[client] += 1
    return owner


def dirichlet_partition(
    labels: np.ndarray, n_clients: int, alpha: float, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, ...]:
    """Split sample indices ``0..N-1`` over ``n_clients`` by Dirichlet(α) label shares.

    For class c with n_c samples (in a seeded random order) and shares
    p_c ~ Dir(α·1_K), client k gets positions
    [round(n_c·P_c,k-1), round(n_c·P_c,k)) where P_c,k = Σ_{j≤k} p_c,j.
    All classes at once: positions are offset by the class's start s_c in the
    class-sorted order, so the cut points s_c + round(n_c·P_c,k) form one
    non-decreasing sequence over (c, k), and one ``searchsorted`` assigns
    every sample. Empty clients are then filled (module docstring).

    Returns one sorted ``int64`` index array per client; together they are a
    partition of ``0..N-1``. Seeded: ``numpy.random.default_rng(seed)``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels has dtype {labels.dtype} and shape {labels.shape}; allowed: integer (N,), N >= 1")
    n_clients = _check_counts(labels.size, n_clients)
    alpha = check_real("alpha", alpha, 0, low_open=True)
    rng = np.random.default_rng(seed)
    classes, class_of = np.unique(labels, return_inverse=True)
    shuffled = rng.permutation(labels.size)
    by_class = shuffled[np.argsort(class_of[shuffled], kind="stable")]  # grouped by class, random within
    counts = np.bincount(class_of, minlength=len(classes))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    shares = rng.dirichlet(np.full(n_clients, float(alpha)), size=len(classes))  # (C, K)
    cuts = starts[:, None] + np.rint(np.cumsum(shares, axis=1) * counts[:, None]).astype(np.int64)
    cuts[:, -1] = starts + counts  # guard against round-off at the end of each class
    positions = np.arange(labels.size)
    slot = np.searchsorted(cuts.ravel(), positions, side="right")
    client_at = slot - np.repeat(np.arange(len(classes)), counts) * n_clients
    owner = np.empty(labels.size, np.int64)
    owner[by_class] = client_at
    return _split(_fill_empty(owner, n_clients, rng), n_clients)


def iid_partition(n: int, n_clients: int, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, ...]:
    """Split ``0..n-1`` uniformly at random into ``n_clients`` parts whose sizes
    differ by at most one (``numpy.array_split`` of a seeded permutation);
    each part sorted."""
    n = check_int("n", n, 1)
    n_clients = _check_counts(n, n_clients)
    perm = np.random.default_rng(seed).permutation(int(n))
    return tuple(np.sort(p) for p in np.array_split(perm, n_clients))


def client_sizes(parts: tuple[np.ndarray, ...] | list[np.ndarray]) -> np.ndarray:
    """Number of samples of each client, ``int64`` (K,)."""
    return np.array([len(p) for p in parts], np.int64)


def label_counts(parts: tuple[np.ndarray, ...] | list[np.ndarray], labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-client class histogram, ``int64`` (K, num_classes)."""
    labels = np.asarray(labels)
    if not len(parts):
        return np.zeros((0, num_classes), np.int64)
    return np.stack([np.bincount(labels[p], minlength=num_classes) for p in parts])
