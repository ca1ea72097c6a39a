"""Autograder for the "LeNet from scratch in numpy" assignment."""

__version__ = "0.3.0"
