"""The sandboxed child's runtime: protocol loop and its wire names, audit hook, training loop.
Holds no reference math.

Invariant: the child imports only the harness modules in ``RUNTIME`` (none of them holds a
graded function's math: ``harness.core.ops`` is the operations' metadata and output sizes).
The sandbox lets the child read these files and no other file of the harness
(``harness.sandbox.walls``), so an import of anything else fails in the child.
"""

RUNTIME = (
    "harness",
    "harness.child",
    "harness.child.__main__",
    "harness.child.serve",
    "harness.child.tasks",
    "harness.child.training",
    "harness.child.lenet_ops",
    "harness.child.networks",
    "harness.child.protocol",
    "harness.core",
    "harness.core.device",
    "harness.core.loader",
    "harness.core.ops",
    "harness.core.outputs",
    "harness.core.paths",
    "harness.profiles",
    "harness.profiles.cs231n",
    "harness.profiles.classapi",
    "harness.profiles.dictapi",
)
"""Every harness module the child may import."""
