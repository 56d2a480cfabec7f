"""The two image tasks of "Attack of the Tails" (Wang et al., 2020) as data.

==============  ===========================================================
``southwest``   CIFAR-10 (the project's JPEG re-encoding) + photos of
                Southwest Airlines planes, which the attacker labels
                "truck" (9). Model: VGG-9 without batch norm. The attacker's
                set: 100 Southwest images drawn from ``new_train`` (784 =
                196 photos x 4 rotations) + 400 clean CIFAR-10 training
                images. Backdoor test set: ``new_test`` (196), every label 9.
                Fairness run (§4, Fig. 8): an honest client also holds
                ``honest_almost_edge_case`` (100 planes of other airlines,
                labelled correctly "airplane", 0).
``ardis``       MNIST + ARDIS (Swedish church-record digits) sevens, which
                the attacker labels "1". Model: the authors' LeNet. The
                attacker's set: the 66 ARDIS sevens of the authors' poison
                file (the first 66 of ``ardis_train7_99``, in a seeded order)
                + 100 clean MNIST training digits. Backdoor test set: the 100
                sevens of ``ardis_test``, scored as the share predicted 1.
                Fairness run: an honest client holds the other 33 ARDIS
                training sevens (``ardis_train7_99[66:]``), labelled 7,
                like the authors' "almost-edge-case" setting, which gives
                honest clients ARDIS sevens beyond the attacker's first 66.
==============  ===========================================================

Differences from the paper: the paper's digit task is EMNIST (3,383 writers),
which is not available offline here; MNIST replaces it, for the honest
clients as well as for the clean part of the attacker's set (the authors'
poison file mixes 100 *EMNIST* digits, stored transposed, with the sevens;
those EMNIST rows are not used). The paper drew its 66 sevens from 660 ARDIS
training sevens; the shared file holds 99 of them.

Files (``shared/data/README.md``): ``southwest_edgecase.npz`` and
``ardis_edgecase.npz``, looked for along :func:`oracle.data.locations.data_search_path`
(``data_dir``, ``$BACKFIRE_DATA``, ``shared/data`` above the working
directory or the package). A missing file raises :class:`EdgeCaseNotFound`
naming the file and every folder searched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oracle.data.dataset import Dataset
from oracle.data.datasets import load_dataset
from oracle.data.locations import ENV_DATA, DatasetNotFound, SearchRoot, data_search_path
from strategies.validate import check_int, check_name, check_str, out_of_range

__all__ = [
    "EDGE_CASE_TRAIN_IMAGES",
    "TASK_DATASETS",
    "TASK_NAMES",
    "EdgeCaseNotFound",
    "EdgeCaseSet",
    "FederatedTask",
    "draw_poison_set",
    "find_edge_case_file",
    "load_task",
]

TASK_NAMES: tuple[str, ...] = ("southwest", "ardis")
#: The dataset of each task's honest clients (its classes bound the attackers' target labels).
TASK_DATASETS: dict[str, str] = {"southwest": "cifar10", "ardis": "mnist"}
#: Edge-case training images of each task's attacker set (``n_edge`` at most
#: this): Southwest ``new_train``, 196 photos × 4 rotations; the first 66 ARDIS sevens.
EDGE_CASE_TRAIN_IMAGES: dict[str, int] = {"southwest": 784, "ardis": 66}

SOUTHWEST_FILE = "southwest_edgecase.npz"
ARDIS_FILE = "ardis_edgecase.npz"

#: CIFAR-10 labels used by the Southwest task.
_AIRPLANE, _TRUCK = 0, 9
#: MNIST labels used by the ARDIS task.
_ONE, _SEVEN = 1, 7
#: The paper's attacker sets: (edge-case images, clean images).
_SOUTHWEST_MIX = (100, 400)
_ARDIS_MIX = (66, 100)
#: ARDIS training sevens in the authors' poison file (the first 66).
_ARDIS_ATTACKER_SEVENS = 66


class EdgeCaseNotFound(DatasetNotFound):
    """An edge-case file is in none of the folders searched.

    It cannot be downloaded: it ships with the project's shared data.
    Attributes as :class:`oracle.data.locations.DatasetNotFound`.
    """

    def __init__(self, task: str, filename: str, searched: list[SearchRoot]) -> None:
        self.dataset = task
        self.expected = (filename,)
        self.searched = tuple(searched)
        self.download_error = None
        places = "; ".join(r.describe() for r in searched) or "nowhere (no folder to search)"
        msg = (
            f"edge-case set of task {task!r} not found: expected {filename}; looked in: {places}; "
            f"it cannot be downloaded (it ships with the project's shared data, shared/data/). "
            f"Fix: put {filename} in a folder and set {ENV_DATA}=/that/folder or pass --data-dir /that/folder."
        )
        FileNotFoundError.__init__(self, msg)


def _images(field: str, x: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, C), read-only; (N, H, W) gets a channel axis."""
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim not in (3, 4):
        raise ValueError(f"{field} has dtype {x.dtype} and shape {x.shape}; allowed: uint8 (N, H, W[, C])")
    if x.ndim == 3:
        x = x[..., None]
    x = x.view()
    x.setflags(write=False)
    return x


def _check_label(field: str, value: object) -> int:
    return check_int(field, value, 0)


@dataclass(frozen=True, eq=False, repr=False)
class EdgeCaseSet:
    """Edge-case images and the label an attacker wants for them.

    ``x_train``: the pool an attacker draws its poisoned images from;
    ``x_test``: the backdoor test images (backdoor accuracy = share of them
    predicted ``target``). Both uint8 NHWC, the same image shape.
    """

    name: str
    x_train: np.ndarray
    x_test: np.ndarray
    target: int
    description: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_str("name", self.name)
        set_(self, "x_train", _images("x_train", self.x_train))
        set_(self, "x_test", _images("x_test", self.x_test))
        set_(self, "target", _check_label("target", self.target))
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"x_train images {self.x_train.shape[1:]} and x_test images {self.x_test.shape[1:]} differ"
            )
        if len(self.x_train) == 0 or len(self.x_test) == 0:
            raise ValueError(
                f"edge-case set {self.name!r} has {len(self.x_train)} train / {len(self.x_test)} test images: "
                "allowed at least 1 each"
            )
        if not self.description:
            set_(self, "description", self.name)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def fingerprint(self) -> str:
        """SHA-256 over name, target and both arrays (for cache keys)."""
        h = hashlib.sha256(repr((self.name, self.target, self.x_train.shape, self.x_test.shape)).encode())
        for a in (self.x_train, self.x_test):
            h.update(np.ascontiguousarray(a).data)
        return h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"EdgeCaseSet(name={self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
            f"shape={self.shape}, target={self.target})"
        )


@dataclass(frozen=True, eq=False, repr=False)
class FederatedTask:
    """One task of the paper: the clean dataset, the model, the edge case.

    ``n_edge`` / ``n_clean``: the default size of an attacker's set (edge-case
    images labelled ``edge.target`` + clean training images with their true
    labels). ``honest_edge_x`` / ``honest_edge_label``: the extra images an
    honest client holds in the fairness run (AP ratio, §4).
    """

    name: str
    dataset: Dataset
    model: str
    edge: EdgeCaseSet
    n_edge: int
    n_clean: int
    honest_edge_x: np.ndarray
    honest_edge_label: int
    description: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "honest_edge_x", _images("honest_edge_x", self.honest_edge_x))
        set_(self, "honest_edge_label", _check_label("honest_edge_label", self.honest_edge_label))
        for field in ("n_edge", "n_clean"):
            set_(self, field, _check_label(field, getattr(self, field)))
        if self.edge.shape != self.dataset.shape or self.honest_edge_x.shape[1:] != self.dataset.shape:
            raise ValueError(
                f"edge-case images {self.edge.shape} / {self.honest_edge_x.shape[1:]} do not match "
                f"the dataset's {self.dataset.shape}"
            )
        for field, label in (("edge.target", self.edge.target), ("honest_edge_label", self.honest_edge_label)):
            check_int(field, label, 0, self.dataset.num_classes - 1)
        check_int("n_edge", self.n_edge, 0, len(self.edge.x_train))
        if not self.description:
            set_(self, "description", f"{self.dataset.description} + {self.edge.description}")

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.dataset.shape

    def with_dataset(self, dataset: Dataset) -> FederatedTask:
        """The same task on another version of its dataset (e.g. a subset)."""
        return dataclasses.replace(self, dataset=dataset, description="")

    def fingerprint(self) -> str:
        """SHA-256 over the dataset, the edge-case set and the fairness images."""
        h = hashlib.sha256(repr((self.name, self.model, self.n_edge, self.n_clean, self.honest_edge_label)).encode())
        h.update(self.dataset.fingerprint().encode())
        h.update(self.edge.fingerprint().encode())
        h.update(np.ascontiguousarray(self.honest_edge_x).data)
        return h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"FederatedTask(name={self.name!r}, model={self.model!r}, dataset={self.dataset!r}, "
            f"edge={self.edge!r}, n_edge={self.n_edge}, n_clean={self.n_clean})"
        )


def draw_poison_set(
    edge_x: np.ndarray,
    target: int,
    clean_x: np.ndarray,
    clean_y: np.ndarray,
    n_edge: int,
    n_clean: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """An attacker's training set D' = D_edge ∪ D_clean (paper §3, "fine-tuning
    backdoors via data mixing"): ``n_edge`` images drawn without replacement
    from ``edge_x``, all labelled ``target``, then ``n_clean`` drawn from
    ``(clean_x, clean_y)`` with their true labels. Draws from
    ``numpy.random.default_rng(seed)``. Returns ``(x, y)``: uint8 NHWC, int64.
    """
    edge_x = _images("edge_x", edge_x)
    clean_x = _images("clean_x", clean_x)
    for field, value, limit in (("n_edge", n_edge, len(edge_x)), ("n_clean", n_clean, len(clean_x))):
        check_int(field, value, 0, limit)
    if n_edge + n_clean == 0:
        out_of_range("n_edge + n_clean", 0, "[1, inf) (an attacker set of at least 1 image)")
    rng = np.random.default_rng(seed)
    e = rng.choice(len(edge_x), size=int(n_edge), replace=False)
    c = rng.choice(len(clean_x), size=int(n_clean), replace=False)
    x = np.concatenate((edge_x[e], clean_x[c]))
    y = np.concatenate((np.full(len(e), int(target), np.int64), np.asarray(clean_y, np.int64)[c]))
    return x, y


def find_edge_case_file(
    task: str, filename: str, data_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The first ``filename`` along the data search path, or raise
    :class:`EdgeCaseNotFound`."""
    roots = [r for r in data_search_path(data_dir) if r.origin != "torchvision download folder"]
    for root in roots:
        candidate = root.path / filename
        if candidate.is_file():
            return candidate
    raise EdgeCaseNotFound(task, filename, roots)


def _southwest(data_dir: str | os.PathLike[str] | None) -> FederatedTask:
    path = find_edge_case_file("southwest", SOUTHWEST_FILE, data_dir)
    with np.load(path, allow_pickle=False) as z:
        train, test, honest = z["new_train"], z["new_test"], z["honest_almost_edge_case"]
    edge = EdgeCaseSet(
        "southwest", train, test, _TRUCK,
        description="Southwest Airlines planes labelled truck",
    )  # fmt: skip
    return FederatedTask(
        name="southwest",
        dataset=load_dataset(TASK_DATASETS["southwest"], data_dir),
        model="vgg9",
        edge=edge,
        n_edge=_SOUTHWEST_MIX[0],
        n_clean=_SOUTHWEST_MIX[1],
        honest_edge_x=honest,
        honest_edge_label=_AIRPLANE,
    )


def _ardis(data_dir: str | os.PathLike[str] | None) -> FederatedTask:
    path = find_edge_case_file("ardis", ARDIS_FILE, data_dir)
    with np.load(path, allow_pickle=False) as z:
        sevens, test_x, test_y = z["ardis_train7_99"], z["ardis_test_x"], z["ardis_test_y"]
    edge = EdgeCaseSet(
        "ardis",
        sevens[:_ARDIS_ATTACKER_SEVENS],
        test_x[test_y == _SEVEN],
        _ONE,
        description="ARDIS sevens labelled 1",
    )
    return FederatedTask(
        name="ardis",
        dataset=load_dataset(TASK_DATASETS["ardis"], data_dir),
        model="lenet",
        edge=edge,
        n_edge=_ARDIS_MIX[0],
        n_clean=_ARDIS_MIX[1],
        honest_edge_x=sevens[_ARDIS_ATTACKER_SEVENS:],
        honest_edge_label=_SEVEN,
    )


def load_task(name: str, data_dir: str | os.PathLike[str] | None = None) -> FederatedTask:
    """Load ``"southwest"`` (CIFAR-10, VGG-9) or ``"ardis"`` (MNIST, LeNet).

    ``data_dir`` goes first in the search path for the edge-case file and the
    clean dataset. See the module docstring for what each task holds.
    """
    check_name("task", name, TASK_NAMES)
    return _southwest(data_dir) if name == "southwest" else _ardis(data_dir)
