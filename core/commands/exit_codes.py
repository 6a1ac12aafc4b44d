"""Process exit codes: the CLI's contract with scripts (DESIGN.md)."""

DONE = 0
FAILED = 1
USAGE = 2
PARTIAL = 3
INTERRUPTED = 130
BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `cmd | head -1`
