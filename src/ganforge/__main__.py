"""``python -m ganforge`` runs the CLI.

A torchrun worker (``train --nproc K`` starts its workers as ``python -m ganforge``) leaves through
``os._exit`` once its output is flushed: with gloo, a worker that had finished, written its summary and
destroyed its process group still died at interpreter teardown, now and then, with "terminate called
without an active exception" (SIGABRT; 2 of 6 runs of tests/train/test_distributed.py on an idle CPU,
1 of 4 with the code before this change). Everything it writes (checkpoints, logs, the summary) is
written and closed before ``main`` returns.
"""

import os
import sys

from ganforge.cli import main

if __name__ == "__main__":
    status = main()
    if "TORCHELASTIC_RUN_ID" in os.environ and "LOCAL_RANK" in os.environ:  # a torchrun worker
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    raise SystemExit(status)
