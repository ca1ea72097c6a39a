"""Shared foundations: paths, the result model, canonical ops and their windows, tolerances,
array modules, loading, the grader's revision."""
