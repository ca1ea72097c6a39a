"""The check catalogue, gradient checks, integrity flags and the rubric's points."""
