"""Bulk grading: safe unpacking, the gradebook, the class report, and a run over a mixed class."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import RELU_BROKEN, make_classapi_submission, make_cs231n_submission, make_submission

from harness import cli, deploy, options, profiles
from harness.checks import rubric as rubric_mod
from harness.core import paths
from harness.core.model import CheckResult, GradeReport, Status
from harness.deploy import archives, bulk, class_report, gradebook
from harness.deploy.gradebook import Row

# Tries to kill the grader, then never finishes importing: the sandbox must contain both.
HOSTILE_CONV = """\
    import os
    import signal

    try:
        os.kill(os.getppid(), signal.SIGKILL)
    except OSError:
        pass
    while True:
        pass
"""


def zip_folder(folder: Path, archive: Path, top: str | None = None) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.glob("*.py")):
            zf.write(f, f"{top}/{f.name}" if top else f.name)
        zf.writestr("__MACOSX/._relu.py", b"\x00\x05\x16\x07 resource fork")
    return archive


def zip_tree(folder: Path, archive: Path, top: str) -> Path:
    """Every file under ``folder`` (packages included) in one top folder ``top``."""
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                zf.write(f, f"{top}/{f.relative_to(folder).as_posix()}")
    return archive


# -- archives -----------------------------------------------------------------------------------


def test_zip_with_one_top_folder_unpacks_to_it(tmp_path):
    archive = zip_folder(paths.REFERENCE_DIR, tmp_path / "a.zip", top="carol_hw3")
    folder = archives.extract(archive, tmp_path / "x")
    assert folder == tmp_path / "x" / "carol_hw3"
    assert (folder / "conv_layer.py").is_file() and not (tmp_path / "x" / "__MACOSX").exists()


def test_zip_with_files_at_the_root(tmp_path):
    folder = archives.extract(zip_folder(paths.REFERENCE_DIR, tmp_path / "a.zip"), tmp_path / "x")
    assert folder == tmp_path / "x" and (folder / "relu.py").is_file()


@pytest.mark.parametrize(
    "name", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "C:\\evil.py", "..\\evil.py"]
)
def test_zip_entries_outside_the_folder_are_refused(tmp_path, name):
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("ok.py", "x = 1")
        zf.writestr(name, "x = 1")
    with pytest.raises(archives.ArchiveError, match="unsafe entry"):
        archives.extract(tmp_path / "a.zip", tmp_path / "x")
    assert not (tmp_path / "x").exists() and not (tmp_path / "evil.py").exists()


def test_zip_bomb_is_stopped_while_inflating(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_BYTES", 2**20)
    with zipfile.ZipFile(tmp_path / "a.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (4 * 2**20))
    with pytest.raises(archives.ArchiveError, match="zip bomb"):
        archives.extract(tmp_path / "a.zip", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_zip_symlinks_are_not_created(tmp_path):
    link = zipfile.ZipInfo("passwd.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr(link, "/etc/passwd")
        zf.writestr("relu.py", "x = 1")
    folder = archives.extract(tmp_path / "a.zip", tmp_path / "x")
    assert sorted(p.name for p in folder.iterdir()) == ["relu.py"]


def test_not_a_zip(tmp_path):
    (tmp_path / "a.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(archives.ArchiveError, match="not a readable zip"):
        archives.extract(tmp_path / "a.zip", tmp_path / "x")


# -- gradebook and class report on hand-made rows ---------------------------------------------------


def report(score_relu: float, hint: str = "") -> GradeReport:
    checks = (
        CheckResult(
            "forward.relu",
            Status.PASS if score_relu == 4 else Status.FAIL,
            score_relu,
            4,
            "m",
            function="relu_forward",
            hint=hint,
        ),
        CheckResult("forward.conv", Status.PASS, 12, 12, "ok", function="conv_layer_forward"),
        CheckResult("train.lenet", Status.ERROR, 0, 30, "raised ValueError: x", function="train.lenet"),
    )
    if hint:
        checks += (
            CheckResult("integrity.sandbox", Status.FAIL, 0, 0, "flagged for review: started a process"),
        )
    return GradeReport("s", checks, {"rubric": "default"})


@pytest.fixture
def rows() -> list[Row]:
    return [
        Row('=HYPERLINK("http://x")', "a", report(4), seconds=3.0, report_dir="students/a"),
        Row("<b>bob</b>", "b", report(0, hint="ReLU keeps the positive part"), seconds=9.5),
        Row("carol", "carol.zip", None, "carol.zip: unsafe entry '../x'"),
        Row("dave", "d", GradeReport("d", (), {}, autograder_error="none of the functions\nmore")),
    ]


def test_gradebook_columns_and_rows(rows):
    table = list(csv.reader(io.StringIO(gradebook.render(rows))))
    assert table[0] == [
        "student",
        "status",
        "total",
        "max_total",
        "relu_forward",
        "conv_layer_forward",
        "train.lenet",
        "family",
        "flags",
        "seconds",
        "report",
    ]
    by_name = {r[0]: r for r in table[1:]}
    assert by_name["<b>bob</b>"][1:7] == ["graded", "12", "46", "0", "12", "0"]
    assert by_name["carol"][1:4] == ["not graded: carol.zip: unsafe entry '../x'", "", ""]
    assert by_name["dave"][1] == "not graded: none of the functions"
    assert '\'=HYPERLINK("http://x")' in by_name  # a spreadsheet shows it, never runs it
    assert by_name["<b>bob</b>"][7:9] == ["dictapi", "integrity.sandbox"]  # a report naming no family
    assert by_name["carol"][7] == by_name["dave"][7] == ""  # no family was chosen


def test_gradebook_of_a_mixed_class_has_a_column_per_familys_function():
    """The dict API and cs231n both grade ``relu_forward``, for 4 and 3 points: one column each,
    each out of its own family's points, never one column out of the larger."""

    def graded(name, family, *checks):
        return Row(name, name, GradeReport(name, checks, {"profile": family}))

    rows = [
        graded(
            "ann",
            "dictapi",
            CheckResult("forward.relu", Status.PASS, 4, 4, "ok", function="relu_forward"),
            CheckResult("forward.conv", Status.PASS, 12, 12, "ok", function="conv_layer_forward"),
        ),
        graded(
            "ben",
            "cs231n",
            CheckResult("forward.relu", Status.FAIL, 1, 3, "wrong", function="relu_forward"),
            CheckResult("forward.conv", Status.PASS, 10, 10, "ok", function="conv_forward_naive"),
        ),
        Row("cy", "cy", GradeReport("cy", (), {"profile": "auto"}, autograder_error="none found")),
    ]
    table = list(csv.reader(io.StringIO(gradebook.render(rows, "cs231n"))))
    head = table[0]
    assert head == [
        *gradebook.FIXED,
        "cs231n:relu_forward",  # the class's family first (``profile``), then the others
        "cs231n:conv_forward_naive",
        "dictapi:relu_forward",
        "dictapi:conv_layer_forward",
        *gradebook.TRAILING,
    ]
    by_name = {r[0]: dict(zip(head, r)) for r in table[1:]}
    top = by_name[gradebook.MAXIMUM]
    assert [top[c] for c in head[4:8]] == ["3", "10", "4", "12"]
    assert [by_name["ann"][c] for c in head[4:8]] == ["", "", "4", "12"]
    assert [by_name["ben"][c] for c in head[4:8]] == ["1", "10", "", ""]
    assert (by_name["ann"]["family"], by_name["ben"]["family"], by_name["cy"]["family"]) == (
        "dictapi",
        "cs231n",
        "",
    )
    # one family alone: the columns keep their names
    alone = next(csv.reader(io.StringIO(gradebook.render(rows[:1]))))
    assert alone == [*gradebook.FIXED, "relu_forward", "conv_layer_forward", *gradebook.TRAILING]


def test_flag_prefix_is_the_integrity_checks():
    integrity = pytest.importorskip("harness.checks.integrity")
    assert integrity.REVIEW == deploy.FLAG_PREFIX


def test_class_report_sections_and_escaping(rows, tmp_path):
    (tmp_path / "students" / "a").mkdir(parents=True)
    (tmp_path / "students" / "a" / "report.html").write_text("x")
    page = class_report.write(rows, tmp_path / "class.html", {"folder": "hw3"}).read_text()
    for heading in (
        "Scores",
        "Pass rate per check",
        "Most common likely causes",
        "Flagged for review",
        "Slowest submissions",
        "Failures to grade",
        "Students",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("data:image/png;base64,") == 2
    assert "<b>bob</b>" not in page and "&lt;b&gt;bob&lt;/b&gt;" in page
    assert "ReLU keeps the positive part" in page and "error: raises ValueError" in page
    assert 'href="students/a/report.html"' in page
    assert "<script" not in page


def test_pass_rates_and_causes(rows):
    assert class_report.pass_rates(rows) == [
        ("forward.relu", 1, 2),
        ("forward.conv", 2, 2),
        ("train.lenet", 0, 2),
        ("integrity.sandbox", 0, 1),
    ]
    assert [(name, c.id) for name, c in class_report.flags(rows)] == [("<b>bob</b>", "integrity.sandbox")]
    top = class_report.causes(rows)[0]
    assert top[0] == "error: raises ValueError" and len(top[1]) == 2


# -- the runner -----------------------------------------------------------------------------


def test_a_grading_process_over_its_time_limit_is_stopped(tmp_path):
    batch = bulk.Batch(tmp_path, bulk.Settings(timeout_s=1.0))
    start = time.monotonic()
    rc, timed_out = batch._run([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "log")
    assert timed_out and rc != 0 and time.monotonic() - start < 10


def test_grade_options_are_passed_on_except_the_hidden_seed():
    args = cli.parser().parse_args(
        [
            "bulk",
            "d",
            "--no-train",
            "--only",
            "forward.*",
            "--only",
            "backward.*",
            "--timeout",
            "2",
            "--hidden-seed-file",
            "seed.txt",
            "--jobs",
            "3",
        ]
    )
    assert options.grade_argv(args) == [
        "--only",
        "forward.*",
        "--only",
        "backward.*",
        "--no-train",
        "--timeout",
        "2.0",
    ]


def test_discover_names_and_ignores(tmp_path):
    for d in ("alice", "bob", ".git", "__MACOSX", "out"):
        (tmp_path / d).mkdir()
    for f in ("bob.zip", "carol.ZIP", "notes.txt"):
        (tmp_path / f).write_bytes(b"")
    entries, ignored = bulk.discover(tmp_path, exclude=tmp_path / "out")
    assert [(e.name, e.source.name) for e in entries] == [
        ("alice", "alice"),
        ("bob", "bob"),
        ("bob.zip", "bob.zip"),
        ("carol", "carol.ZIP"),
    ]
    assert ignored == ["notes.txt"]


OTHER_FAMILIES = {
    # student: (family, the function its broken corpus entry breaks, or "" for the reference)
    "frank": ("cs231n", "relu_backward"),  # tests/corpus/cs231n/broken/relu_backward_no_mask.py
    "grace": ("classapi", "ReLULayer.backward"),  # tests/corpus/classapi/broken/relu_no_mask/
    "heidi": ("classapi", ""),  # the classapi reference, zipped with its packages
}
"""Submissions of the other assignment families in the mixed class: each detected on its own."""


@pytest.fixture(scope="module")
def mixed_class(tmp_path_factory) -> Path:
    """Correct, broken, hostile and zipped submissions, one unsafe zip, and submissions of the
    other families (``OTHER_FAMILIES``)."""
    root = tmp_path_factory.mktemp("class")
    make_submission(root / "alice")
    make_submission(root / "bob", {"relu": RELU_BROKEN})
    make_submission(root / "dave", {"conv_layer": HOSTILE_CONV})
    zip_folder(make_submission(root / "src" / "carol"), root / "carol.zip", top="carol")
    with zipfile.ZipFile(root / "eve.zip", "w") as zf:
        zf.writestr("../../evil.py", "import os")
    make_cs231n_submission(root / "frank", broken="relu_backward_no_mask")
    make_classapi_submission(root / "grace", broken="relu_no_mask")
    zip_tree(make_classapi_submission(root / "src" / "heidi"), root / "heidi.zip", top="heidi_hw3")
    (root / "README.txt").write_text("exported by the LMS")
    folder = root / "submissions"
    folder.mkdir()
    for name in ("alice", "bob", "dave", "carol.zip", "eve.zip", "frank", "grace", "heidi.zip", "README.txt"):
        os.rename(root / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def bulk_run(mixed_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    args = [
        "bulk",
        str(mixed_class),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--no-train",
        "--no-html",
        "--timeout",
        "2",
    ]
    return out, args, _run_cli(args)


def _run_cli(args: list[str]) -> tuple[int, str]:
    import contextlib

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = cli.main(args)
    return rc, err.getvalue()


def gradebook_rows(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.mark.slow
def test_bulk_grades_a_mixed_class(bulk_run, mixed_class):
    out, _, (rc, progress) = bulk_run
    assert rc == 2  # eve's zip could not be graded
    assert "ignored README.txt" in progress and "[8/8]" in progress
    book = gradebook_rows(out)
    assert sorted(book) == [gradebook.MAXIMUM, "alice", "bob", "carol", "dave", "eve", *OTHER_FAMILIES]
    top = book[gradebook.MAXIMUM]
    assert top["total"] == top["max_total"] == "70" and top["dictapi:mlrloss"] == "8"
    # relu_forward is graded by two families, for other points: a column each, each its own maximum
    assert top["dictapi:relu_forward"] == "4" and top["cs231n:relu_forward"] == "3"
    assert "relu_forward" not in top and top["family"] == ""
    assert {name: row["family"] for name, row in book.items()} == {
        gradebook.MAXIMUM: "",
        **{name: "dictapi" for name in ("alice", "bob", "carol")},
        "dave": "dictapi" if book["dave"]["status"] == "graded" else "",  # killed: no report
        "eve": "",  # an unsafe zip: never graded, no family
        **{name: family for name, (family, _) in OTHER_FAMILIES.items()},
    }
    assert book["alice"]["total"] == book["carol"]["total"] == "70"
    # alice and carol hand in the reference itself, bob the reference with a broken ReLU: a person looks.
    assert "integrity.copy" in book["alice"]["flags"].split() and "similar:carol" in book["alice"]["flags"]
    assert "similar:alice" in book["bob"]["flags"] and "similar: alice and bob" in progress
    assert "Score: 70 / 70" in (out / "students" / "alice" / "grader.log").read_text()  # the whole output
    # bob's report goes back to bob: its reproduce lines run in his own folder, not in ours
    bob = json.loads((out / "students" / "bob" / "report.json").read_text())
    reproduce = [
        line.strip() for c in bob["checks"] for line in c["details"].splitlines() if "reproduce:" in line
    ]
    assert reproduce and all(
        line.startswith("reproduce: python -m harness grade . --only") for line in reproduce
    )
    assert float(book["bob"]["total"]) < 70 and float(book["bob"]["dictapi:relu_forward"]) < 4
    assert book["eve"]["status"].startswith("not graded: eve.zip: unsafe entry")
    dave = book["dave"]
    if dave["status"] == "graded":  # the sandbox held: conv timed out, everything else graded
        assert dave["dictapi:conv_layer_forward"] == "0" and dave["dictapi:mlrloss"] == "8"
    else:  # the grader was killed: recorded, the batch went on
        assert "killed" in dave["status"]
    for name in ("alice", "bob", "carol"):
        assert (out / "students" / name / "report.json").is_file()
    page = (out / "class_report.html").read_text()
    assert "the output matches min(x, 0)" in page and "eve.zip: unsafe entry" in page
    assert not (out.parent / "evil.py").exists() and not (mixed_class.parent / "evil.py").exists()


def scores_table(page: str) -> dict[str, tuple[str, str, str]]:
    """The class report's points per check group: group -> (mean, max, students with full marks)."""
    section = page[page.index("<h2>Scores</h2>") : page.index("<h2>Pass rate per check</h2>")]
    cell = r'<td class="num">([^<]*)</td>'
    return {
        g: (mean, top, full)
        for g, mean, top, full in re.findall(rf"<td><code>([^<]+)</code></td>{cell}{cell}{cell}", section)
    }


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(OTHER_FAMILIES))
def test_bulk_grades_each_family_as_its_files_say(bulk_run, student):
    """In a class of several families each submission is detected and graded on its own: a broken
    one loses exactly its broken function's points, a reference full marks of what is graded."""
    out, _, (rc, progress) = bulk_run
    family, broken = OTHER_FAMILIES[student]
    prof = profiles.get(family)
    rubric = rubric_mod.load(prof.DEFAULT_RUBRIC)
    graded = {fn: rubric.points[fn] for fn in prof.FUNCTIONS.values()}  # --no-train: no training
    report = json.loads((out / "students" / student / "report.json").read_text())
    assert report["provenance"]["profile"] == family, report["provenance"].get("profile_choice")
    row = gradebook_rows(out)[student]
    assert row["status"] == "graded"
    assert float(row["max_total"]) == sum(graded.values()) == 70
    assert float(row["total"]) == 70 - (graded[broken] if broken else 0)
    assert {fn: float(row[f"{family}:{fn}"]) for fn in graded} == {
        fn: 0.0 if fn == broken else pts for fn, pts in graded.items()
    }
    assert row["family"] == family
    total = "70" if not broken else f"{70 - graded[broken]:g}"
    assert f"{student}: {total} / 70" in progress
    # the other families' columns are empty, those of the same name included
    others = [name for name in row if ":" in name and not name.startswith(f"{family}:")]
    assert others and all(row[name] == "" for name in others)
    if family == "cs231n":
        assert row["dictapi:relu_backward"] == ""


@pytest.mark.slow
def test_class_report_takes_each_group_over_its_own_family(bulk_run):
    out, _, (rc, progress) = bulk_run
    table = scores_table((out / "class_report.html").read_text())
    # over the classapi students only (grace 0, heidi 4), not the whole class's zeros
    assert table["classapi:ReLULayer.backward"] == ("2", "4", "1")
    assert table["classapi:ReLULayer.forward"] == ("3", "3", "2")
    # the dict API's conv over its own students: alice, bob and carol full marks, dave 0 if graded
    assert table["dictapi:conv_layer_forward"][1:] == ("12", "3")
    # relu_backward of each family over that family's students, out of its own points
    assert table["cs231n:relu_backward"] == ("0", "4", "0")  # frank's, broken
    assert table["dictapi:relu_forward"][1] == "4" and table["cs231n:relu_forward"] == ("3", "3", "1")


@pytest.mark.slow
def test_similarity_compares_each_family_with_its_own_reference(bulk_run):
    out, _, _ = bulk_run
    book = gradebook_rows(out)
    # frank is the cs231n reference but relu_backward: compared with the cs231n reference
    assert f"similar:{bulk.REFERENCE_NAME}" in book["frank"]["flags"]
    assert "similar:frank" not in book["alice"]["flags"]  # never across families
    # heidi hands in the classapi reference itself (its methods compared, Class.method)
    assert "integrity.copy" in book["heidi"]["flags"].split(), book["heidi"]["flags"]
    assert "similar:grace" in book["heidi"]["flags"] and "similar:heidi" not in book["frank"]["flags"]


@pytest.mark.slow
def test_rerun_skips_what_is_graded_and_regrades_what_changed(bulk_run, mixed_class):
    out, args, _ = bulk_run
    rc, progress = _run_cli(args)
    assert progress.count("graded earlier") == 4 + len(OTHER_FAMILIES)
    relu = mixed_class / "bob" / "relu.py"
    relu.write_text(relu.read_text().replace("np.minimum", "np.maximum"))
    rc, progress = _run_cli(args)
    assert progress.count("graded earlier") == 3 + len(OTHER_FAMILIES)
    assert gradebook_rows(out)["bob"]["total"] == "70"


def test_force_regrades_what_was_graded(tmp_path, monkeypatch):
    entry = bulk.Entry("alice", make_submission(tmp_path / "alice"))
    calls = []

    def fake_run(self, argv, log):
        calls.append(argv)
        (Path(argv[argv.index("--out") + 1]) / "report.json").write_text(json.dumps(report(4).to_dict()))
        return 0, False

    monkeypatch.setattr(bulk.Batch, "_run", fake_run)
    first, again, forced = (
        bulk.Batch(tmp_path / "out", bulk.Settings(force=force)).grade(entry)
        for force in (False, False, True)
    )
    assert len(calls) == 2
    assert first.graded and not first.reused
    assert again.graded and again.reused
    assert forced.graded and not forced.reused


def test_failures_without_a_hint_are_counted_under_their_kind():
    def graded(name, *checks):
        return Row(name, name, GradeReport(name, checks, {}))

    rows = [
        graded(
            "ann",
            CheckResult(
                "forward.relu", Status.ERROR, 0, 4, "relu.py does not compile: line 3: invalid syntax"
            ),
        ),
        graded(
            "ben",
            CheckResult(
                "forward.relu", Status.ERROR, 0, 4, "relu.py does not compile: line 9: '(' was never closed"
            ),
        ),
        graded(
            "cat",
            CheckResult(
                "forward.conv",
                Status.FAIL,
                0,
                4,
                "2 of 10 cases fail; first (case c1): output is a list, not a dict",
            ),
        ),
        graded(
            "dan",
            CheckResult(
                "forward.conv",
                Status.FAIL,
                0,
                4,
                "7 of 10 cases fail; first (case c4): output is a list, not a dict",
            ),
        ),
    ]
    found = {cause: sorted(who) for cause, who, _ in class_report.causes(rows)}
    assert found == {
        "error: a module does not compile": ["ann", "ben"],
        "no likely cause found: output is a list, not a dict": ["cat", "dan"],
    }
