"""The grader's own numbers for the training check (every family): held-out scores, and one replayed iteration.

Invariant: nothing the training child reports decides points by itself. The child returns
the parameters it trained; the grader

* scores the held-out digits itself, with the reference's forward passes on those parameters
  (``scores``): the child never sees the held-out labels, and whatever it claims of its
  accuracy is not read;
* replays iteration ``TrainConfig.replay_at`` (``replay``) from the parameters and momentum the
  child returned for its start: forward, loss and backward by the submission's own functions,
  each call a request to the sandbox like a unit check's (``Sandbox.call``, one child for the
  iteration), the provided functions as the reference's, in the grader, and the SGD update by
  the training loop's own code (``training.Run.step``). The result must equal the parameters
  the child returned after that iteration, to ``REPLAY_RTOL``.

What this does not prove: that the iterations after the replayed one used the same functions
(a child that trained on with a hidden faster copy would pass). It proves that the submission's
graded functions compute the training's update, and that the accuracy is the grader's.
"""

from __future__ import annotations

import numpy as np

from harness.child import training

REPLAY_RTOL = 1e-6
"""Largest difference between the replayed and the returned parameters, relative to the
largest parameter of the layer. The replay calls the same deterministic functions on the same
arrays, so a genuine run agrees to the last bits (read-only views versus copies as arguments
do not change a result); 1e-6 leaves room for BLAS threading order and nothing else."""

REPLAY_GROUP = "task:replay"
"""The sandbox child that serves the replayed iteration's calls."""


class ReplayError(Exception):
    """The replay could not run: a function failed or returned something unusable."""


class _Unusable:
    """An output the sandbox refused; the training loop reports it if it needs it (``what``)."""

    def __init__(self, what: str):
        self.what = what


def reference_net(prof, network=None) -> training.Net:
    """A ``Net`` of ``network`` (LeNet by default) over the reference's functions, in the grader's own process."""
    from harness.cases import reference

    return training.Net(reference.caller(prof), network=network)


def scores(
    prof, params: dict, x_eval: np.ndarray, config: training.TrainConfig, sb=None, provided=()
) -> np.ndarray:
    """(10, m) class scores of the held-out digits: the reference's forward of the config's network on ``params``.

    In the student kit, which holds no reference (``reference.HOLDS_SOLUTION`` false), the
    submission's own forward passes in the sandbox ``sb`` score them instead: the kit runs on the
    student's own runner, where the grade of record is not decided."""
    from harness.cases import reference

    if reference.HOLDS_SOLUTION or sb is None:
        net = reference_net(prof, config.net)
    else:
        net = training.Net(_sandbox_call(sb, prof, provided), network=config.net)
    return training.held_out_scores(net, params, x_eval, config.eval_batch)


def _sandbox_call(sb, prof, provided):
    ref = (
        reference_net(prof).call if provided else None
    )  # the provided functions: the reference's, in the grader

    def call(op_name, params, arrays):
        name = prof.FUNCTIONS[op_name]
        if ref is not None and name in provided:
            return ref(op_name, params, arrays)
        reply = sb.call(op_name, params, arrays, group=REPLAY_GROUP)
        if not reply.ok:
            raise ReplayError(f"{name} {reply.status}: {reply.error}")
        return {k: v.array if v.array is not None else _Unusable(v.problem) for k, v in reply.outputs.items()}

    return call


def replay(sb, prof, provided, outcome: training.TrainOutcome, config, x_train, y_train) -> str:
    """'' when iteration ``replay_at`` recomputed with the submission's functions gives the
    parameters the child returned after it; else why not, for the student."""
    state = outcome.replay
    it = state.get("iteration")
    if it != config.replay_at:
        return f"the training returned no state for iteration {config.replay_at + 1}"
    batch = next(b for i, b in enumerate(training.batch_order(config, len(y_train))) if i == it)
    run = training.Run(_sandbox_call(sb, prof, provided), x_train[:, :0], config, None, lambda: 0.0)
    run.params = {layer: {k: p[k].copy() for k in ("w", "b")} for layer, p in state["before"].items()}
    run.inc = {layer: {k: p[k].copy() for k in ("w", "b")} for layer, p in state["momentum"].items()}
    try:
        with np.errstate(all="ignore"):
            run.step(it, np.ascontiguousarray(x_train[:, batch]), np.asarray(y_train[batch]))
    except ReplayError as exc:
        return f"replaying iteration {it + 1} with your functions failed: {exc}"
    except (training.OpError, training.Stop) as exc:
        return f"replaying iteration {it + 1} with your functions failed: {exc or 'a non-finite value'}"
    for layer, after in state["after"].items():
        for k in ("w", "b"):
            got, claimed = run.params[layer][k], after[k]
            scale = max(float(np.abs(claimed).max()), 1e-12)
            if not np.all(np.abs(got - claimed) <= REPLAY_RTOL * scale):
                return (
                    f"the parameters the training returned do not follow from your functions: "
                    f"iteration {it + 1} replayed with them gives another {layer} {k} "
                    f"(largest difference {float(np.nanmax(np.abs(got - claimed))):.3g})"
                )
    return ""
