"""Deployment: grading where students and instructors are, never trusting files a student can edit.

``annotate`` and ``classroom`` turn a report into what GitHub Actions and GitHub Classroom
read (``python -m harness ci``); ``gradescope_bundle`` builds and runs the Gradescope
autograder zip (``python -m harness gradescope``); ``archives``, ``worker``, ``bulk``,
``gradebook`` and ``class_report`` grade a whole class (``python -m harness bulk``).
"""

from __future__ import annotations

FLAG_PREFIX = "flagged for review"
"""How a check that asks a person to look starts its message (``harness.checks.integrity.REVIEW``)."""
