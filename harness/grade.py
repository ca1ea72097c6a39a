"""Grade one submission: run the check catalogue in a sandbox and score it with the rubric."""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from harness import profiles
from harness.cases import catalogue as cases
from harness.cases import families, fixtures, reference
from harness.checks import catalogue as checks
from harness.checks import gradcheck
from harness.checks import rubric as rubric_mod
from harness.checks.catalogue import CaseOutcome, CheckSpec
from harness.child import protocol
from harness.core import compare, device, mnist, revision, seeds
from harness.core.model import CheckResult, GradeReport, Status
from harness.core.ops import OPS
from harness.options import Options
from harness.report.common import REPRODUCE
from harness.sandbox import interpreter, landlock, walls
from harness.sandbox.budget import Budget
from harness.sandbox.process import Sandbox
from harness.sandbox.replies import Reply
from harness.sandbox.submission import Submission, SubmissionError, detect, locate
from harness.training import check as training_check
from harness.training import speed

NO_ESTIMATE_IN_KIT = (
    "no speed estimate in the student kit (it holds no reference to time your layers against); "
    "the course's grader makes one"
)
"""Said by a kit's grade with training, and by its ``speed`` command (exit 2: cannot tell)."""
HIDDEN_REPRODUCE = " (with the course's hidden seed in $HARNESS_HIDDEN_SEED)"
"""Ends a hidden check's reproduce line: the seed itself never goes into a report."""

# A failure that spoils every later call of the same function: stop calling it.
FATAL = (protocol.TIMEOUT, protocol.CRASHED, protocol.MEMORY)
INTEGRITY_RESERVE_S = 30.0
"""Seconds of the grade's time limit kept for the integrity probes after training."""


class Grader:
    """Runs the checks of one submission; every verdict comes back as a CheckResult."""

    def __init__(self, submission: Submission, options: Options, rubric: rubric_mod.Rubric):
        self.submission = submission
        self.options = options
        self.rubric = rubric
        self.profile = profiles.get(options.profile)
        self.broken: dict[str, Reply] = {}  # op -> the fatal reply that ended its calls
        self.reproduce_path = options.reproduce_as or str(submission.path)
        self.editions, self.mismatched = profiles.editions(self.profile, submission.parameters)
        self.syntax_shown: dict[str, str] = {}  # 'file line N' -> the check whose details show it

    # -- calls ------------------------------------------------------------------------
    def call(self, sb: Sandbox, op: str, case, after: bool = False) -> Reply:
        if op in self.broken:
            return self.broken[op]
        reply = sb.call(op, case.params, case.arrays, after=after, timeout=self.options.timeout)
        if reply.status in FATAL:
            earlier = dataclasses.replace(
                reply, error=f"{reply.error} (in an earlier case; not called again)"
            )
            self.broken[op] = earlier
        return reply

    def missing(self, op: str) -> str:
        """Why a function cannot be called at all, or ''."""
        fn = self.profile.FUNCTIONS[op]
        sub = self.submission
        if fn not in sub.functions:
            why = f"not implemented: {fn} is not defined in the submission"
            if sub.syntax_errors:  # its def line may be what does not compile
                why += f" (found by scanning {', '.join(sorted(sub.syntax_errors))}, which does not compile)"
            return why
        if fn in sub.function_errors:
            return sub.function_errors[fn]
        if fn in self.mismatched:
            return f"not called: {self.mismatched[fn]}"
        file = sub.functions[fn]
        if file in sub.syntax_errors:  # its module, where no def line of it was found
            head, _, source = sub.syntax_errors[file].partition("\n")
            where, _, msg = head.partition(": ")
            return (
                f"{file} does not compile ({where}): {msg}\n"
                f"{where} (no def line of {fn} found in it; the file must compile first): {msg}\n{source}"
            ).rstrip()
        return ""

    def not_called(self, spec: CheckSpec, why: str) -> CheckResult:
        """The result of a check whose function cannot be called: a file that does not compile
        shows each line at fault once (a function's own, or the file's first), in the first
        check that meets it; the others point there."""
        file = self.submission.functions.get(spec.function, "")
        if file not in self.submission.syntax_errors:
            return self.result(spec, [CaseOutcome("-", False, why, error=why)], 0.0)
        head, _, source = why.partition("\n")
        where = source.split(":", 1)[0]  # "line 12, in f" (its own line) or "line 12 (outside f ...)"
        line = f"{file} {where.split(',')[0].split(' (')[0]}"
        if ", in " in where:  # a function's own error: shown for it, and where the file's line is meant
            first = self.syntax_shown.setdefault(f"{line} {spec.function}", spec.id)
            self.syntax_shown.setdefault(line, first)
        else:
            first = self.syntax_shown.setdefault(line, spec.id)
        if first != spec.id:
            head = f"{head} (shown under {first})"
            source = ""
        return CheckResult(
            spec.id,
            Status.ERROR,
            message=head[:300],
            details=source,
            function=spec.function,
            hidden=spec.kind == "hidden",
        )

    # -- cases ------------------------------------------------------------------------
    def wanted(self, case) -> bool:
        if self.options.case and case.name != self.options.case:
            return False
        return not set(case.tags) & set(self.rubric.exclude_tags)

    def fixture_cases(self, op: str) -> list:
        return [(c, e) for c, e in fixtures.load(op, profile=self.profile.NAME) if self.wanted(c)]

    def hidden_cases(self, op: str) -> list:
        seed = self.options.hidden_seed
        if seed is None:  # grade() drops the hidden checks then: reaching here is a bug of ours
            raise ValueError("hidden cases asked for without a hidden seed")
        return self.random_cases(op, seed)

    def random_cases(self, op: str, seed: int) -> list:
        found = [c for c in families.random_cases(seed, self.profile.NAME) if c.op == op and self.wanted(c)]
        return [(c, cases.expected(c)) for c in found]

    # -- the checks of one operation ----------------------------------------------------
    def run_op(self, sb: Sandbox, op_name: str, specs: list[CheckSpec]) -> list[CheckResult]:
        op = OPS[op_name]
        why = self.missing(op_name)
        if why:
            return [self.not_called(s, why) for s in specs]
        results = []
        fixture_replies: dict = {}
        for spec in specs:
            start = time.perf_counter()
            if spec.kind in ("fixture", "hidden"):
                hidden = spec.kind == "hidden"
                pool = self.hidden_cases(op_name) if hidden else self.fixture_cases(op_name)
                outcomes = []
                for case, expected in pool:
                    key = (spec.kind, case.name)
                    if key not in fixture_replies:
                        fixture_replies[key] = self.call(sb, op_name, case)
                    outcomes.append(
                        checks.judge_value(
                            op,
                            case,
                            spec.output,
                            fixture_replies[key],
                            expected[spec.output],
                            hidden=hidden,
                            profile=self.profile,
                        )
                    )
                    if (
                        op.accuracy and spec.output == op.value
                    ):  # a loss's value check judges its accuracy too
                        outcomes[-1] = self.with_percent(
                            op, case, fixture_replies[key], expected, outcomes[-1]
                        )
            elif spec.kind == "gradcheck":
                outcomes = []
                for case, _ in self.random_cases(op_name, self.options.seed):
                    # one stream per case: its directions do not depend on how the cases before
                    # it went (the student kit recorded the reference's answers along them)
                    rng = seeds.stream(self.options.seed, "gradcheck", spec.id, case.name)
                    reply = self.call(sb, op_name, case)
                    outcomes.append(checks.gradcheck_outcome(op, case, spec.output, reply, rng, self.profile))
            else:
                # One plain case (no padding), non-square where there is one: a swapped
                # height and width shows, and padding is left to the value checks.
                pool = sorted(
                    self.fixture_cases(op_name),
                    key=lambda ce: (
                        ce[0].params.get("pad", 0) > 0,
                        ce[0].params.get("h") == ce[0].params.get("w"),
                    ),
                )[:1]
                outcomes = []
                for case, _ in pool:
                    first = self.call(sb, op_name, case, after=True)
                    again = case
                    if getattr(self.profile, "STATEFUL", False):  # after leftovers of other calls
                        again = dataclasses.replace(case, params={**case.params, "replay": 1})
                    second = self.call(sb, op_name, again) if first.ok else first
                    outcomes = checks.property_outcomes(op, case, first, second, profile=self.profile)
            results.append(self.result(spec, outcomes, time.perf_counter() - start))
        return results

    def with_percent(self, op, case, reply: Reply, expected: dict, outcome: CaseOutcome) -> CaseOutcome:
        if not outcome.ok:
            return outcome
        pct = checks.judge_value(op, case, op.accuracy, reply, expected[op.accuracy], profile=self.profile)
        if pct.ok and pct.numbers.get("accepted_as"):  # say which accuracy scale was seen
            outcome.numbers = {**outcome.numbers, "accepted_as": pct.numbers["accepted_as"]}
            outcome.scales = {**outcome.scales, **pct.scales}
        return pct if not pct.ok else outcome

    # -- one CheckResult from its cases ---------------------------------------------------
    def result(self, spec: CheckSpec, outcomes: list[CaseOutcome], seconds: float) -> CheckResult:
        hidden = spec.kind == "hidden"
        outcomes = checks.hold_scales(outcomes)  # an accepted scale counts where the check shows it
        total = len(outcomes)
        passed = sum(o.ok for o in outcomes)
        failing = [o for o in outcomes if not o.ok]
        output = "\n".join(dict.fromkeys(o.output for o in outcomes if o.output))[-4000:]
        if not total:
            return CheckResult(
                spec.id,
                Status.SKIP,
                message="no cases selected",
                function=spec.function,
                hidden=hidden,
                duration=seconds,
            )
        if not failing:
            what = "properties hold" if spec.kind == "properties" else "cases pass"
            # Where the contract leaves a scale open, say which one the submission uses.
            scales = sorted({o.numbers["accepted_as"] for o in outcomes if o.numbers.get("accepted_as")})
            return CheckResult(
                spec.id,
                Status.PASS,
                message=f"all {total} {what}" + (f" ({'; '.join(scales)})" if scales else ""),
                function=spec.function,
                cases_passed=passed,
                cases_total=total,
                output=output,
                hidden=hidden,
                duration=seconds,
                numbers=_worst_numbers(outcomes),
            )
        first = failing[0]
        status = Status.ERROR if all(o.error for o in failing) else Status.FAIL
        if first.case == "-":  # never called: not defined, or its file does not compile
            message = first.error
        elif first.error == checks.NOT_IMPLEMENTED:
            message = f"not implemented ({spec.function} raises NotImplementedError)"
        else:
            noun = "properties fail" if spec.kind == "properties" else "cases fail"
            where = "" if spec.kind == "properties" else f" (case {first.case})"
            message = f"{len(failing)} of {total} {noun}; first{where}: {first.message}"
        lines = [*("  " + f for f in first.facts)]
        if first.hint:
            lines.append(f"  hint (likely cause): {first.hint}")
        if first.traceback:
            lines.append(
                "  your traceback:\n" + "\n".join("    " + line for line in first.traceback.splitlines())
            )
        others = [f"  case {o.case}: {o.message}" for o in failing[1:6]]
        if others and status is Status.FAIL:
            lines += ["  other failing cases:", *others]
        case_opt = f" --case {first.case}" if spec.kind in ("fixture", "hidden") and first.case != "-" else ""
        lines.append(
            f"  {REPRODUCE}python -m harness grade {self.reproduce_path} --only {spec.id}{case_opt}"
            + (HIDDEN_REPRODUCE if hidden else "")
        )
        return CheckResult(
            spec.id,
            status,
            message=message.splitlines()[0][:300],
            details="\n".join(lines),
            hint=first.hint,
            function=spec.function,
            cases_passed=passed,
            cases_total=total,
            numbers={**first.numbers, "case": first.case},
            output=output,
            hidden=hidden,
            duration=seconds,
        )


def _worst_numbers(outcomes: list[CaseOutcome]) -> dict:
    errs = [e for o in outcomes if (e := o.numbers.get("max_abs")) is not None]
    return {"max_abs": max(errs)} if errs else {}


def edition_text(profile, submission: Submission) -> str:
    """Which edition of the family's contract the submission's functions were written for
    (provenance ``edition``): ``current``, or each function's that differs; '' for a family of one edition."""
    chosen, mismatched = profiles.editions(profile, submission.parameters)
    if not chosen and not mismatched:
        return ""
    current = getattr(profile, "CURRENT", "")
    other = {f: e for f, e in sorted(chosen.items()) if e != current}
    parts = [f"{f}: {e}" for f, e in other.items()] + [f"{f}: none fits" for f in sorted(mismatched)]
    return (
        current
        if not parts
        else ", ".join(parts)
        + (f"; the others {current}" if len(parts) < len(chosen) + len(mismatched) else "")
    )


def provenance(
    options: Options, rubric: rubric_mod.Rubric, note: str = "", detection: str = "", edition: str = ""
) -> dict:
    """What is needed to reproduce a report."""
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
            for i in threadpool_info()
        )
    except Exception:  # a dependency, but provenance must never fail a grade
        blas = "unknown (threadpoolctl could not inspect the BLAS)"
    try:
        fixtures_sha = fixtures.manifest_sha256()
    except OSError:
        fixtures_sha = "missing"
    return {
        **revision.identity(),
        "fixtures_version": cases.FIXTURES_VERSION,
        "fixtures_sha256": fixtures_sha,
        "profile": options.profile,
        "profile_choice": detection,
        **({"edition": edition} if edition else {}),
        "rubric": rubric.name,
        "seed": options.seed,
        "hidden_cases": options.hidden_seed is not None,
        "tolerances": (
            f"values: {compare.tolerance_text(compare.RTOL, compare.ATOL_SCALE)}; "
            f"gradient checks: rtol {gradcheck.GC_RTOL:g}"
        ),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "platform": platform.platform(),
        "device": options.device,
        "sandbox": note or "child runs as an unprivileged user",
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def grade(path: str | Path, options: Options | None = None, say=None) -> GradeReport:
    """Grade the submission at ``path``. Never raises: a harness failure is an autograder error.

    ``say(text)``, when given, hears what a student should know while the grade runs (a
    training check projected over its time limit, before the training starts).
    """
    options = options or Options()
    started = time.perf_counter()
    clock = time.monotonic()  # the grade's time limit counts from here (harness.sandbox.budget)
    try:
        options, rubric, detection = choose_profile(path, options)
        prof = profiles.get(options.profile)
    except (rubric_mod.RubricError, SubmissionError, ValueError) as exc:  # ValueError: a bad mapping file
        return GradeReport(str(path), (), revision.identity(), autograder_error=str(exc))
    try:
        child_python = _child_python(options, rubric)
    except interpreter.InterpreterError as exc:
        return GradeReport(
            str(path), (), provenance(options, rubric, "", detection), autograder_error=str(exc)
        )
    try:
        submission = locate(path, prof.MODULES)
        fixtures.load(next(iter(OPS)))  # verifies every fixture file against the manifest
        data = training_check.load_data(options) if wants_training(options, rubric) else None
    except (SubmissionError, fixtures.FixtureError, mnist.MnistError) as exc:
        return GradeReport(
            str(path), (), provenance(options, rubric, "", detection), autograder_error=str(exc)
        )
    results, notices = [], [f"assignment family: {options.profile} ({detection})"]
    edition = edition_text(prof, submission)
    if edition and edition != getattr(prof, "CURRENT", ""):
        notices.append(f"edition of the assignment's calls: {edition}")
    if child_python is not None:
        notices.append(f"the submission ran under {child_python.describe()}")
    specs = checks.catalogue(prof.FUNCTIONS)
    if options.hidden_seed is None:
        specs = [s for s in specs if s.kind != "hidden"]
    kinds = {s.id: s.kind for s in specs}
    try:
        budget = Budget(options.grade_time_limit, options.function_time_budget, started=clock)
        with Sandbox(
            submission,
            options.limits,
            options.profile,
            device=options.device,
            budget=budget,
            python=child_python,
        ) as sb:
            note = sb.user_note
            walls_note = sb.walls_note
            if not landlock.abi():
                notices.append(walls.NO_LANDLOCK)
            grader = Grader(submission, options, rubric)
            for op_name in prof.FUNCTIONS:
                op_specs = [s for s in specs if s.op == op_name and rubric_mod.selected(s.id, options.only)]
                provided = [s for s in op_specs if s.function in rubric.provided]
                for s in provided:
                    results.append(
                        CheckResult(
                            s.id,
                            Status.SKIP,
                            message=f"{s.function} is provided by "
                            f"the course ({rubric.name} profile): not graded",
                            function=s.function,
                        )
                    )
                todo = [s for s in op_specs if s.function not in rubric.provided]
                if todo:
                    results.extend(grader.run_op(sb, op_name, todo))
            if rubric.provided:
                notices.append(f"provided by the course, not graded: {', '.join(rubric.provided)}")
            extra_checks(sb, submission, options, rubric, results, notices, kinds, data, say)
    except Exception:  # a bug of ours: never a silent zero for the student
        return GradeReport(
            str(path),
            tuple(results),
            provenance(options, rubric, "", detection),
            autograder_error="the grader failed:\n" + traceback.format_exc(),
        )
    scored = rubric_mod.score(rubric, results, kinds, {s.id: s.gated_by for s in specs})
    prov = provenance(options, rubric, note, detection, edition)
    prov["walls"] = walls_note
    if child_python is not None:  # the grader's own versions stay under python / numpy
        prov.update(child_python=child_python.python, child_numpy=child_python.numpy)
    prov["seconds"] = round(time.perf_counter() - started, 2)
    return GradeReport(str(path), tuple(scored), prov, notices=tuple(notices))


def _child_python(options: Options, rubric: rubric_mod.Rubric) -> interpreter.ChildPython | None:
    """The interpreter the child runs under (``--child-python``, else the rubric's ``python``),
    probed; None: the grader's own. Raises InterpreterError saying what to do."""
    chosen = options.child_python or rubric.python
    return interpreter.probe(chosen) if chosen else None


def choose_profile(path, options: Options) -> tuple[Options, rubric_mod.Rubric, str]:
    """The assignment family to grade ``path`` as, its rubric, and why that family.

    ``--profile NAME`` wins; else a rubric naming its ``family``; else detection from the
    submission's files (``submission.detect``). Without ``--rubric`` the family's default
    rubric is used. A rubric of another family is a usage error (its function names would
    match nothing: every function would score 0).
    """
    explicit = options.profile != profiles.AUTO
    rubric = rubric_mod.load(options.rubric) if options.rubric else None
    if explicit:
        name, why = options.profile, "chosen with --profile"
        try:
            looks, looks_why = detect(path)
        except SubmissionError:
            looks = name
        if looks != profiles.get(name).NAME:  # graded as asked, but say what the files look like
            why += f"; the files look like the {looks} family ({looks_why})"
    elif rubric is not None and rubric.family:
        name, why = rubric.family, f"the family of rubric {rubric.name}"
    else:
        name, why = detect(path)
    prof = profiles.get(name)
    if rubric is None:
        rubric = rubric_mod.load(prof.DEFAULT_RUBRIC)
    family = rubric.family or profiles.DEFAULT
    if family != prof.NAME:  # a mapping file (``--profile my_course.toml``) is of its family
        raise rubric_mod.RubricError(
            f"rubric {rubric.name} ({rubric.path}) grades the {family} family, but the submission is "
            f"graded as {name} ({why}): pass a rubric of the {name} family, or --profile {family}"
        )
    return dataclasses.replace(options, profile=name), rubric, why


def wants_training(options: Options, rubric: rubric_mod.Rubric) -> bool:
    """The family has a training check, the rubric gives it points, and it was not left out."""
    check = training_check.check_id(options.profile)
    return bool(options.train and check in rubric.points and rubric_mod.selected(check, options.only))


def extra_checks(sb, submission, options, rubric, results, notices, kinds, data=None, say=None) -> None:
    """Checks beyond the per-function catalogue (training; integrity flags).

    The integrity flags run whatever happened before them (an exception of the training
    check included: the grade is then an autograder error that still carries the flags).
    """
    try:
        if wants_training(options, rubric):
            check = training_check.network(options).check_id
            estimate = None
            if not reference.HOLDS_SOLUTION:  # the student kit: no reference to time against
                notices.append(f"{check}: {NO_ESTIMATE_IN_KIT}")
            elif options.device == device.CPU:  # the estimate times the CPU's numpy: not a GPU's training
                estimate = speed.estimate(sb, options, rubric)  # before training: said up front if too slow
                options = _course_budget(estimate, options, rubric, notices)
                limit_s = training_check.config_from(options, rubric).time_limit_s  # option, else rubric
                estimate = dataclasses.replace(estimate, limit_s=limit_s)
                if estimate.too_slow or estimate.close:
                    notices.append(f"{check} {speed.summary(estimate)}")
                    if say is not None:
                        say(f"{check}: {speed.summary(estimate)}\n" + speed.advice(estimate))
            trained = training_check.run(
                sb, submission, _fit_training(options, rubric, sb.budget), rubric, data
            )
            if estimate is not None:
                trained = dataclasses.replace(trained, extra={**trained.extra, "speed": estimate.to_dict()})
            results.append(trained)
            kinds[check] = "train"
            if results[-1].extra.get("device_note"):
                notices.append(f"{check} {results[-1].extra['device_note']}")
    finally:
        from harness.checks import integrity  # last: it judges what every check saw, and ends every process

        flags, flag_notices = integrity.run(sb, submission, options, rubric, results)
        results.extend(flags)
        notices.extend(flag_notices)
        kinds.update({f.id: "integrity" for f in flags})


def _fit_training(options: Options, rubric: rubric_mod.Rubric, budget: Budget) -> Options:
    """The options with the training's time limit cut to what is left of the grade's
    (less the final evaluation's margin and a reserve for the integrity probes)."""
    left = budget.left() - training_check.EVAL_MARGIN_S - INTEGRITY_RESERVE_S
    if left >= training_check.config_from(options, rubric).time_limit_s:
        return options
    training = dataclasses.replace(options.training, time_limit_s=max(1.0, left))
    return dataclasses.replace(options, training=training)


def _course_budget(estimate, options: Options, rubric, notices: list) -> Options:
    """``options`` with the training limit the rubric's time budget sets (and a notice), if any."""
    budget = speed.course_budget(estimate, rubric)
    if budget is estimate:
        return options
    notices.append(
        f"{training_check.network(options).check_id} time limit: {budget.limit_s:.0f} s, {rubric.train[rubric_mod.TIME_BUDGET_FACTOR]:g} x "
        f"the reference's projected {budget.reference_projected_s:.0f} s on this machine"
    )
    return dataclasses.replace(
        options, training=dataclasses.replace(options.training, time_limit_s=budget.limit_s)
    )


def run_command(args: argparse.Namespace) -> int:
    """``python -m harness grade``: grade, write every report, print the summary; the exit status."""
    from harness.options import options_from
    from harness.report import files, terminal

    options = options_from(args)
    name = Path(args.path).resolve().name or "submission"
    out = Path(args.out) if args.out else Path("reports") / Path(name).stem
    result = grade(args.path, options, say=None if args.quiet else _say)
    written = files.write_all(result, out, html=not args.no_html)
    if args.quiet:
        print(f"{result.score:g} / {result.max_score:g}")
    else:
        print(terminal.render(result, color=sys.stdout.isatty()))
        print(f"reports: {out}/ ({', '.join(sorted(p.name for p in written.values()))})")
    return result.exit_code


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_speed(args: argparse.Namespace) -> int:
    """``python -m harness speed``: the training check's projected time; 0 within the limit, 1 over, 2 cannot tell."""
    from harness.options import options_from

    options = options_from(args)
    try:
        options, rubric, _why = choose_profile(args.path, options)
        submission = locate(args.path, profiles.get(options.profile).MODULES)
    except (rubric_mod.RubricError, SubmissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if training_check.check_id(options.profile) not in rubric.points:
        print(f"the {options.profile} assignment has no training check: there is no time budget to check")
        return 0
    if not reference.HOLDS_SOLUTION:
        print(f"error: {NO_ESTIMATE_IN_KIT}", file=sys.stderr)
        return 2
    try:
        child_python = _child_python(options, rubric)
    except interpreter.InterpreterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with Sandbox(submission, options.limits, options.profile, python=child_python) as sb:
        estimate = speed.course_budget(speed.estimate(sb, options, rubric), rubric)
    print(speed.render(estimate))
    if len(estimate.failed) == len(profiles.get(options.profile).FUNCTIONS):
        return 2
    return 1 if estimate.too_slow else 0


def main(argv: list[str]) -> int:
    """The ``grade`` command alone (``argv`` without the word ``grade``): for grading subprocesses."""
    from harness.options import add_grade_command

    p = argparse.ArgumentParser(prog="python -m harness grade")
    add_grade_command(p)
    return run_command(p.parse_args(argv))
