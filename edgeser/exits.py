"""The exit codes of every ``edgeser`` command (README, "Exit codes").

* ``OK`` 0 — done;
* ``FAILED`` 1 — the work ran and its verdict is negative: a check failed (ops off the Edge
  TPU, over the memory or latency budget, a board memory overflowed) or a tool that was
  run reported a failure (the compiler);
* ``BAD_INPUT`` 2 — bad usage or input: a missing or malformed argument, an unreadable or
  invalid file (recipe, audio, model, corpus, run folder), a missing optional tool;
* ``INTERRUPTED`` 130 — Ctrl-C; what finished is kept.
"""

OK = 0
FAILED = 1
BAD_INPUT = 2
INTERRUPTED = 130
