"""harness.options: the hidden seed comes from the environment or a private file, never argv."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness import cli, options


def parse(*argv: str):
    return cli.parser().parse_args(list(argv))


@pytest.mark.parametrize(
    "command",
    [["grade", "x"], ["ci", "x"], ["bulk", "d"], ["gradescope"]],
    ids=lambda c: c[0],
)
def test_a_seed_on_the_command_line_is_refused_with_what_to_do(command, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(*command, "--hidden-seed", "5")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert options.SEED_ON_COMMAND_LINE in err.replace("\n", " ") or "/proc/PID/cmdline" in err
    assert options.HIDDEN_SEED_ENV in err and "--hidden-seed-file" in err


def test_seed_from_the_environment_is_taken_out_of_it(monkeypatch):
    monkeypatch.setenv(options.HIDDEN_SEED_ENV, "17")
    monkeypatch.setattr(options, "undumpable", lambda: None)  # this test process stays dumpable
    assert options.hidden_seed_from(parse("grade", "x")) == 17
    assert options.HIDDEN_SEED_ENV not in __import__("os").environ


def test_seed_from_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv(options.HIDDEN_SEED_ENV, raising=False)
    monkeypatch.setattr(options, "undumpable", lambda: None)
    seed = tmp_path / "seed"
    seed.write_text("12345\n")
    seed.chmod(0o600)
    args = parse("grade", "x", "--hidden-seed-file", str(seed))
    assert options.hidden_seed_from(args) == 12345
    assert options.grade_argv(args) == []  # the file is not passed on either


@pytest.mark.parametrize(
    "mode, text, env, message",
    [
        (0o644, "5", None, "chmod 600"),
        (0o640, "5", None, "chmod 600"),
        (0o600, "five", None, "must hold an integer"),
        (0o600, "5", "6", "give one"),
    ],
    ids=["world-readable", "group-readable", "not-an-integer", "file-and-environment"],
)
def test_bad_seed_sources_exit_2_with_what_to_do(tmp_path, monkeypatch, capsys, mode, text, env, message):
    monkeypatch.setattr(options, "undumpable", lambda: None)
    if env is None:
        monkeypatch.delenv(options.HIDDEN_SEED_ENV, raising=False)
    else:
        monkeypatch.setenv(options.HIDDEN_SEED_ENV, env)
    seed = tmp_path / "seed"
    seed.write_text(text)
    seed.chmod(mode)
    with pytest.raises(SystemExit) as exc:
        options.hidden_seed_from(parse("grade", "x", "--hidden-seed-file", str(seed)))
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_seed_file_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(options.HIDDEN_SEED_ENV, raising=False)
    with pytest.raises(SystemExit) as exc:
        options.hidden_seed_from(parse("grade", "x", "--hidden-seed-file", str(tmp_path / "none")))
    assert exc.value.code == 2 and "give a file holding the seed" in capsys.readouterr().err


def test_a_process_holding_the_seed_is_undumpable():
    """Its /proc environ and memory become root's: a same-user child cannot read the seed there."""
    code = (
        "import ctypes, os\n"
        "from harness import cli, options\n"
        "libc = ctypes.CDLL(None)\n"
        "before = libc.prctl(3, 0, 0, 0, 0)\n"  # PR_GET_DUMPABLE
        "options.hidden_seed_from(cli.parser().parse_args(['grade', 'x']))\n"
        "print(before, libc.prctl(3, 0, 0, 0, 0))\n"
    )
    env = {"PATH": "/usr/bin:/bin", options.HIDDEN_SEED_ENV: "99"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["1", "0"], out.stdout + out.stderr
