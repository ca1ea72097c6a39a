"""Likely causes: the mistake catalogue, the reference building blocks it mutates, the engine."""
