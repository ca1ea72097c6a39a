"""Running untrusted code: the child's life cycle, validating its replies, privileges, process
trees, bounded file reads, finding a submission's functions."""
