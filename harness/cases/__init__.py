"""Cases and their expected values: case catalogue, fixtures, the trusted reference run."""
