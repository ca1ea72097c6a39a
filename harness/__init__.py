"""Autograder for the "LeNet from scratch in numpy" assignment."""

__version__ = "0.1.0"
