"""Fixtures: the public cases with their expected outputs, as checksummed files.

Layout of ``fixtures/``::

    manifest.json                      what every file is, and its sha256
    <function>/<case>.npz              e.g. conv_layer_backward/lenet_conv2_b2.npz

Every family's cases share the one manifest; the files of a family other than the LeNet
one (``dictapi``) sit in a folder of its name (``cs231n/conv_forward_naive/<case>.npz``: two
families may name a function alike), and its manifest entries name it under ``profile``.

Each ``.npz`` holds float64 arrays: ``in_<name>`` the canonical inputs of the case
(``harness.core.ops``; backward cases include ``in_y``, the forward output) and
``out_<name>`` the reference's expected outputs (``out_y``; ``out_input``, ``out_w``,
``out_b``; mlrloss ``out_nll``, ``out_wb``, ``out_input``, ``out_percent``, scalars 0-d).
The zip is written by hand, uncompressed and with a fixed date, so that regeneration
reproduces every byte (``np.savez`` stamps the current time; deflate output depends on
the zlib build).

Trust chain: ``harness/fixtures_lock.json`` (shipped inside the package) holds the
manifest's sha256; the manifest holds each file's sha256.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from harness import profiles
from harness.cases import catalogue as cases
from harness.cases import families, reference
from harness.cases.catalogue import Case
from harness.core import device, paths
from harness.core.ops import OPS

FIXTURES_DIR = paths.FIXTURES_DIR
LOCK_FILE = paths.PACKAGE_DIR / "fixtures_lock.json"
MANIFEST = "manifest.json"
SCHEMA_VERSION = 1
REGENERATE_HINT = "regenerate with `python -m harness fixtures generate` or reinstall the grader"
FORMAT = (
    "<function>/<case>.npz: float64 arrays in_<name> (canonical inputs, harness.core.ops) and "
    "out_<name> (expected outputs of the reference); an uncompressed zip with fixed dates"
)
ROUNDING_RTOL = 1e-12
"""check(exact=False): expected outputs may differ by this much, relative to the array's largest value."""
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class FixtureError(Exception):
    """A fixture file is missing, modified or unreadable: the grader cannot trust its cases."""


def check_ids(op_name: str) -> list[str]:
    """The check ids a case of this op serves: ``forward.conv``, ``backward.conv.w``, ``loss.mlrloss.nll``."""
    op = OPS[op_name]
    if op.kind == "forward":
        return [f"forward.{op.layer}"]
    return [f"{op.kind}.{op.layer}.{out}" for out in op.outputs]


def function_of(case: Case) -> str:
    """The submission function a case grades, in its family's naming."""
    return profiles.get(case.profile).FUNCTIONS[case.op]


def file_name(case: Case) -> str:
    """The case's path relative to the fixtures directory, ``[<profile>/]<function>/<case>.npz``."""
    family = "" if case.profile == profiles.DEFAULT else f"{case.profile}/"
    return f"{family}{function_of(case)}/{case.name}.npz"


def manifest_sha256(dir: Path = FIXTURES_DIR) -> str:
    """sha256 of the manifest (the fixtures' identity in report provenance)."""
    return _sha256((Path(dir) / MANIFEST).read_bytes())


# ---- generation ------------------------------------------------------------------------


def generate(out_dir: Path = FIXTURES_DIR, *, write_lock: bool | None = None, xp=np) -> Path:
    """Write every public case and the manifest into ``out_dir``; returns the manifest's path.

    Stale ``<function>/*.npz`` files are removed first. ``write_lock``: record the
    manifest's sha256 in ``harness/fixtures_lock.json``; by default only when ``out_dir``
    is the shipped fixtures directory (a scratch generation leaves the lock alone).
    ``xp``: the array module the reference computes the expected outputs with (cupy: on the
    GPU; the cases' inputs are drawn and computed on the CPU either way).
    """
    with reference.on_device(xp):
        return _generate(Path(out_dir), write_lock, device.name_of(xp))


def _generate(out: Path, write_lock: bool | None, where: str) -> Path:
    if write_lock is None:
        write_lock = out.resolve() == FIXTURES_DIR.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name, prof in profiles.PROFILES.items():
        folder = out if name == profiles.DEFAULT else out / name
        for function in prof.FUNCTIONS.values():
            for stale in sorted((folder / function).glob("*.npz")):
                stale.unlink()
    files = []
    for case in families.public_cases():
        data, arrays = _encode(case, cases.expected(case))
        rel = file_name(case)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
        family = {} if case.profile == profiles.DEFAULT else {"profile": case.profile}
        files.append(
            {
                **family,
                "file": rel,
                "op": case.op,
                "function": function_of(case),
                "case": case.name,
                "checks": check_ids(case.op),
                "params": case.params,
                "tags": list(case.tags),
                "sha256": _sha256(data),
                "bytes": len(data),
                "arrays": {key: list(a.shape) for key, a in arrays.items()},
            }
        )
    made_with = (
        {"numpy": np.__version__} if where == device.CPU else {"numpy": np.__version__, "device": where}
    )
    manifest = {
        "schema": SCHEMA_VERSION,
        "fixtures_version": cases.FIXTURES_VERSION,
        "seed": cases.SEED,
        "generated_with": made_with,
        "format": FORMAT,
        "files": files,
    }
    text = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    (out / MANIFEST).write_bytes(text)
    if write_lock:
        lock = {"fixtures_version": cases.FIXTURES_VERSION, "manifest_sha256": _sha256(text)}
        LOCK_FILE.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
    return out / MANIFEST


def _encode(case: Case, expected: dict) -> tuple[bytes, dict]:
    arrays = {f"in_{k}": v for k, v in case.arrays.items()}
    arrays.update({f"out_{k}": v for k, v in expected.items()})
    arrays = {k: np.ascontiguousarray(v, dtype="<f8") for k, v in arrays.items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for key, a in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, a, version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # else it depends on the platform
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue(), arrays


def _decode(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


# ---- verification ----------------------------------------------------------------------


def check(dir: Path = FIXTURES_DIR, *, regenerate: bool = True, exact: bool = True, xp=np) -> list[str]:
    """Problems with a fixtures directory, one line each; empty when all is well.

    The manifest must match ``harness/fixtures_lock.json``, every listed file its sha256,
    no file may be missing or extra, and (``regenerate``) generating afresh into a
    temporary directory must reproduce every file byte for byte. ``exact=False`` lets
    expected outputs differ at rounding level (relative ``ROUNDING_RTOL``), as mlrloss
    outputs (exp, and products of inexact values) may on another CPU or BLAS; inputs
    must still match bit for bit. ``xp``: regenerate on that array module's device (cupy:
    the GPU's results are compared at rounding level, whatever ``exact`` says).
    """
    root = Path(dir)
    problems, manifest, bad = _static_problems(root)
    if manifest is not None and regenerate:
        problems += _regeneration_problems(root, manifest, bad, exact and xp is np, xp)
    return problems


def _static_problems(root: Path) -> tuple[list[str], dict | None, set[str]]:
    """(problems, the parsed manifest or None, files found missing or modified)."""
    try:
        raw = (root / MANIFEST).read_bytes()
    except OSError as exc:
        return [f"{MANIFEST}: cannot be read ({exc.strerror or exc})"], None, set()
    try:
        manifest = json.loads(raw)
        entries = {e["file"]: e for e in manifest["files"]}
        for e in entries.values():
            e["sha256"], e["op"], e["case"], e["params"], e["tags"], e["arrays"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST}: malformed ({type(exc).__name__}: {exc})"], None, set()
    problems, bad = [], set()
    locked = _locked_sha256()
    if locked is None:
        problems.append(f"{_display(LOCK_FILE)}: missing or unreadable: the manifest cannot be verified")
    elif _sha256(raw) != locked:
        problems.append(
            f"{MANIFEST}: sha256 {_sha256(raw)[:12]}... does not match "
            f"{_display(LOCK_FILE)} ({locked[:12]}...): the manifest was edited, or the "
            "fixtures were generated for another version of the grader"
        )
    for rel, entry in entries.items():
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing (listed in {MANIFEST})")
            bad.add(rel)
            continue
        got = _sha256(path.read_bytes())
        if got != entry["sha256"]:
            problems.append(
                f"{rel}: modified or corrupt (sha256 {got[:12]}..., "
                f"{MANIFEST} says {entry['sha256'][:12]}...)"
            )
            bad.add(rel)
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        if rel != MANIFEST and rel not in entries:
            problems.append(f"{rel}: unexpected file (not in {MANIFEST})")
    return problems, manifest, bad


def _regeneration_problems(root: Path, manifest: dict, bad: set[str], exact: bool, xp) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="harness-fixtures-") as tmp:
        fresh_root = Path(tmp)
        try:
            generate(fresh_root, write_lock=False, xp=xp)
        except Exception as exc:  # the reference or the case builders are broken
            return [f"regeneration failed: {type(exc).__name__}: {exc}"]
        fresh = json.loads((fresh_root / MANIFEST).read_bytes())
        env = _env_note(manifest.get("generated_with", {}), fresh["generated_with"])
        shipped = {e["file"]: e for e in manifest["files"]}
        regenerated = {e["file"]: e for e in fresh["files"]}
        problems = []
        for key in ("schema", "fixtures_version", "seed"):
            if manifest.get(key) != fresh[key]:
                problems.append(
                    f"{MANIFEST}: {key} is {manifest.get(key)!r}, regeneration gives {fresh[key]!r}"
                )
        for rel in sorted(regenerated.keys() - shipped.keys()):
            problems.append(f"{rel}: produced by regeneration but not shipped (harness/cases.py changed?)")
        for rel in sorted(shipped.keys() - regenerated.keys()):
            problems.append(
                f"{rel}: no longer produced by regeneration (case removed or renamed in harness/cases.py?)"
            )
        for rel in sorted(shipped.keys() & regenerated.keys()):
            old, new = shipped[rel], regenerated[rel]
            meta = [
                k for k in ("op", "case", "params", "tags", "checks", "profile") if old.get(k) != new.get(k)
            ]
            if meta:
                problems.append(f"{rel}: {MANIFEST} entry differs from regeneration in {', '.join(meta)}")
            if rel in bad:
                continue
            old_bytes, new_bytes = (root / rel).read_bytes(), (fresh_root / rel).read_bytes()
            if old_bytes != new_bytes:
                kind, explanation = _explain(old_bytes, new_bytes)
                if exact or kind != "rounding":
                    problems.append(f"{rel}: regeneration differs: {explanation}; {env}")
        return problems


def _explain(old: bytes, new: bytes) -> tuple[str, str]:
    """What differs between a shipped and a regenerated fixture file: (kind, explanation).

    kind: ``unreadable``, ``arrays`` (other names), ``inputs``, ``outputs``, ``rounding``
    (expected outputs only, within ROUNDING_RTOL) or ``encoding`` (same values).
    """
    try:
        a, b = _decode(old), _decode(new)
    except Exception as exc:
        return "unreadable", f"the shipped file cannot be read ({type(exc).__name__}: {exc})"
    if a.keys() != b.keys():
        return "arrays", f"arrays {sorted(a)}, regenerated {sorted(b)}"
    diffs = []  # (key, description, relative error)
    for key in a:
        if a[key].shape != b[key].shape:
            diffs.append((key, f"{key} shape {a[key].shape}, regenerated {b[key].shape}", np.inf))
        elif not np.array_equal(a[key], b[key], equal_nan=True):
            err = float(np.abs(a[key] - b[key]).max())
            rel = err / max(float(np.abs(b[key]).max()), np.finfo(float).tiny)
            diffs.append((key, f"{key} max |diff| {err:.3g} (relative {rel:.2g})", rel))
    if not diffs:
        return "encoding", "same values, different bytes (the .npy or zip encoding changed)"
    if any(key.startswith("in_") for key, _, _ in diffs):
        kind, cause = (
            "inputs",
            "inputs changed: the case generator (harness/cases.py or numpy's random streams)",
        )
    elif all(rel <= ROUNDING_RTOL for _, _, rel in diffs):
        kind, cause = "rounding", "expected outputs differ at rounding level (another CPU, BLAS or numpy)"
    else:
        kind, cause = "outputs", "expected outputs changed: the reference changed"
    shown = "; ".join(text for _, text, _ in diffs[:4]) + (" ..." if len(diffs) > 4 else "")
    return kind, f"{cause}: {shown}"


def _env_note(old: dict, new: dict) -> str:
    before, now = old.get("numpy", "?"), new.get("numpy", "?")
    note = f"numpy {before} at generation, {now} now" if before != now else f"same numpy {now}"
    where = old.get("device", device.CPU), new.get("device", device.CPU)
    return note + (f"; generated on {where[0]}, regenerated on {where[1]}" if where[0] != where[1] else "")


# ---- loading ---------------------------------------------------------------------------


def load(op_name: str, dir: Path = FIXTURES_DIR, profile: str = profiles.DEFAULT) -> list[tuple[Case, dict]]:
    """The verified fixture cases of one op of one family with their expected outputs, in generation order.

    The whole directory is verified once per process (manifest against the lock, every
    file against the manifest); any missing, modified or unreadable file raises
    :class:`FixtureError`. Returns fresh copies: callers may modify them.
    """
    if op_name not in OPS:
        raise ValueError(f"unknown op {op_name!r}; known: {', '.join(OPS)}")
    return [
        (
            Case(c.op, c.name, dict(c.params), {k: v.copy() for k, v in c.arrays.items()}, c.tags, c.profile),
            {k: v.copy() for k, v in exp.items()},
        )
        for c, exp in _verified(str(Path(dir).resolve())).get(op_name, [])
        if c.profile == profile
    ]


@functools.cache
def _verified(root: str) -> dict[str, list[tuple[Case, dict]]]:
    """Read, verify and parse every fixture file once (failures are not cached)."""
    base = Path(root)
    fail = lambda where, what: FixtureError(f"{base / where}: {what}; {REGENERATE_HINT}")
    try:
        raw = (base / MANIFEST).read_bytes()
        manifest = json.loads(raw)
        entries = list(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise fail(MANIFEST, f"missing or unreadable ({type(exc).__name__}: {exc})") from None
    locked = _locked_sha256()
    if locked != _sha256(raw):
        raise fail(
            MANIFEST,
            f"does not match the grader's lock {_display(LOCK_FILE)} "
            "(edited, or fixtures of another grader version)",
        )
    by_op: dict[str, list[tuple[Case, dict]]] = {}
    for entry in entries:
        rel = entry["file"]
        try:
            data = (base / rel).read_bytes()
        except OSError as exc:
            raise fail(rel, f"missing or unreadable ({exc.strerror or exc})") from None
        if _sha256(data) != entry["sha256"]:
            raise fail(rel, f"modified or corrupt (its sha256 does not match {MANIFEST})")
        try:
            arrays = _decode(data)
        except Exception as exc:
            raise fail(rel, f"not a readable .npz ({type(exc).__name__}: {exc})") from None
        shapes = {k: list(a.shape) for k, a in arrays.items()}
        if shapes != entry["arrays"] or any(a.dtype != np.float64 for a in arrays.values()):
            raise fail(rel, f"arrays do not match {MANIFEST} (got {shapes})")
        case = Case(
            entry["op"],
            entry["case"],
            entry["params"],
            {k[3:]: a for k, a in arrays.items() if k.startswith("in_")},
            tuple(entry["tags"]),
            entry.get("profile", profiles.DEFAULT),
        )
        by_op.setdefault(case.op, []).append(
            (case, {k[4:]: a for k, a in arrays.items() if k.startswith("out_")})
        )
    return by_op


# ---- helpers ---------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _locked_sha256() -> str | None:
    try:
        return json.loads(LOCK_FILE.read_text())["manifest_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(paths.ROOT).as_posix()
    except ValueError:
        return str(path)
