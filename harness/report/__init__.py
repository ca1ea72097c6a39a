"""Renderers of the one result model (``harness.core.model.GradeReport``).

``terminal`` (text), ``gradescope`` (results.json), ``markdown`` (CI summary) and ``html`` (the
parts pytest-html draws) each render the same report; JUnit XML and the HTML page come from a
pytest session replaying it (``plugin``). ``files.write_all`` writes every file at once.

This ``__init__`` imports nothing: each module imports the siblings it uses, so importing one
renderer never runs the others and no module of the package imports itself back through it.
"""
