"""One grading process of a bulk run: ``python -m harness.deploy.worker grade PATH ...``.

The same as ``python -m harness grade``, except that SIGTERM (the bulk run's time limit)
unwinds the grade instead of killing the process outright, so the sandbox's clean-up runs
and the submission's own process group is killed with it; and it makes itself undumpable
before anything else (``privileges.undumpable``): the hidden seed arrives in its environment,
which a sandboxed child of the same user, its own or another student's, could otherwise read
in ``/proc/PID/environ``.
"""

from __future__ import annotations

import signal
import sys


def _stop(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    from harness.sandbox.privileges import undumpable

    undumpable()
    signal.signal(signal.SIGTERM, _stop)
    from harness import grade

    if argv[:1] != ["grade"]:
        raise SystemExit("usage: python -m harness.deploy.worker grade PATH [grade options]")
    return grade.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
