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
import sys
from dataclasses import dataclass, field

from harness import profiles
from harness.core import device
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
    iterations: int = 500
    """SGD iterations of batch 64 (``--train-iterations``)."""
    time_limit_s: float = 300.0
    """Wall-clock limit of the training check (``--train-time-limit``)."""


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
    """Seed of the hidden cases (``--hidden-seed`` or $HARNESS_HIDDEN_SEED); None: no hidden cases."""
    profile: str = profiles.DEFAULT
    """Calling convention of the submission."""
    limits: Limits = field(default_factory=Limits)
    """Resource limits of the child."""
    training: TrainOptions = field(default_factory=TrainOptions)
    """The training check's options."""
    device: str = device.CPU
    """Array device of the training check (``--device``): ``cpu`` or ``cuda``."""

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


_DEFAULT = Options()
_DEFAULT_LIMITS = Limits()

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
    ("--no-train", dict(action="store_true", help="skip the LeNet training check")),
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
        "--hidden-seed",
        dict(
            type=int,
            default=None,
            metavar="N",
            help=f"add hidden cases generated from this seed (or set ${HIDDEN_SEED_ENV})",
        ),
    ),
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
            default=TrainOptions.time_limit_s,
            metavar="SECONDS",
            help=f"wall-clock limit of the training check (default {TrainOptions.time_limit_s:g})",
        ),
    ),
    (
        "--train-iterations",
        dict(
            type=positive(int),
            default=TrainOptions.iterations,
            metavar="N",
            help=f"SGD iterations of batch 64 in the training check (default {TrainOptions.iterations})",
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


def grade_argv(args: argparse.Namespace, *, skip: tuple[str, ...] = ("hidden_seed",)) -> list[str]:
    """The grade options in ``args`` that differ from their defaults, as command-line arguments.

    ``hidden_seed`` is skipped by default: it travels in the environment (``HIDDEN_SEED_ENV``).
    """
    argv: list[str] = []
    for flag, kwargs in GRADE_OPTIONS:
        dest = _dest(flag)
        if dest in skip or not hasattr(args, dest):
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


def hidden_seed_from(args: argparse.Namespace) -> int | None:
    """``--hidden-seed``, else $HARNESS_HIDDEN_SEED, which is taken out of the environment
    so that it is never passed on to the child; exits 2 when it is not an integer."""
    hidden = args.hidden_seed
    env_seed = os.environ.pop(HIDDEN_SEED_ENV, None)
    if hidden is None and env_seed:
        try:
            hidden = int(env_seed)
        except ValueError:
            print(f"error: ${HIDDEN_SEED_ENV} must be an integer, got {env_seed!r}", file=sys.stderr)
            raise SystemExit(2) from None
    return hidden


def options_from(args: argparse.Namespace) -> Options:
    """The ``Options`` of parsed grade options."""
    return Options(
        only=tuple(args.only or ()),
        case=args.case,
        rubric=args.rubric,
        timeout=args.timeout,
        seed=args.seed,
        hidden_seed=hidden_seed_from(args),
        limits=Limits(timeout_s=args.timeout, memory_bytes=int(args.memory * 2**30)),
        training=TrainOptions(
            enabled=not args.no_train,
            data=args.data,
            iterations=args.train_iterations,
            time_limit_s=args.train_time_limit,
        ),
        device=usable_device(args.device),
    )


def add_grade_command(p: argparse.ArgumentParser) -> None:
    """The arguments of ``python -m harness grade`` (also read by the bulk worker and Gradescope)."""
    p.add_argument("path", help="folder of modules, repository, or single .py file")
    p.add_argument("--out", help="report folder (default: reports/<submission-name>/)")
    p.add_argument("--no-html", action="store_true", help="skip the HTML report and JUnit XML (faster)")
    p.add_argument("--quiet", action="store_true", help="print only the total")
    add_grade_options(p)
