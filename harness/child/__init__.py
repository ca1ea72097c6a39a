"""The sandboxed child's runtime: protocol loop and its wire names, audit hook, training loop.
Holds no reference math."""
