"""Command line: ``python -m harness grade PATH``, ``python -m harness fixtures generate|check``.

Exit status of ``grade``: 0 all checks passed, 1 graded with failures, 2 the harness
could not grade (bad usage, corrupt fixtures, a bug of ours) -- and then the report
files still say "autograder error" with the reason.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness import __version__

HIDDEN_SEED_ENV = "HARNESS_HIDDEN_SEED"


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def add_grade_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``grade`` and the commands that grade many submissions."""
    p.add_argument("--only", action="append", metavar="PATTERN",
                   help="run only checks whose id matches this glob (e.g. 'backward.conv.*'); repeatable")
    p.add_argument("--case", help="run only the fixture case of this name")
    p.add_argument("--no-train", action="store_true", help="skip the LeNet training check")
    p.add_argument("--rubric", help="rubric TOML file (default: the shipped one; "
                                    "harness/rubrics/historical.toml for the historical edition)")
    p.add_argument("--timeout", type=_positive(float), default=30.0, metavar="SECONDS",
                   help="time limit per call of a submission function (default 30)")
    p.add_argument("--memory", type=_positive(float), default=4.0, metavar="GIB",
                   help="address-space limit of the submission's process (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the gradient checks and training (default 0)")
    p.add_argument("--hidden-seed", type=int, default=None, metavar="N",
                   help=f"add hidden cases generated from this seed (or set ${HIDDEN_SEED_ENV})")
    p.add_argument("--data", help="MNIST for the training check: mnist_all.mat, IDX files or .npz "
                                  "(default: the digits shipped with the harness)")
    p.add_argument("--train-time-limit", type=_positive(float), default=300.0, metavar="SECONDS",
                   help="wall-clock limit of the training check (default 300)")
    p.add_argument("--train-iterations", type=_positive(int), default=500, metavar="N",
                   help="SGD iterations of batch 64 in the training check (default 500)")
    add_device_option(p, "train on the GPU with cupy (layers written for numpy only fall back "
                         "to the CPU, with a notice; the unit checks run on the CPU either way)")


def add_device_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help=f"cuda: {what} (default cpu)")


def usable_device(name: str) -> str:
    """``name``, once its array module works; else exit 2 with what to do."""
    from harness.core import device
    try:
        device.array_module(name)
    except device.DeviceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return name


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    top.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade one submission")
    g.add_argument("path", help="folder of modules, repository, or single .py file")
    g.add_argument("--out", help="report folder (default: reports/<submission-name>/)")
    g.add_argument("--no-html", action="store_true", help="skip the HTML report and JUnit XML (faster)")
    g.add_argument("--quiet", action="store_true", help="print only the total")
    add_grade_options(g)

    f = sub.add_parser("fixtures", help="generate or check the fixtures")
    f.add_argument("action", choices=("generate", "check"))
    f.add_argument("--dir", help="fixtures folder (default: the project's fixtures/)")
    add_device_option(f, "compute the expected outputs with the reference on the GPU (check: "
                         "compared with the shipped ones at rounding level)")
    add_deploy_commands(sub)
    return top


def add_deploy_commands(sub) -> None:
    """``ci``, ``gradescope`` and ``bulk`` (harness.deploy; docs/deployment.md)."""
    c = sub.add_parser("ci", help="grade in a GitHub Actions job: annotations, job summary, points")
    c.add_argument("path", help="the student's repository (or folder of modules, or .py file)")
    c.add_argument("--out", help="report folder (default: reports/<submission-name>/)")
    c.add_argument("--no-html", action="store_true", help="skip the HTML report and JUnit XML")
    add_grade_options(c)

    gs = sub.add_parser("gradescope", help="build the Gradescope autograder zip")
    gs.add_argument("--out", default="autograder.zip", help="the zip to write (default: autograder.zip)")
    add_grade_options(gs)

    b = sub.add_parser("bulk", help="grade every submission in a folder: gradebook and class report")
    b.add_argument("folder", help="one subfolder or .zip file per student")
    b.add_argument("--out", help="output folder (default: reports/bulk-<folder-name>/)")
    b.add_argument("--jobs", type=_positive(int), default=max(1, (os.cpu_count() or 2) // 2),
                   help="submissions graded at once (default: half the CPUs)")
    b.add_argument("--force", action="store_true", help="regrade submissions an earlier run graded already")
    b.add_argument("--no-html", action="store_true", help="skip each student's HTML report and JUnit XML")
    b.add_argument("--submission-timeout", type=_positive(float), default=900.0, metavar="SECONDS",
                   help="wall-clock limit of one submission's whole grade (default 900)")
    add_grade_options(b)


def options_from(args) -> "Options":
    from harness.grade import Options
    from harness.sandbox.process import Limits
    hidden = args.hidden_seed
    env_seed = os.environ.pop(HIDDEN_SEED_ENV, None)  # never passed on to the child
    if hidden is None and env_seed:
        try:
            hidden = int(env_seed)
        except ValueError:
            print(f"error: ${HIDDEN_SEED_ENV} must be an integer, got {env_seed!r}", file=sys.stderr)
            raise SystemExit(2) from None
    return Options(only=tuple(args.only or ()), case=args.case, rubric=args.rubric,
                   timeout=args.timeout, seed=args.seed, hidden_seed=hidden, train=not args.no_train,
                   limits=Limits(timeout_s=args.timeout, memory_bytes=int(args.memory * 2**30)),
                   extra={"data": args.data, "train_time_limit": args.train_time_limit,
                          "train_iterations": args.train_iterations, "device": usable_device(args.device)})


def cmd_grade(args) -> int:
    from harness import report as report_mod
    from harness.grade import grade
    from harness.report import terminal
    options = options_from(args)
    name = Path(args.path).resolve().name or "submission"
    out = Path(args.out) if args.out else Path("reports") / Path(name).stem
    result = grade(args.path, options)
    written = report_mod.write_all(result, out, html=not args.no_html)
    if args.quiet:
        print(f"{result.score:g} / {result.max_score:g}")
    else:
        print(terminal.render(result, color=sys.stdout.isatty()))
        print(f"reports: {out}/ ({', '.join(sorted(p.name for p in written.values()))})")
    return result.exit_code


def cmd_fixtures(args) -> int:
    from harness.cases import fixtures
    from harness.core import paths
    from harness.core import device
    folder = Path(args.dir) if args.dir else paths.FIXTURES_DIR
    xp = device.array_module(usable_device(args.device))
    if args.action == "generate":
        fixtures.generate(folder, xp=xp)
        print(f"fixtures written to {folder}" + (f" (expected outputs computed on {args.device})" if args.device != "cpu" else ""))
        return 0
    problems = fixtures.check(folder, xp=xp)
    for p in problems:
        print(f"fixtures: {p}", file=sys.stderr)
    if not problems:
        print(f"fixtures in {folder}: checksums and regeneration OK")
    return 2 if problems else 0


def cmd_ci(args) -> int:
    from harness.deploy import ci
    options = options_from(args)
    name = Path(args.path).resolve().name or "submission"
    out = Path(args.out) if args.out else Path("reports") / Path(name).stem
    return ci.run(args.path, options, out, html=not args.no_html)


def cmd_gradescope(args) -> int:
    from harness.deploy import gradescope_bundle, grade_argv
    from harness.checks.rubric import RubricError
    if args.device != "cpu":
        print("error: Gradescope's autograder machines have no GPU: build the bundle without --device",
              file=sys.stderr)
        return 2
    hidden = options_from(args).hidden_seed  # --hidden-seed or $HARNESS_HIDDEN_SEED
    try:
        out = gradescope_bundle.build(args.out, grade_argv(args, skip=("hidden_seed", "rubric", "data")),
                                      hidden_seed=hidden, rubric=args.rubric, data=args.data)
    except (gradescope_bundle.BundleError, RubricError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Gradescope autograder: {out} ({out.stat().st_size / 2**20:.1f} MiB)"
          + (", with hidden cases" if hidden is not None else ""))
    return 0


def cmd_bulk(args) -> int:
    from harness.deploy import bulk, grade_argv
    hidden = options_from(args).hidden_seed
    out = Path(args.out) if args.out else Path("reports") / f"bulk-{Path(args.folder).resolve().name}"
    settings = bulk.Settings(grade_args=tuple(grade_argv(args)), hidden_seed=hidden,
                             timeout_s=args.submission_timeout, html=not args.no_html, force=args.force)
    try:
        rows = bulk.run(args.folder, out, settings, jobs=args.jobs)
    except NotADirectoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if all(r.graded for r in rows) else 2


COMMANDS = {"grade": cmd_grade, "fixtures": cmd_fixtures, "ci": cmd_ci, "gradescope": cmd_gradescope,
            "bulk": cmd_bulk}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return COMMANDS[args.command](args)
