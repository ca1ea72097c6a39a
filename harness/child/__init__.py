"""The sandboxed child's runtime: protocol loop, audit hook, training loop. Holds no reference math."""
