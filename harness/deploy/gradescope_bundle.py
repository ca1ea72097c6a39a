"""The Gradescope autograder bundle: build it (``python -m harness gradescope``), and run it.

The zip holds ``setup.sh`` and ``run_autograder`` at its root (Gradescope's layout), the
harness project tree (``lenet-harness/``: the package, the reference, the fixtures; the grader
finds them relative to the package) and ``config/`` (the grade options, and the rubric,
training data and hidden seed when given). Gradescope unzips it into ``/autograder/source``,
runs ``setup.sh`` once per image, then ``run_autograder`` per submission, which runs
``python -m harness.deploy.gradescope_bundle run /autograder``: grade
``/autograder/submission``, write ``/autograder/results/results.json``. ``setup.sh`` ends with
``... selftest /autograder``: the references of the families the bundle grades, graded as a
submission would be (``selftest_plan``), must score full marks or the image build fails.
https://gradescope-autograders.readthedocs.io/en/latest/specs/
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

from harness import __version__
from harness.core import paths

PROJECT = "lenet-harness"
"""Folder of the harness project inside the bundle."""

SHIPPED = ("harness", "reference", "fixtures", "pyproject.toml", "README.md")
"""What of the project goes in: the package and the folders it finds relative to itself."""

_SKIP = ("__pycache__", ".pyc", ".egg-info", ".tmp")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same tree gives the same zip

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
/autograder/venv/bin/pip install --quiet -e "$source_dir/lenet-harness"
# The sandboxed child runs as 'nobody': it must read the interpreter and the harness ...
chmod -R a+rX /autograder/venv "$source_dir/lenet-harness" "$source_dir/config"
chmod a+x /autograder /autograder/source 2>/dev/null || true
# ... but never the hidden seed.
if [ -f "$source_dir/config/hidden_seed" ]; then chmod 600 "$source_dir/config/hidden_seed"; fi
# Fail the image build, visibly, unless the reference of each family this bundle grades scores
# full marks here, graded as run_autograder grades a submission (config/bundle.json).
/autograder/venv/bin/python -m harness.deploy.gradescope_bundle selftest "$(dirname "$source_dir")"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission with the harness
# shipped in this bundle, write /autograder/results/results.json.
# AUTOGRADER_ROOT and HARNESS_PYTHON override the paths (the harness's own tests use them).
set -u
root="${AUTOGRADER_ROOT:-/autograder}"
python="${HARNESS_PYTHON:-$root/venv/bin/python}"
[ -x "$python" ] || python=python3
mkdir -p "$root/results"
rm -f "$root/results/results.json"
cd "$root/source/lenet-harness" && "$python" -m harness.deploy.gradescope_bundle run "$root"
status=$?
if [ ! -s "$root/results/results.json" ]; then
  cat > "$root/results/results.json" <<JSON
{"score": 0, "output": "Autograder error: the grader itself failed (exit status $status), so this is not a grade of your work. Please contact the course staff and include this message.", "tests": []}
JSON
fi
exit 0
"""


class BundleError(ValueError):
    """The bundle cannot be built as asked; the message says why."""


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o755 if executable else mode) | stat.S_IFREG) << 16
    zf.writestr(info, data)


def _tree(root: Path, top: str):
    """(archive name, file) for every file under ``root/top``, sorted, caches left out."""
    start = root / top
    if start.is_file():
        yield top, start
        return
    if not start.is_dir():
        raise BundleError(f"{start}: missing; the bundle ships it (is this a complete checkout?)")
    for f in sorted(start.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if f.is_file() and not f.is_symlink() and not any(s in rel for s in _SKIP):
            yield rel, f


def build(
    out: str | Path,
    grade_args: list[str],
    *,
    hidden_seed: int | None = None,
    rubric: str | Path | None = None,
    data: str | Path | None = None,
    profile: str | Path | None = None,
) -> Path:
    """Write the bundle to ``out``; ``grade_args`` are passed to every grade (e.g. ``--no-train``).

    ``profile``: a mapping file of the layer-class family (``--profile my_course.toml``), shipped
    as ``config/profile.toml`` like the rubric (a family's name goes in ``grade_args``)."""
    from harness.cases import fixtures
    from harness.checks import rubric as rubric_mod

    out = Path(out)
    config = {
        "harness_version": __version__,
        "grade_args": list(grade_args),
        "rubric": None,
        "data": None,
        "profile": None,
    }
    try:
        config["fixtures_sha256"] = fixtures.manifest_sha256()
    except OSError as exc:
        raise BundleError(f"fixtures: {exc}") from None
    extra: dict[str, Path] = {}
    if rubric:
        rubric_mod.load(rubric)  # raises RubricError with the reason
        config["rubric"] = "rubric.toml"
        extra["config/rubric.toml"] = Path(rubric)
    if profile:
        from harness import profiles

        try:
            profiles.get(str(profile))  # raises ProfileError (a ValueError) with the reason
        except ValueError as exc:
            raise BundleError(str(exc)) from None
        config["profile"] = "profile.toml"
        extra["config/profile.toml"] = Path(profile)
    if data:
        if not Path(data).is_file():
            raise BundleError(f"{data}: no such file (give the training data as one file)")
        config["data"] = Path(data).name
        extra[f"config/{Path(data).name}"] = Path(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(zf, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
        _add(zf, "config/bundle.json", (json.dumps(config, indent=2) + "\n").encode())
        if hidden_seed is not None:
            _add(zf, "config/hidden_seed", f"{int(hidden_seed)}\n".encode(), mode=0o600)
        for name, source in extra.items():
            _add(zf, name, source.read_bytes())
        for top in SHIPPED:
            for rel, f in _tree(paths.ROOT, top):
                _add(zf, f"{PROJECT}/{rel}", f.read_bytes())
    os.replace(tmp, out)
    return out


# -- inside the bundle, on Gradescope -----------------------------------------------------------


def grade_command(root: Path) -> list[str]:
    """The ``python -m harness`` arguments that grade ``root/submission`` as configured."""
    return [
        "grade",
        str(root / "submission"),
        "--out",
        str(root / "results" / "harness"),
        "--no-html",
        *_options(root),
    ]


def _options(root: Path, course: bool = True) -> list[str]:
    """The grade options of the bundle (``config/``); ``course=False`` leaves out the course's
    rubric and mapping file."""
    config_dir = root / "source" / "config"
    config = json.loads((config_dir / "bundle.json").read_text())
    argv = list(config.get("grade_args", []))
    if course and config.get("rubric"):
        argv += ["--rubric", str(config_dir / config["rubric"])]
    if config.get("data"):
        argv += ["--data", str(config_dir / config["data"])]
    if course and config.get("profile"):
        argv += ["--profile", str(config_dir / config["profile"])]
    seed_file = config_dir / "hidden_seed"
    if seed_file.is_file():
        seed_file.chmod(0o600)
        argv += ["--hidden-seed-file", str(seed_file)]
    return argv


def selftest_plan(root: Path) -> list[tuple[str, Path, list[str], str]]:
    """What ``setup.sh`` grades to prove the image: ``(family, its reference, grade options, note)``
    for each family the bundle grades, with the bundle's options (rubric, mapping file, hidden
    seed...) as ``run_autograder`` passes them.

    Families: the one chosen with ``--profile`` (a name, or a mapping file's family), else the
    family of the bundle's rubric (a rubric naming none is the dict API's), else, detected per
    submission, every family (each reference is detected as its students' files are: cheap,
    4-5 s each with ``--no-train``). A mapping file that names other classes than the shipped
    reference's cannot grade that reference: its family's reference is graded as the family
    (without the course's rubric and mapping), and ``note`` says so."""
    from harness import profiles
    from harness.checks import rubric as rubric_mod
    from harness.options import add_grade_command

    options = _options(root)
    parser = argparse.ArgumentParser(prog="python -m harness grade")
    add_grade_command(parser)
    args = parser.parse_args([str(root / "submission"), *options])
    if args.profile != profiles.AUTO:
        prof = profiles.get(args.profile)
        if args.profile in profiles.PROFILES:
            return [(args.profile, prof.REFERENCE_DIR, options, "")]
        shipped = profiles.get(prof.NAME)
        if _names(prof) == _names(shipped):  # the shipped reference's names: graded as configured
            return [(prof.NAME, prof.REFERENCE_DIR, options, "")]
        note = (
            f"the mapping file names the course's own classes, not the shipped {prof.NAME} "
            f"reference's: its reference is graded as the {prof.NAME} family, without the course's "
            "rubric and mapping (grade a correct submission of the course to check those)"
        )
        return [
            (prof.NAME, prof.REFERENCE_DIR, [*_options(root, course=False), "--profile", prof.NAME], note)
        ]
    if args.rubric:
        family = rubric_mod.load(args.rubric).family or profiles.DEFAULT
        return [(family, profiles.get(family).REFERENCE_DIR, options, "")]
    return [(name, prof.REFERENCE_DIR, options, "") for name, prof in profiles.PROFILES.items()]


def _family(profile) -> str | None:
    """The family of a report's ``profile`` (a family's name, or a mapping file's path)."""
    from harness import profiles

    try:
        return str(profiles.get(profile).NAME) if profile else None
    except (ValueError, OSError):
        return None


def _names(prof) -> dict:
    """A profile's mapping as read, less the file it was read from."""
    return {k: v for k, v in (getattr(prof, "spec", None) or {}).items() if k != "source"}


def selftest(root: str | Path) -> int:
    """Grade each reference of ``selftest_plan`` (``--no-train``): 0 when each scores full marks,
    graded as its family; else 1, saying which did not."""
    from harness import grade

    root = Path(root)
    failed = []
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as tmp:
        for family, reference, options, note in selftest_plan(root):
            out = Path(tmp) / family
            print(
                f"self-test: the {family} reference ({reference})" + (f"; {note}" if note else ""), flush=True
            )
            argv = [str(reference), "--out", str(out), "--no-html", "--quiet", *options, "--no-train"]
            rc = grade.main(argv)
            try:
                report = json.loads((out / "report.json").read_text())
            except (OSError, ValueError):
                report = {}
            graded_as = _family(report.get("provenance", {}).get("profile"))
            score, top = report.get("score"), report.get("max_score")
            if rc != 0 or graded_as != family or not top or score != top or report.get("autograder_error"):
                failed.append(family)
                print(
                    f"self-test FAILED: the {family} reference (graded as {graded_as}) scored "
                    f"{score} / {top}, exit status {rc}: {report.get('autograder_error') or 'see above'}",
                    file=sys.stderr,
                    flush=True,
                )
    if failed:
        print(f"self-test: this image cannot grade the {', '.join(failed)} family", file=sys.stderr)
        return 1
    print("self-test: every reference scores full marks")
    return 0


def run(root: str | Path) -> int:
    """Grade the submission under ``root`` (``/autograder``) into ``root/results/results.json``.

    The hidden seed stays in ``config/hidden_seed``, readable by its owner only (``setup.sh``
    makes it so; made so again here): the grade reads it as ``--hidden-seed-file``.
    """
    from harness import grade

    root = Path(root)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    try:
        rc = grade.main(grade_command(root)[1:])
        shutil.copyfile(results / "harness" / "results.json", results / "results.json")
        return rc
    except BaseException:
        _write_error(results, traceback.format_exc())
        return 2


def _write_error(results: Path, reason: str) -> None:
    from harness.core import revision
    from harness.core.model import GradeReport
    from harness.report import gradescope

    report = GradeReport(
        "/autograder/submission",
        (),
        revision.identity(),
        autograder_error="the Gradescope runner failed:\n" + reason,
    )
    (results / "results.json").write_text(json.dumps(gradescope.render(report), indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("run", "selftest"):
        sys.exit("usage: python -m harness.deploy.gradescope_bundle run|selftest AUTOGRADER_ROOT")
    sys.exit(run(sys.argv[2]) if sys.argv[1] == "run" else selftest(sys.argv[2]))
