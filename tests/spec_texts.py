"""Game-spec texts that several test files share, and :func:`patched`, the one way a test changes one: it
fails when the text it patches is gone (a plain ``str.replace`` would silently test the unpatched spec)."""

from __future__ import annotations

__all__ = ["DIGITS_ENVIRONMENT", "INDEPENDENT", "MNIST_ENVIRONMENT", "SMALL", "game", "one_cell", "patched"]


def patched(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new``; AssertionError when ``text`` does not hold ``old``."""
    assert old in text, f"the spec text to patch is gone: {old!r}"
    return text.replace(old, new)


def game(name: str, n_attackers: int = 2, seeds: tuple[int, ...] = (3407,)) -> str:
    """The ``[game]`` table."""
    return f'[game]\nname = "{name}"\nn_attackers = {n_attackers}\nseeds = [{", ".join(map(str, seeds))}]\n'


#: The UCI 8x8 digits (in scikit-learn: no download), two attackers' shares, the tiny preset.
DIGITS_ENVIRONMENT = """
[environment]
dataset = "digits"
v_d = 0.5
n_max = 2
preset = "tiny"
"""

#: 400 MNIST images (for specs that are solved offline and never trained).
MNIST_ENVIRONMENT = patched(DIGITS_ENVIRONMENT, 'dataset = "digits"\n', 'dataset = "mnist"\nn_images = 400\n')

#: Attackers with their own random trigger and random target label.
INDEPENDENT = """
[[attackers]]
name = "independent"
eps = 0.55
p = 0.2
labels = { kind = "random" }
"""

#: The small CNN, no defense.
SMALL = """
[[defenders]]
name = "small"
architecture = "smallcnn"
defense = "none"
"""


def one_cell(name: str = "one cell") -> str:
    """A game of one cell (digits, the independent attackers, the small CNN, seed 3407)."""
    return game(name) + DIGITS_ENVIRONMENT + INDEPENDENT + SMALL
