"""The shipped fixtures verify, reproduce byte for byte, and every kind of tampering is caught."""

import json
import shutil

import numpy as np
import pytest

from harness import profiles
from harness.cases import catalogue as cases
from harness.cases import families, fixtures
from harness.cases.fixtures import FixtureError
from harness.core.ops import OPS

CONV2 = "conv_layer_backward/lenet_conv2_b2.npz"
RELU = "relu_backward/h3w4_c2_b1.npz"


@pytest.fixture
def copy(tmp_path):
    """A private copy of the shipped fixtures, to tamper with."""
    dst = tmp_path / "fixtures"
    shutil.copytree(fixtures.FIXTURES_DIR, dst)
    return dst


def manifest(root=fixtures.FIXTURES_DIR):
    return json.loads((root / fixtures.MANIFEST).read_text())


# ---- the shipped fixtures ----------------------------------------------------------------


def test_shipped_fixtures_verify_and_regenerate_identically():
    assert fixtures.check(exact=False) == []
    # Byte for byte, only the losses' outputs (exp, products of inexact values) may differ, and
    # only on another CPU or BLAS than the one that generated them.
    for problem in fixtures.check():
        assert problem.startswith(("mlrloss/", "cs231n/softmax_loss/")), problem
        assert "differ at rounding level" in problem, problem


def test_shipped_fixtures_are_small():
    total = sum(p.stat().st_size for p in fixtures.FIXTURES_DIR.rglob("*") if p.is_file())
    assert total < 3.5e6


def test_manifest_describes_every_public_case():
    m = manifest()
    assert (m["schema"], m["fixtures_version"], m["seed"]) == (
        fixtures.SCHEMA_VERSION,
        cases.FIXTURES_VERSION,
        cases.SEED,
    )
    assert m["generated_with"]["numpy"]
    entries = {(e.get("profile", "dictapi"), e["op"], e["case"]): e for e in m["files"]}
    public = families.public_cases()
    assert len(entries) == len(m["files"]) == len(public)
    assert {p for p, _, _ in entries} == set(profiles.PROFILES)
    for case in public:
        e = entries[case.profile, case.op, case.name]
        assert e["file"] == fixtures.file_name(case)
        assert (e["params"], e["tags"]) == (case.params, list(case.tags))
        assert e["arrays"]["in_x" if "x" in case.arrays else "in_X"]
        assert e["function"] == profiles.get(case.profile).FUNCTIONS[case.op]
        assert all(k in e["arrays"] for k in [f"out_{o}" for o in OPS[case.op].outputs])
    assert entries["dictapi", "conv.backward", "lenet_conv2_b2"]["checks"] == [
        "backward.conv.input",
        "backward.conv.w",
        "backward.conv.b",
    ]
    assert entries["dictapi", "conv.forward", "lenet_conv2_b2"]["checks"] == ["forward.conv"]
    assert entries["cs231n", "conv.forward", "course_forward"]["file"] == (
        "cs231n/conv_forward_naive/course_forward.npz"
    )


def test_generate_elsewhere_is_byte_identical_and_leaves_the_lock_alone(tmp_path):
    lock = fixtures.LOCK_FILE.read_bytes()
    fixtures.generate(tmp_path / "a")
    fixtures.generate(tmp_path / "b")
    assert fixtures.LOCK_FILE.read_bytes() == lock
    files = sorted(
        p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert files == sorted(
        p.relative_to(fixtures.FIXTURES_DIR).as_posix()
        for p in fixtures.FIXTURES_DIR.rglob("*")
        if p.is_file()
    )
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
        if not rel.startswith("mlrloss/") and rel != fixtures.MANIFEST:  # no rounding anywhere else
            assert (tmp_path / "a" / rel).read_bytes() == (fixtures.FIXTURES_DIR / rel).read_bytes()


# ---- check() on tampered copies ----------------------------------------------------------


def test_check_reports_a_changed_byte(copy):
    data = bytearray((copy / CONV2).read_bytes())
    data[len(data) // 2] ^= 1
    (copy / CONV2).write_bytes(bytes(data))
    problems = fixtures.check(copy, exact=False)
    assert len(problems) == 1 and problems[0].startswith(f"{CONV2}: modified or corrupt")


def test_check_reports_a_deleted_file(copy):
    (copy / RELU).unlink()
    assert fixtures.check(copy, regenerate=False) == [f"{RELU}: missing (listed in manifest.json)"]


def test_check_reports_an_extra_file(copy):
    (copy / "relu_backward" / "mine.npz").write_bytes(b"x")
    assert fixtures.check(copy, regenerate=False) == [
        "relu_backward/mine.npz: unexpected file (not in manifest.json)"
    ]


def test_check_reports_an_edited_manifest(copy):
    m = manifest(copy)
    m["files"][0]["tags"].append("edited")
    (copy / fixtures.MANIFEST).write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
    problems = fixtures.check(copy, exact=False)
    assert any(p.startswith("manifest.json: sha256") and "does not match" in p for p in problems)
    assert any(
        p.startswith(m["files"][0]["file"]) and "entry differs from regeneration in tags" in p
        for p in problems
    )


def test_check_reports_a_missing_or_broken_manifest(copy):
    (copy / fixtures.MANIFEST).write_text("{not json")
    assert fixtures.check(copy)[0].startswith("manifest.json: malformed")
    (copy / fixtures.MANIFEST).unlink()
    assert fixtures.check(copy)[0].startswith("manifest.json: cannot be read")


def _tweak(monkeypatch, target, change):
    """Make regeneration produce something else for one case (``target`` = (op, name))."""
    real_public, real_expected = cases.public_cases, cases.expected

    def public():
        out = real_public()
        if change == "input":
            for c in out:
                if (c.op, c.name) == target:
                    c.arrays["x"][0, 0] += 0.5
        return out

    def expected(case):
        out = real_expected(case)
        if (case.op, case.name) == target and change != "input":
            factor = 2.0 if change == "output" else 1 + 4 * np.finfo(float).eps
            out = {k: v * factor for k, v in out.items()}
        return out

    monkeypatch.setattr(cases, "public_cases", public)
    monkeypatch.setattr(cases, "expected", expected)


@pytest.mark.parametrize(
    "change, cause",
    [
        ("input", "inputs changed: the case generator"),
        ("output", "expected outputs changed: the reference changed"),
        ("rounding", "expected outputs differ at rounding level"),
    ],
)
def test_check_explains_why_regeneration_differs(monkeypatch, change, cause):
    _tweak(monkeypatch, ("relu.backward", "h3w4_c2_b1"), change)
    problems = [p for p in fixtures.check() if not p.startswith("mlrloss/")]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{RELU}: regeneration differs: {cause}")
    assert "numpy" in problems[0]
    assert (fixtures.check(exact=False) == []) == (change == "rounding")


# ---- load() --------------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_load_gives_the_public_cases_with_reference_outputs(op):
    loaded = fixtures.load(op)
    public = [c for c in cases.public_cases() if c.op == op]
    assert [c.name for c, _ in loaded] == [c.name for c in public]
    for (case, exp), want in zip(loaded, public):
        assert (case.op, case.params, case.tags) == (want.op, want.params, want.tags)
        assert case.arrays.keys() == want.arrays.keys()
        for k in want.arrays:
            np.testing.assert_array_equal(case.arrays[k], want.arrays[k])
        ref = cases.expected(case)
        assert exp.keys() == ref.keys()
        for k in ref:
            if op == "mlrloss":  # exp() and inexact products: rounding may depend on the CPU
                np.testing.assert_allclose(exp[k], ref[k], rtol=0, atol=1e-13 * np.abs(ref[k]).max())
            else:
                np.testing.assert_array_equal(exp[k], ref[k])


def test_load_returns_copies():
    case, exp = fixtures.load("relu.forward")[0]
    case.arrays["x"][:] = 7
    exp["y"][:] = 7
    again, exp_again = fixtures.load("relu.forward")[0]
    assert not (again.arrays["x"] == 7).all() and not (exp_again["y"] == 7).all()


def test_load_raises_on_a_tampered_file(copy):
    data = bytearray((copy / RELU).read_bytes())
    data[-200] ^= 0xFF
    (copy / RELU).write_bytes(bytes(data))
    with pytest.raises(
        FixtureError,
        match=r"h3w4_c2_b1\.npz: modified or corrupt.*regenerate with "
        r"`python -m harness fixtures generate` or reinstall",
    ):
        fixtures.load("conv.forward", copy)


def test_load_raises_on_a_missing_file(copy):
    (copy / CONV2).unlink()
    with pytest.raises(FixtureError, match=r"lenet_conv2_b2\.npz: missing"):
        fixtures.load("conv.backward", copy)


def test_load_raises_on_an_edited_manifest(copy):
    text = (copy / fixtures.MANIFEST).read_text().replace('"lenet"', '"lenet2"', 1)
    (copy / fixtures.MANIFEST).write_text(text)
    with pytest.raises(FixtureError, match=r"manifest\.json: does not match the grader's lock"):
        fixtures.load("conv.backward", copy)


def test_load_rejects_an_unknown_op():
    with pytest.raises(ValueError, match="unknown op"):
        fixtures.load("softmax.forward")
