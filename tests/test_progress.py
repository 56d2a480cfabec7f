"""Progress in a log: plain lines, at most one per interval, none for quick work; the choice made in one place."""

from __future__ import annotations

import io
import time

import pytest

from oracle import progress as progress_module
from oracle.progress import PlainProgress, interactive, progress


def test_plain_lines_at_most_every_interval():
    out = io.StringIO()
    bar = PlainProgress(range(6), desc="train smallcnn (tiny)", unit="epoch", interval=0.05, stream=out)
    for epoch in bar:
        bar.set_postfix(loss=f"{1 / (epoch + 1):.3f}")
        time.sleep(0.03)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert 1 <= len(lines) <= 4  # 6 epochs of 0.03 s, a line at most every 0.05 s
    assert lines[0].startswith("train smallcnn (tiny): ") and "/6 epoch, " in lines[0] and "(loss=" in lines[0]


def test_quick_work_prints_nothing():
    out = io.StringIO()
    assert list(PlainProgress([1, 2, 3], desc="cells", interval=60, stream=out)) == [1, 2, 3]
    bar = PlainProgress(total=5, desc="decoding", stream=out, interval=60)
    bar.update(5)
    bar.close()
    assert out.getvalue() == ""


def test_silent_and_disabled_bars_iterate_quietly(capsys, monkeypatch):
    monkeypatch.setenv("BACKFIRE_PROGRESS", "plain")
    assert list(progress(range(3), desc="x", enabled=False)) == [0, 1, 2]
    assert list(progress(range(3), desc="cells", leave=False, in_logs=False)) == [0, 1, 2]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("mode,expected", [("plain", False), ("bar", True)])
def test_environment_overrides_the_terminal_test(monkeypatch, mode, expected):
    monkeypatch.setenv("BACKFIRE_PROGRESS", mode)
    assert interactive() is expected


def test_not_a_terminal_is_plain(monkeypatch):
    monkeypatch.delenv("BACKFIRE_PROGRESS", raising=False)
    assert interactive(io.StringIO()) is False
    monkeypatch.setattr(progress_module.sys, "stderr", io.StringIO())
    assert isinstance(progress(range(2), desc="x"), PlainProgress)


def test_write_is_a_plain_line_in_a_log(capsys, monkeypatch):
    monkeypatch.setenv("BACKFIRE_PROGRESS", "plain")
    progress_module.write("[1/4] a × b, seed 3407: ASR 50.0")
    assert capsys.readouterr().out == "[1/4] a × b, seed 3407: ASR 50.0\n"
