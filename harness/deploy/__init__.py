"""Deployment: grading where students and instructors are, never trusting files a student can edit.

``annotate`` and ``classroom`` turn a report into what GitHub Actions and GitHub Classroom
read (``python -m harness ci``); ``gradescope_bundle`` builds and runs the Gradescope
autograder zip (``python -m harness gradescope``); ``archives``, ``worker``, ``bulk``,
``gradebook`` and ``class_report`` grade a whole class (``python -m harness bulk``).
``grade_argv`` turns parsed grade options back into arguments for a grading subprocess.
"""
from __future__ import annotations

import argparse

FLAG_PREFIX = "flagged for review"
"""How a check that asks a person to look starts its message (``harness.checks.integrity.REVIEW``)."""


def grade_argv(args: argparse.Namespace, *, skip: tuple[str, ...] = ("hidden_seed",)) -> list[str]:
    """The grade options in ``args`` that differ from their defaults, as command-line arguments.

    Works from ``cli.add_grade_options`` itself, so an option added there later is passed on
    too. ``hidden_seed`` is skipped by default: it travels in the environment, not on a
    command line that other users of the machine can read in ``/proc``.
    """
    from harness.cli import add_grade_options
    probe = argparse.ArgumentParser(add_help=False)
    add_grade_options(probe)
    argv: list[str] = []
    for action in probe._actions:
        if not action.option_strings or action.dest in skip or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value == action.default or value is None:
            continue
        flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") else action.option_strings[0]
        if isinstance(action, argparse._StoreTrueAction):
            argv.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv
