"""The train.lenet check in the grader: wiring, verdict, per-op timings, metrics, figures."""
