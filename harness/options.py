"""What a grade was asked to do, as typed values: one home for every option and its default.

``Options`` is what ``harness.grade.grade`` takes; ``TrainOptions`` the training check's part
of it. The command-line options that set them are one table (``GRADE_OPTIONS``): ``grade``,
``ci``, ``gradescope`` and ``bulk`` add them with ``add_grade_options``, and
``grade_argv`` turns parsed values back into arguments for a grading subprocess from the
same table, so an option added here reaches every command and every worker.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import NoReturn

from harness import profiles
from harness.core import device
from harness.sandbox import budget
from harness.sandbox.privileges import undumpable
from harness.sandbox.process import Limits

HIDDEN_SEED_ENV = "HARNESS_HIDDEN_SEED"
"""Where the hidden seed travels: the environment, never a command line others can read in /proc."""


@dataclass(frozen=True)
class TrainOptions:
    """The training check's options."""

    enabled: bool = True
    """Run the training check (``--no-train`` turns it off)."""
    data: str | None = None
    """Training data (``--data``): the course's ``mnist_all.mat``, IDX files or an ``.npz``; None: shipped digits."""
    iterations: int | None = None
    """SGD iterations of batch 64 (``--train-iterations``); None: the rubric's budget."""
    time_limit_s: float | None = None
    """Wall-clock limit of the training (``--train-time-limit``); None: the rubric's budget."""
    give_up_factor: float | None = None
    """Stop a run whose projected time exceeds this multiple of the limit, without grading what
    it learned (``--train-give-up``); None: train until the limit."""


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    only: tuple[str, ...] = ()
    """Glob patterns of check ids to run (``--only``)."""
    case: str | None = None
    """Run only the case of this name (``--case``)."""
    rubric: str | None = None
    """Rubric file (``--rubric``); the default ships with the harness."""
    timeout: float = 30.0
    """Seconds per call of a submission function (``--timeout``)."""
    seed: int = 0
    """Seed of the gradient checks' random cases and directions, and of training (``--seed``)."""
    hidden_seed: int | None = None
    """Seed of the hidden cases ($HARNESS_HIDDEN_SEED or ``--hidden-seed-file``); None: no hidden cases."""
    profile: str = profiles.AUTO
    """Calling convention (assignment family) of the submission (``--profile``); ``auto``: the
    rubric's family, else detected from the submission."""
    limits: Limits = field(default_factory=Limits)
    """Resource limits of the child."""
    training: TrainOptions = field(default_factory=TrainOptions)
    """The training check's options."""
    device: str = device.CPU
    """Array device of the training check (``--device``): ``cpu`` or ``cuda``."""
    child_python: str | None = None
    """The interpreter the submission's child runs under (``--child-python``), e.g. a virtual
    environment with numpy 1.26; None: the rubric's ``python``, else the grader's own."""
    reproduce_as: str | None = None
    """The submission's path as ``reproduce:`` lines name it (``--reproduce-as``; None: as given),
    so that the reader can run them where they read them (``bulk``: ``.``, the student's folder)."""
    grade_time_limit: float | None = budget.DEFAULT_GRADE_LIMIT_S
    """Wall-clock seconds of the whole grade (``--grade-time-limit``); None: unlimited."""
    function_time_budget: float | None = budget.DEFAULT_FUNCTION_BUDGET_S
    """Cumulative seconds of one function's calls (``--function-time-budget``); None: unlimited."""

    @property
    def train(self) -> bool:
        """Whether the training check runs."""
        return self.training.enabled


def positive(kind):
    """An argparse ``type``: ``kind(text)``, refused unless it is a number above zero."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error messages
    return parse


SEED_ON_COMMAND_LINE = (
    "the hidden seed is not taken on the command line: every process on this machine, the "
    "submission's included, can read a command line (/proc/PID/cmdline). Put it in "
    f"${HIDDEN_SEED_ENV}, or in a file only you can read (chmod 600 FILE) given as "
    "--hidden-seed-file FILE"
)
"""What ``--hidden-seed N`` answers (exit 2)."""


class _RefusedSeed(argparse.Action):
    """``--hidden-seed``: refused with what to do instead."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(SEED_ON_COMMAND_LINE)


_DEFAULT = Options()
_DEFAULT_LIMITS = Limits()


def profile_name(text: str) -> str:
    """``--profile``'s value: a known family, ``auto``, or a readable mapping file (``profiles.get``)."""
    if text == profiles.AUTO or text in profiles.PROFILES:
        return text
    if text.endswith(profiles.MAPPING_SUFFIX):
        try:
            profiles.get(text)
        except ValueError as exc:  # ProfileError: the message says what to fix
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    raise argparse.ArgumentTypeError(
        f"unknown family {text!r}: use {profiles.AUTO}, {', '.join(profiles.PROFILES)}, "
        f"or a mapping {profiles.MAPPING_SUFFIX} file of the layer-class family"
    )


GRADE_OPTIONS: tuple[tuple[str, dict], ...] = (
    (
        "--only",
        dict(
            action="append",
            metavar="PATTERN",
            help="run only checks whose id matches this glob (e.g. 'backward.conv.*'); repeatable",
        ),
    ),
    ("--case", dict(help="run only the fixture case of this name")),
    (
        "--profile",
        dict(
            type=profile_name,
            default=profiles.AUTO,
            metavar="{auto,dictapi,cs231n,classapi,FILE.toml}",
            help="assignment family: dictapi (LeNet dict layers), cs231n (layers.py with caches), "
            "classapi (layer classes), or a mapping FILE.toml of the layer-class family for a course "
            "with other names; default auto: the rubric's family, else detected from the submission",
        ),
    ),
    ("--no-train", dict(action="store_true", help="skip the training check (train.lenet, train.cs231n)")),
    (
        "--rubric",
        dict(
            help="rubric TOML file (default: the shipped one; "
            "harness/rubrics/historical.toml for the historical edition)"
        ),
    ),
    (
        "--timeout",
        dict(
            type=positive(float),
            default=_DEFAULT.timeout,
            metavar="SECONDS",
            help=f"time limit per call of a submission function (default {_DEFAULT.timeout:g})",
        ),
    ),
    (
        "--memory",
        dict(
            type=positive(float),
            default=_DEFAULT_LIMITS.memory_bytes / 2**30,
            metavar="GIB",
            help=f"address-space limit of the submission's process (default {_DEFAULT_LIMITS.memory_bytes / 2**30:g})",
        ),
    ),
    (
        "--seed",
        dict(type=int, default=_DEFAULT.seed, help="seed of the gradient checks and training (default 0)"),
    ),
    (
        "--hidden-seed-file",
        dict(
            default=None,
            metavar="FILE",
            help=f"add hidden cases generated from the seed in FILE, a file only you can read "
            f"(chmod 600); or set ${HIDDEN_SEED_ENV}. Never on the command line: every process "
            "can read a command line",
        ),
    ),
    ("--hidden-seed", dict(nargs="?", action=_RefusedSeed, help=argparse.SUPPRESS)),
    (
        "--data",
        dict(
            help="MNIST for the training check: mnist_all.mat, IDX files or .npz "
            "(default: the digits shipped with the harness)"
        ),
    ),
    (
        "--train-time-limit",
        dict(
            type=positive(float),
            default=None,
            metavar="SECONDS",
            help="wall-clock limit of the training; a slower run is graded on what it learned by "
            "then (default: the rubric's budget)",
        ),
    ),
    (
        "--train-iterations",
        dict(
            type=positive(int),
            default=None,
            metavar="N",
            help="SGD iterations of batch 64 in the training check (default: the rubric's budget)",
        ),
    ),
    (
        "--train-give-up",
        dict(
            type=positive(float),
            default=None,
            metavar="FACTOR",
            help="stop training early, without credit, once the projected time exceeds FACTOR x "
            "the time limit (default: train until the limit and grade what was learned)",
        ),
    ),
    (
        "--reproduce-as",
        dict(
            metavar="PATH",
            help="the submission's path in the reports' reproduce lines (default: as given; "
            "bulk uses '.', the student's own folder)",
        ),
    ),
    (
        "--grade-time-limit",
        dict(
            type=positive(float),
            default=_DEFAULT.grade_time_limit,
            metavar="SECONDS",
            help="wall-clock limit of the whole grade: checks not done by then fail with that reason, "
            f"and training gets what is left (default {_DEFAULT.grade_time_limit:g}: "
            "a 15-minute Gradescope timeout, less one)",
        ),
    ),
    (
        "--function-time-budget",
        dict(
            type=positive(float),
            default=_DEFAULT.function_time_budget,
            metavar="SECONDS",
            help="cumulative time of one function's calls; beyond it the function is not called again "
            f"(default {_DEFAULT.function_time_budget:g})",
        ),
    ),
    (
        "--child-python",
        dict(
            metavar="PATH",
            help="run the submission under this Python, e.g. a virtual environment's bin/python "
            "with the numpy it was written for (numpy 1.26); the grader keeps its own "
            "(default: the rubric's python, else the grader's own)",
        ),
    ),
    (
        "--device",
        dict(
            choices=(device.CPU, device.CUDA),
            default=device.CPU,
            help="cuda: train on the GPU with cupy (layers written for numpy only fall back "
            "to the CPU, with a notice; the unit checks run on the CPU either way) (default cpu)",
        ),
    ),
)
"""Every grade option: (flag, argparse keywords)."""


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_grade_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``grade`` and the commands that grade many submissions."""
    for flag, kwargs in GRADE_OPTIONS:
        p.add_argument(flag, **kwargs)


def add_device_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--device", choices=(device.CPU, device.CUDA), default=device.CPU, help=f"cuda: {what} (default cpu)"
    )


def grade_argv(args: argparse.Namespace, *, skip: tuple[str, ...] = ("hidden_seed_file",)) -> list[str]:
    """The grade options in ``args`` that differ from their defaults, as command-line arguments.

    The hidden seed never is one: it travels in the environment (``HIDDEN_SEED_ENV``), and
    ``hidden_seed_file`` is skipped by default (the caller passes the seed it read).
    """
    argv: list[str] = []
    for flag, kwargs in GRADE_OPTIONS:
        dest = _dest(flag)
        if dest in skip or dest == "hidden_seed" or not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if value is None or value == kwargs.get("default", False if kwargs.get("action") else None):
            continue
        if kwargs.get("action") == "store_true":
            argv.append(flag)
        elif kwargs.get("action") == "append":
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def usable_device(name: str) -> str:
    """``name``, once its array module works; else exit 2 with what to do."""
    try:
        device.array_module(name)
    except device.DeviceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return name


MAX_SEED_FILE_BYTES = 100
"""A seed file holds one integer."""


def _seed_text(path: str) -> str:
    """The text of a seed file that only its owner can read; exits 2 with what to do otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        _usage(f"--hidden-seed-file {path}: {exc.strerror}; give a file holding the seed")
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SEED_FILE_BYTES:
            _usage(f"--hidden-seed-file {path}: not a small regular file; give a file holding the seed")
        if st.st_mode & 0o077:
            _usage(
                f"--hidden-seed-file {path}: other users can read it (mode {stat.S_IMODE(st.st_mode):04o}), "
                f"the submission's process among them: chmod 600 {path}"
            )
        return f.read(MAX_SEED_FILE_BYTES).decode(errors="replace")


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def hidden_seed_from(args: argparse.Namespace) -> int | None:
    """The hidden seed: from ``--hidden-seed-file``, else $HARNESS_HIDDEN_SEED; None without one.

    The variable is taken out of the environment, so that it is never passed on; a process
    holding a seed makes itself undumpable (``privileges.undumpable``: its ``/proc`` environ,
    memory and file descriptors readable by root only). Exits 2 when the seed is not an
    integer, both sources are given, or the file is readable by others.
    """
    env_seed = os.environ.pop(HIDDEN_SEED_ENV, None)
    path = getattr(args, "hidden_seed_file", None)
    if path and env_seed:
        _usage(f"both ${HIDDEN_SEED_ENV} and --hidden-seed-file are given: give one")
    text, where = (_seed_text(path), path) if path else (env_seed, f"${HIDDEN_SEED_ENV}")
    if not text:
        return None
    undumpable()
    try:
        return int(text.strip())
    except ValueError:
        _usage(f"{where} must hold an integer (the hidden seed)")


def options_from(args: argparse.Namespace) -> Options:
    """The ``Options`` of parsed grade options."""
    return Options(
        only=tuple(args.only or ()),
        case=args.case,
        rubric=args.rubric,
        profile=getattr(args, "profile", profiles.AUTO),
        timeout=args.timeout,
        seed=args.seed,
        hidden_seed=hidden_seed_from(args),
        limits=Limits(timeout_s=args.timeout, memory_bytes=int(args.memory * 2**30)),
        training=TrainOptions(
            enabled=not args.no_train,
            data=args.data,
            iterations=args.train_iterations,
            time_limit_s=args.train_time_limit,
            give_up_factor=args.train_give_up,
        ),
        device=usable_device(args.device),
        reproduce_as=getattr(args, "reproduce_as", None),
        grade_time_limit=args.grade_time_limit,
        function_time_budget=args.function_time_budget,
        child_python=getattr(args, "child_python", None),
    )


def add_grade_command(p: argparse.ArgumentParser) -> None:
    """The arguments of ``python -m harness grade`` (also read by the bulk worker and Gradescope)."""
    p.add_argument("path", help="folder of modules, repository, or single .py file")
    p.add_argument("--out", help="report folder (default: reports/<submission-name>/)")
    p.add_argument("--no-html", action="store_true", help="skip the HTML report and JUnit XML (faster)")
    p.add_argument("--quiet", action="store_true", help="print only the total")
    add_grade_options(p)
