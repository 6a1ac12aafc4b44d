"""Process exit codes: the CLI's contract with scripts (DESIGN.md)."""

DONE = 0
FAILED = 1
USAGE = 2
PARTIAL = 3
INTERRUPTED = 130
