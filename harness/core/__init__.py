"""Shared foundations: paths, the result model, canonical ops, tolerances, array modules, loading."""
