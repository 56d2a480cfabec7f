"""A dataset plug-in: scikit-learn's 8×8 digits with inverted grey levels (255 − x)."""

from oracle.data.catalog import DatasetSpec
from oracle.data.dataset import Dataset
from oracle.data.datasets import load_dataset


def inverted_digits(data_dir=None) -> Dataset:
    d = load_dataset("digits", data_dir)
    return Dataset("inverted-digits", 255 - d.x_train, d.y_train, 255 - d.x_test, d.y_test, d.num_classes,
                   d.class_names, description="UCI 8x8 digits, inverted", source=d.source)


# digits' statistics (mean 0.3053, std 0.3760) with the mean inverted
INVERTED_DIGITS = DatasetSpec("inverted-digits", "UCI 8x8 digits, inverted", ((0.6947,), (0.3760,)),
                              implementation=inverted_digits)
