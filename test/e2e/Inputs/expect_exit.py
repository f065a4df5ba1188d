#!/usr/bin/env python3
"""expect_exit.py CODE COMMAND...: runs COMMAND, passes its stdout and stderr through,
and succeeds only if it exited with exactly CODE (a signal or another code fails,
unlike `not`, which accepts any non-zero code)."""
import subprocess
import sys

expected = int(sys.argv[1])
proc = subprocess.run(sys.argv[2:], capture_output=True)
sys.stdout.buffer.write(proc.stdout)
sys.stdout.flush()
sys.stderr.buffer.write(proc.stderr)
sys.stderr.flush()
if proc.returncode != expected:
    sys.stderr.write("expect_exit.py: exit status %d, expected %d\n" % (proc.returncode, expected))
    sys.exit(1)
