"""Progress that suits the output: a bar on a terminal, a few lines in a log, nothing when off."""

from __future__ import annotations

import io

import numpy as np
import pytest
from tqdm import tqdm

from semgaug_sk.utils.progress import N_REPORTS, progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _drive(bar, n, postfix_every=50):
    for i in range(n):
        bar.update(1)
        if bar.n % postfix_every == 0:
            bar.set_postfix(loss=f"{1 / (i + 1):.4f}")
    bar.close()


def test_a_log_gets_a_start_line_about_one_per_tenth_and_an_end_line():
    log = io.StringIO()
    _drive(
        progress(total=1500, desc="SASG diffusion", unit="steps", file=log, min_interval=0), 1500
    )
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) == N_REPORTS + 1
    assert lines[0] == "SASG diffusion: 0/1500 steps"
    assert lines[1].startswith("SASG diffusion: 150/1500 steps (10%)") and "left" in lines[1]
    assert lines[-1].startswith("SASG diffusion: 1500/1500 steps done in ")
    assert lines[-1].endswith("loss=0.0007")


def test_log_lines_are_throttled_in_time():
    log = io.StringIO()
    _drive(progress(total=1000, desc="fast", file=log, min_interval=3600), 1000)
    assert len(log.getvalue().splitlines()) == 2  # start and end only


def test_iterating_reports_and_an_early_stop_says_so():
    log = io.StringIO()
    assert list(progress(range(3), desc="gen", file=log, min_interval=0)) == [0, 1, 2]
    assert log.getvalue().splitlines()[-1].startswith("gen: 3/3 done in ")
    log = io.StringIO()
    for i in progress(range(10), desc="gen", file=log):
        if i == 4:
            break
    assert log.getvalue().splitlines()[-1].startswith("gen: stopped at 4/10 after ")


def test_a_terminal_gets_a_live_tqdm_bar():
    term = _Terminal()
    bar = progress(total=5, desc="bar", file=term)
    assert isinstance(bar, tqdm)
    _drive(bar, 5)
    assert "\r" in term.getvalue()


def test_disabled_progress_is_silent():
    for stream in (io.StringIO(), _Terminal()):
        bar = progress(total=5, desc="off", file=stream, disable=True)
        _drive(bar, 5)
        assert list(progress(range(3), file=stream, disable=True)) == [0, 1, 2]
        assert stream.getvalue() == ""


def test_a_broken_stream_does_not_stop_the_work():
    log = io.StringIO()
    bar = progress(total=3, desc="x", file=log)
    log.close()
    _drive(bar, 3)


def test_epoch_logs_carry_no_colour_codes_outside_a_terminal(capsys):
    from semgaug_sk.encoders import SemanticEncoder

    X = np.random.default_rng(0).normal(size=(40, 2, 16)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=3, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "valid_loss" in out and "\x1b[" not in out  # skorch colours the best values


def test_the_plain_epoch_log_keeps_colours_on_a_terminal(monkeypatch):
    from semgaug_sk.base import PlainPrintLog

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    row = {"loss": 1.5, "loss_best": True}
    assert "\x1b[" in PlainPrintLog(sink=Terminal().write).format_row(row, "loss", "\x1b[36m")
    assert PlainPrintLog(sink=io.StringIO().write).format_row(row, "loss", "\x1b[36m") == "1.5000"
    monkeypatch.setattr("sys.stdout", Terminal())
    assert "\x1b[" in PlainPrintLog().format_row(row, "loss", "\x1b[36m")


def test_no_stderr_at_all_reports_nothing_and_does_not_stop_the_work(monkeypatch):
    import sys

    monkeypatch.setattr(sys, "stderr", None)  # pythonw, a windowed app
    bar = progress(range(3), desc="x")
    assert list(bar) == [0, 1, 2]
    _drive(progress(total=10, desc="y"), 10)


def _tiny_encoder_fit(verbose, **params):
    from semgaug_sk.encoders import SemanticEncoder

    X = np.random.default_rng(0).normal(size=(40, 2, 16)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    settings = dict(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=3, random_state=0)
    return SemanticEncoder(**{**settings, **params}, verbose=verbose).fit(X, y)


def test_epoch_logs_to_moves_the_tables_and_stopping_messages_of_this_thread_only(capsys):
    import threading

    from semgaug_sk.utils.progress import epoch_logs_to

    log = io.StringIO()
    seen_elsewhere = {}

    def other_thread():  # trains and prints while the main thread's logs are moved
        _tiny_encoder_fit(verbose=1)
        print("a result of the other thread")
        seen_elsewhere["done"] = True

    with epoch_logs_to(log):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        # patience=1 on noise: early stopping stops and says so (its sink is print)
        _tiny_encoder_fit(verbose=1, max_epochs=40, patience=1)
        print("a result of this thread")
    out = capsys.readouterr().out
    assert seen_elsewhere["done"]
    assert "train_loss" in log.getvalue() and "Stopping since valid_loss" in log.getvalue()
    assert "\x1b[" not in log.getvalue()
    # the other thread's table and both threads' own prints stayed on stdout
    assert "a result of this thread" in out and "a result of the other thread" in out
    assert out.count("train_loss") == 1 and "Stopping since" not in out


def test_epoch_logs_to_keeps_quiet_nets_quiet_and_refuses_a_non_stream(capsys):
    from semgaug_sk.utils.progress import epoch_log_stream, epoch_logs_to

    log = io.StringIO()
    with epoch_logs_to(log):
        _tiny_encoder_fit(verbose=0)
        assert epoch_log_stream() is log
    assert log.getvalue() == "" and capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="has no write method"):
        with epoch_logs_to("log.txt"):
            pass
