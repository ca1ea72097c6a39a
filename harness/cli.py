"""Command line of the grader: ``grade``, ``speed``, ``fixtures``, ``ci``, ``gradescope``, ``bulk``.

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
from harness.options import (
    add_device_option,
    add_grade_command,
    add_grade_options,
    grade_argv,
    hidden_seed_from,
    options_from,
    positive,
    usable_device,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    top.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    add_grade_command(sub.add_parser("grade", help="grade one submission"))

    sp = sub.add_parser(
        "speed",
        help="in a few seconds: will the training check finish in time? (times each function against the reference)",
    )
    sp.add_argument("path", help="folder of modules, repository, or single .py file")
    add_grade_options(sp)

    f = sub.add_parser("fixtures", help="generate or check the fixtures")
    f.add_argument("action", choices=("generate", "check"))
    f.add_argument("--dir", help="fixtures folder (default: the project's fixtures/)")
    add_device_option(
        f,
        "compute the expected outputs with the reference on the GPU (check: "
        "compared with the shipped ones at rounding level)",
    )
    add_deploy_commands(sub)
    return top


def add_deploy_commands(sub) -> None:
    """``ci``, ``gradescope``, ``bulk`` and ``student-kit`` (harness.deploy; docs/deployment.md)."""
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
    b.add_argument(
        "--jobs",
        type=positive(int),
        default=max(1, (os.cpu_count() or 2) // 2),
        help="submissions graded at once (default: half the CPUs)",
    )
    b.add_argument("--force", action="store_true", help="regrade submissions an earlier run graded already")
    b.add_argument("--no-html", action="store_true", help="skip each student's HTML report and JUnit XML")
    b.add_argument(
        "--submission-timeout",
        type=positive(float),
        default=900.0,
        metavar="SECONDS",
        help="wall-clock limit of one submission's whole grade (default 900)",
    )
    add_grade_options(b)

    k = sub.add_parser(
        "student-kit", help="build the grader students' CI installs: public cases, no solution"
    )
    k.add_argument(
        "--out", required=True, help="folder to write the kit into (new, empty, or an earlier kit)"
    )


def cmd_grade(args) -> int:
    from harness import grade

    return grade.run_command(args)


def cmd_speed(args) -> int:
    from harness import grade

    return grade.run_speed(args)


def cmd_fixtures(args) -> int:
    from harness.cases import fixtures
    from harness.core import device, paths

    folder = Path(args.dir) if args.dir else paths.FIXTURES_DIR
    xp = device.array_module(usable_device(args.device))
    if args.action == "generate":
        fixtures.generate(folder, xp=xp)
        print(
            f"fixtures written to {folder}"
            + (f" (expected outputs computed on {args.device})" if args.device != "cpu" else "")
        )
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
    from harness import profiles
    from harness.checks.rubric import RubricError
    from harness.deploy import gradescope_bundle

    if args.device != "cpu":
        print(
            "error: Gradescope's autograder machines have no GPU: build the bundle without --device",
            file=sys.stderr,
        )
        return 2
    hidden = hidden_seed_from(args)  # $HARNESS_HIDDEN_SEED or --hidden-seed-file
    # A mapping file (--profile my_course.toml) is a file of this machine: it goes in the bundle.
    mapping = args.profile if str(args.profile).endswith(profiles.MAPPING_SUFFIX) else None
    skip = ("hidden_seed_file", "rubric", "data") + (("profile",) if mapping else ())
    try:
        out = gradescope_bundle.build(
            args.out,
            grade_argv(args, skip=skip),
            hidden_seed=hidden,
            rubric=args.rubric,
            data=args.data,
            profile=mapping,
        )
    except (gradescope_bundle.BundleError, RubricError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Gradescope autograder: {out} ({out.stat().st_size / 2**20:.1f} MiB)"
        + (", with hidden cases" if hidden is not None else "")
    )
    return 0


def cmd_bulk(args) -> int:
    from harness.deploy import bulk

    hidden = hidden_seed_from(args)
    out = Path(args.out) if args.out else Path("reports") / f"bulk-{Path(args.folder).resolve().name}"
    settings = bulk.Settings(
        grade_args=tuple(grade_argv(args)),
        hidden_seed=hidden,
        timeout_s=args.submission_timeout,
        html=not args.no_html,
        force=args.force,
    )
    try:
        rows = bulk.run(args.folder, out, settings, jobs=args.jobs)
    except NotADirectoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if all(r.graded for r in rows) else 2


def cmd_student_kit(args) -> int:
    from harness.deploy import student_kit

    try:
        out = student_kit.build(args.out)
    except student_kit.KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"student kit: {out}/ (pip install -e {out}; then python -I -m harness ci PATH)")
    return 0


COMMANDS = {
    "grade": cmd_grade,
    "speed": cmd_speed,
    "fixtures": cmd_fixtures,
    "ci": cmd_ci,
    "gradescope": cmd_gradescope,
    "bulk": cmd_bulk,
    "student-kit": cmd_student_kit,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return COMMANDS[args.command](args)
