"""``python -I -m harness.child CONFIG``: the sandboxed child (see ``harness.child.serve``)."""

import sys

from harness.child.serve import main

main(sys.argv)
