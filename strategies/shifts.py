"""Shifts an attacker may add besides its backdoor (paper E3, App. 6.2.4): their names and checks.

* run-time shift ``shift`` at strength ``shift_eps`` = ε_a ∈ [0, 1]:
  ``"none"`` or ``"fgsm"`` (the fast gradient sign method on the attacker's
  own surrogate at ``ε'_a = 0.1 · ε_a``, :mod:`oracle.attacks.fgsm`);
* train-time stylisation ``style`` at strength ``style_alpha`` = α ∈ [0, 1]
  (1 = 100% stylisation): AdaIN (Huang & Belongie, 2017;
  :mod:`oracle.attacks.adain`) of the attacker's train-time share with one of
  :data:`STYLES` before its trigger is inserted. A population strategy may
  also say ``"distinct"``: attacker ``i`` takes ``STYLES[i mod |STYLES|]``
  (the paper samples a distinct style per attacker).

α = 0 is no stylisation: the style is then dropped (``"none"``), so that such
an action has the same content key as one without a style.

Both leave the dicts and content keys of actions without them unchanged (the
fields are written only when present).
"""

from __future__ import annotations

from typing import Any

from .validate import check_name, check_real

__all__ = ["SHIFTS", "STYLES", "STYLE_CHOICES", "check_shift", "check_style", "style_of", "with_shifts"]

#: Run-time shifts.
SHIFTS = ("none", "fgsm")

#: Style images (names in scikit-image's ``skimage.data``, shipped with the AdaIN weights).
STYLES = ("astronaut", "brick", "chelsea", "coffee", "grass", "gravel", "hubble_deep_field",
          "immunohistochemistry", "retina", "rocket")

#: What a population strategy may name as its style.
STYLE_CHOICES = ("none", "distinct", *STYLES)


def check_shift(shift: Any, shift_eps: Any) -> tuple[str, float]:
    """``(shift, shift_eps)`` checked: a name in :data:`SHIFTS`, ε_a in [0, 1], and ε_a = 0 without a shift."""
    shift = check_name("shift", shift, SHIFTS)
    shift_eps = check_real("shift_eps", shift_eps, 0.0, 1.0)
    if shift == "none" and shift_eps != 0.0:
        raise ValueError(f"shift_eps={shift_eps!r} needs a shift: allowed shift_eps = 0 with shift = 'none', "
                         f"or shift in {', '.join(SHIFTS[1:])}")
    return shift, shift_eps


def check_style(style: Any, style_alpha: Any, choices: tuple[str, ...] = STYLE_CHOICES) -> tuple[str, float]:
    """``(style, style_alpha)`` checked: a name in ``choices``, α in [0, 1], α = 0 without a style; a
    style at α = 0 becomes ``"none"`` (no stylisation)."""
    style = check_name("style", style, choices)
    alpha = check_real("style_alpha", style_alpha, 0.0, 1.0)
    if style == "none" and alpha != 0.0:
        raise ValueError(f"style_alpha={alpha!r} needs a style: allowed style_alpha = 0 with style = 'none', "
                         f"or style in {', '.join(c for c in choices if c != 'none')}")
    return ("none" if alpha == 0.0 else style), alpha


def style_of(style: str, index: int) -> str:
    """Attacker ``index``'s style under a population's ``style`` (``"distinct"``: ``STYLES[index mod 10]``)."""
    return STYLES[index % len(STYLES)] if style == "distinct" else style


def with_shifts(d: dict[str, Any], shift: str, shift_eps: float, style: str, style_alpha: float) -> dict[str, Any]:
    """``d`` plus the shift and style fields, each pair left out when absent (older keys stay as they were)."""
    if shift != "none":
        d["shift"] = shift
        d["shift_eps"] = shift_eps
    if style != "none":
        d["style"] = style
        d["style_alpha"] = style_alpha
    return d
