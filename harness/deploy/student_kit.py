"""The student kit: the grader students' CI installs, without the solution of any family.

``python -m harness student-kit --out DIR`` writes a project folder (``pip install -e DIR``;
``python -I -m harness ci .`` in the student's repository) made of, for every assignment family
of the registry (``families()``: ``harness.profiles.PROFILES`` with their cases modules):

- the harness package, minus every module that holds reference math (``WITHHELD``: the
  mistakes' building blocks, this builder) and with stand-ins: the reference becomes
  ``harness.cases.recorded`` (``STAND_INS``: each family's answers recorded for the cases the
  kit asks about, computes nothing), the mistakes catalogues (``GENERATED``: shared and per
  family) keep their hint texts and ``Mistake`` type and test each mistake by its fingerprints
  (``harness.diagnose.fingerprints``);
- ``fixtures/``, every family's public cases with their expected outputs (the same files, the
  same lock);
- ``kit/recorded.npz`` and ``kit/fingerprints.json``, written here with each family's reference
  (the grader's files in the kit: walled off from its child like ``reference/`` from the grader's).

Invariants: no file of any family's reference, no module that can compute a graded function on
a new input (``tests/test_student_kit.py``, from the registry: no reference file or function
body in the kit, the kit's own files graded as a submission score 0, its reference refuses a
fresh case of every family's ops); each family's reference gets full marks from the kit on the
default options (no hidden cases, seed 0), checked by the build itself. The kit's training
check trains with the submission's own layers only and scores them with its own forward
passes; a course that provides layers (the historical rubric) is told the kit cannot train.
What a student can see: ``docs/deployment.md``.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np

from harness import profiles
from harness.core import paths

WITHHELD = (
    "harness/diagnose/mutants.py",
    "harness/deploy/student_kit.py",
)
"""Modules of the harness that never go into a kit: they compute with the reference."""
STAND_INS = {
    "harness/cases/reference.py": "harness/cases/recorded.py",
}
"""Kit path -> the module whose source goes there."""
GENERATED = ("harness/diagnose/mistakes.py", "harness/diagnose/family_mistakes.py")
"""Rewritten for the kit (``kit_mistakes_source``, ``kit_family_mistakes_source``): their texts
and ``Mistake`` type, their catalogues from the fingerprints."""
SHIPPED = ("harness", "fixtures", "pyproject.toml")
"""What of the project a kit holds (besides ``kit/``)."""
MARKER = "KIT.json"
"""At the kit's root: what it is, from which harness; a folder holding it may be rebuilt."""

_SKIP_PARTS = ("__pycache__", ".egg-info")

README = """\
# LeNet assignment: the grading kit

The course's autograder as your CI runs it, with the public test cases and their expected
outputs, and without the solution. In your repository:

```sh
pip install -e PATH-TO-THIS-KIT
python -I -m harness ci .          # or: python -I -m harness grade .
```

It runs the same checks as the course's grader on the public cases; the grade of record adds
hidden cases. Built by `python -m harness student-kit` (see the harness's docs/deployment.md).
"""
"""The kit's README.md (pyproject.toml names one)."""


class KitError(ValueError):
    """The kit cannot be built as asked; the message says why."""


# ---- what the kit's grade will ask the reference -----------------------------------------


def families() -> tuple[str, ...]:
    """Every assignment family the harness grades (the registry's order): the kit covers each."""
    from harness.cases import families as family_cases

    return tuple(name for name in profiles.PROFILES if name in family_cases.MODULES)


def recorded_calls(seed: int = 0) -> list:
    """Every reference call of a kit grade with ``--seed seed``, each family and rubric shipped:
    the gradient checks' cases and the integrity probes' (each drawn with the reference's forward
    output for backward cases), and their expected outputs."""
    from harness.cases import catalogue, reference
    from harness.cases import families as family_cases
    from harness.checks import integrity
    from harness.checks import rubric as rubric_mod
    from harness.grade import grade
    from harness.options import Options, TrainOptions

    excludes = {()} | {
        rubric_mod.load(p).exclude_tags for p in sorted(paths.DEFAULT_RUBRIC.parent.glob("*.toml"))
    }
    with reference.recording() as calls:
        for family in families():
            # A passing grade of the family's reference: every call the checks make (the gradient
            # checks' differences of the reference forward included) when nothing fails.
            options = Options(seed=seed, profile=family, training=TrainOptions(enabled=False))
            report = grade(profiles.get(family).REFERENCE_DIR, options)
            if report.autograder_error or report.score != report.max_score:
                raise KitError(
                    f"the {family} reference does not get full marks ({report.score} / "
                    f"{report.max_score}; {report.autograder_error or 'see its report'}): fix it first"
                )
            for case in family_cases.random_cases(seed, family):
                catalogue.expected(case)
            for tags in sorted(excludes):
                for case in family_cases.random_cases(
                    seed + integrity.PROBE_SEED, family, per_op=1, exclude_tags=tags
                ):
                    catalogue.expected(case)
    return calls


def write_recorded(calls: list, path: Path) -> int:
    """Save the calls' outputs by ``recorded.key``; the number of distinct calls."""
    from harness.cases import recorded

    arrays = {}
    for family, op_name, params, inputs, outputs in calls:
        digest = recorded.key(op_name, params, inputs, family)
        for out, value in outputs.items():
            arrays[f"{digest}/{out}"] = np.asarray(value, dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # names are keywords: any str
    return len({name.split("/")[0] for name in arrays})


# ---- fingerprints of the mistakes on the public cases ------------------------------------


def _catalogues() -> dict[str, tuple]:
    """Family -> the mistakes the grader's engine tries for it (shared, then the family's own)."""
    from harness.diagnose.family_mistakes import FAMILY_MISTAKES
    from harness.diagnose.mistakes import MISTAKES

    return {family: MISTAKES + FAMILY_MISTAKES.get(family, ()) for family in families()}


def fingerprints() -> dict:
    """Each predicting mistake (shared ones in catalogue order, then each family's own) and, per
    family, public case and output, its predictions' prints."""
    from harness.cases import fixtures
    from harness.core.compare import allowed_error as tolerance
    from harness.core.compare import bias_equivalent
    from harness.core.ops import OPS
    from harness.diagnose import fingerprints as fp
    from harness.diagnose.family_mistakes import FAMILY_MISTAKES
    from harness.diagnose.mistakes import MISTAKES
    from harness.diagnose.mutants import close

    records: dict[str, list] = {}
    for family, catalogue in _catalogues().items():
        for op_name in profiles.get(family).FUNCTIONS:
            op = OPS[op_name]
            for case, expected in fixtures.load(op_name, profile=family):
                for out in op.outputs:
                    if out not in expected:
                        continue
                    want = np.asarray(expected[out], dtype=np.float64)
                    where = fp.where(family, op_name, case.name, out)
                    prints: list[dict] = []
                    for m in catalogue:
                        if m.predict is None or not m.applies(op_name, out):
                            continue
                        try:
                            for i, (predicted, detail) in enumerate(m.predict(case, out, want)):
                                predicted = np.asarray(predicted, dtype=np.float64)
                                if (
                                    out == "b"
                                    and predicted.shape != want.shape
                                    and bias_equivalent(predicted.shape, want.shape)
                                ):
                                    predicted = predicted.reshape(want.shape)
                                if not np.isfinite(predicted).all():
                                    continue
                                if predicted.shape == want.shape and close(predicted, want):
                                    continue  # no evidence on this case (the engine skips it too)
                                label = f"{where}|{m.id}|{i}"
                                prints.append(
                                    {
                                        "mistake": m.id,
                                        "detail": detail,
                                        **fp.fingerprint(label, predicted, tolerance(predicted)),
                                    }
                                )
                        except Exception as exc:  # the grader's diagnosis of this output ends here
                            prints.append({"mistake": m.id, "raises": f"{type(exc).__name__}: {exc}"})
                            break
                    if prints:
                        records[where] = prints

    def listed(catalogue) -> list:
        return [
            {"id": m.id, "hint": m.hint, "where": list(m.where)} for m in catalogue if m.predict is not None
        ]

    return {
        "projections": fp.PROJECTIONS,
        "mistakes": listed(MISTAKES),
        "family_mistakes": {family: listed(FAMILY_MISTAKES.get(family, ())) for family in families()},
        "records": records,
    }


def texts_source(module, tail: str) -> str:
    """A diagnosis module's source for the kit: its docstring, imports (none of the harness's
    diagnosis modules) and texts (hint constants, tuples and dicts of them), kept statement by
    statement (nothing that computes), the class ``Mistake`` where it is defined, then ``tail``."""
    source = Path(module.__file__).read_text()
    kept: list[ast.stmt] = []
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            kept.append(node)  # a docstring
        elif (
            (isinstance(node, ast.Import) and not any(a.name.startswith("harness") for a in node.names))
            or (isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("harness"))
            or (isinstance(node, ast.Assign) and _texts_only(node.value))
            or (isinstance(node, ast.AnnAssign) and node.value is not None and _texts_only(node.value))
            or (isinstance(node, ast.ClassDef) and node.name == "Mistake")
        ):
            kept.append(node)
    lines = source.splitlines()
    body = "\n\n".join(
        "\n".join(
            lines[min([n.lineno, *(d.lineno for d in getattr(n, "decorator_list", []))]) - 1 : n.end_lineno]
        )
        for n in kept
    )
    return (
        body
        + "\n\n\n# ---- the student kit: every mistake is tested by its fingerprints --------------------------\n\n"
        + tail
    )


def kit_mistakes_source() -> str:
    """``harness/diagnose/mistakes.py`` for the kit: texts and ``Mistake``, the shared catalogue
    read from the fingerprints."""
    from harness.diagnose import mistakes

    return texts_source(
        mistakes,
        "from harness.diagnose import fingerprints as _fingerprints  # noqa: E402\n\n"
        "MISTAKES: tuple[Mistake, ...] = _fingerprints.catalogue(Mistake)\n"
        "BY_ID = {m.id: m for m in MISTAKES}\n"
        "close = None  # the kit predicts no array: the engine never compares one\n",
    )


def kit_family_mistakes_source() -> str:
    """``harness/diagnose/family_mistakes.py`` for the kit: each family's texts and wordings, its
    own mistakes read from the fingerprints."""
    from harness.diagnose import family_mistakes

    return texts_source(
        family_mistakes,
        "from harness.diagnose import fingerprints as _fingerprints  # noqa: E402\n"
        "from harness.diagnose.mistakes import Mistake  # noqa: E402\n\n"
        "FAMILY_MISTAKES: dict[str, tuple[Mistake, ...]] = _fingerprints.family_catalogues(Mistake)\n",
    )


def _texts_only(value: ast.AST | None) -> bool:
    """A string, the name of one, or a tuple or dict (string keys, or another such dict unpacked)
    of such: hint texts, pattern lists, wordings by id; nothing that computes."""
    if isinstance(value, ast.Constant):
        return isinstance(value.value, str)
    if isinstance(value, ast.Name):
        return True  # a reference to a text kept above (nothing else is kept)
    if isinstance(value, ast.Tuple):
        return all(_texts_only(v) for v in value.elts)
    if isinstance(value, ast.Dict):  # string keys, or ``**name`` of a dict of texts kept above
        return all(
            (isinstance(k, ast.Constant) and isinstance(k.value, str))
            or (k is None and isinstance(v, ast.Name))
            for k, v in zip(value.keys, value.values)
        ) and all(_texts_only(v) for v in value.values)
    return False


# ---- the kit ----------------------------------------------------------------------------------


def _files(top: str):
    start = paths.ROOT / top
    if start.is_file():
        yield top, start
        return
    for f in sorted(start.rglob("*")):
        rel = f.relative_to(paths.ROOT).as_posix()
        if (
            f.is_file()
            and not f.is_symlink()
            and not any(s in rel for s in _SKIP_PARTS)
            and not rel.endswith(".pyc")
        ):
            yield rel, f


def build(out: str | Path) -> Path:
    """Write the kit into ``out`` (a new or empty folder, or an earlier kit); returns ``out``."""
    from harness import __version__
    from harness.cases import fixtures

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise KitError(f"{out}: not empty and not a student kit; give a new folder")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for top in SHIPPED:
        for rel, f in _files(top):
            if rel in WITHHELD or rel in GENERATED:
                continue
            source = paths.ROOT / STAND_INS[rel] if rel in STAND_INS else f
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out / rel)
    for rel, write in zip(GENERATED, (kit_mistakes_source, kit_family_mistakes_source), strict=True):
        (out / rel).write_text(write())
    (out / "README.md").write_text(README)
    count = write_recorded(recorded_calls(), out / "kit" / "recorded.npz")
    (out / "kit" / "fingerprints.json").write_text(json.dumps(fingerprints(), separators=(",", ":")))
    (out / MARKER).write_text(
        json.dumps(
            {
                "what": "lenet-harness student kit: the public cases, no solution (docs/deployment.md)",
                "harness_version": __version__,
                "fixtures_sha256": fixtures.manifest_sha256(),
                "recorded_calls": count,
            },
            indent=2,
        )
        + "\n"
    )
    return out
