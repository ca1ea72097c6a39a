"""Running untrusted code: the child's life cycle, privileges, process trees, bounded file reads."""
