"""The training check in the grader (``train.lenet``, ``train.cs231n``): wiring, verdict, per-op timings, metrics, figures."""
