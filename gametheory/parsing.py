"""Strict reading of the values in user files: text, numbers, integers, names.

Every function here either returns a value of exactly the type asked for or
raises the ``error`` class it is given (a ``ValueError``) with one line that
names the place: ``"<file>: <line or key>, column '<c>': <value> is not …"``.
Values are shown with ``repr`` (so a newline in a value cannot break the line)
and cut to :data:`SHOW_CHARS` characters.

Types are checked exactly, as the issue that asked for this put it: a boolean
is not a number, null is not a name, an integer field takes integers (not
1.0, not "1e3"), NaN and infinity are not payoffs. Strings (from CSV) are
parsed with the same rules: decimal notation only (Python's ``float`` would
also take "1_000", "nan" and "infinity").
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

__all__ = ["decode", "as_name", "as_number", "as_integer", "show", "SHOW_CHARS"]

#: Values quoted in error messages are cut to this many characters.
SHOW_CHARS = 60

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def show(value: Any) -> str:
    """``repr(value)``, cut to :data:`SHOW_CHARS` characters: one line, whatever the value."""
    text = repr(value)
    return text if len(text) <= SHOW_CHARS else text[: SHOW_CHARS - 3] + "..."


def decode(data: bytes, where: str, error: type[ValueError]) -> str:
    """The text of a file: UTF-8, or UTF-8/16/32 with a byte-order mark (the mark removed).

    Anything else (UTF-16 without a mark, Latin-1, binary data) raises
    ``error`` naming the file, the offending byte and its offset.
    """
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise error(
            f"{where}: not {encoding.upper().replace('-SIG', '')} text (byte 0x{bad} at offset {exc.start}); "
            f"save it as UTF-8 (or UTF-16 with a byte-order mark)"
        ) from None
    if "\x00" in text:
        raise error(f"{where}: contains NUL characters (UTF-16 without a byte-order mark, or binary data?); "
                    f"save it as UTF-8")
    return text


def as_name(value: Any, place: str, error: type[ValueError]) -> str:
    """A non-empty string, stripped of surrounding blanks (``place`` names where it was read)."""
    if not isinstance(value, str):
        raise error(f"{place}: {show(value)} is not a name (a non-empty string)")
    name = value.strip()
    if not name or name.lower() == "nan":
        raise error(f"{place}: empty strategy label")
    return name


def as_number(value: Any, place: str, error: type[ValueError]) -> float:
    """A finite float: an int or float (never a bool), or a string in decimal notation."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise error(f"{place}: {show(value)} is not a finite number")
        if not _DECIMAL.fullmatch(text):
            raise error(f"{place}: {show(value)} is not a number")
        out = float(text)
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{place}: {show(value)} is not a number")
    else:
        try:
            out = float(value)
        except OverflowError:
            out = math.inf
    if not math.isfinite(out):
        raise error(f"{place}: {show(value)} is not a finite number")
    return out


def as_integer(value: Any, place: str, error: type[ValueError]) -> int:
    """An int (never a bool, never 1.0), or a string of decimal digits."""
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        try:
            return int(value.strip())
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            raise error(f"{place}: {show(value)} is not an integer of a usable size") from None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise error(f"{place}: {show(value)} is not an integer")
