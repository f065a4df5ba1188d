#!/usr/bin/env python3
"""Extracts the PTX that gpu-lower-to-nvvm-pipeline (cubin-format=isa) embedded in an
MLIR file, assembles it with ptxas for the given architecture, and prints one line per
kernel: 'ptxas ok ARCH: N registers, S bytes spill stores, L bytes spill loads'.
Exits 1 if there is no PTX or ptxas fails."""
import re
import subprocess
import sys
import tempfile

def unescape(text):
    # MLIR string escapes: \XX (two hex digits), \\ and \".
    return re.sub(r'\\([0-9A-Fa-f]{2}|\\|")',
                  lambda m: m.group(1) if m.group(1) in ('\\', '"') else chr(int(m.group(1), 16)),
                  text)

def main():
    path, arch = sys.argv[1], sys.argv[2]
    ptxas = sys.argv[3] if len(sys.argv) > 3 else '/usr/local/cuda/bin/ptxas'
    text = open(path).read()
    blobs = re.findall(r'assembly = "((?:[^"\\]|\\.)*)"', text)
    if not blobs:
        print('error: no PTX in ' + path)
        return 1
    for blob in blobs:
        with tempfile.NamedTemporaryFile('w', suffix='.ptx', delete=False) as f:
            f.write(unescape(blob))
            ptx = f.name
        proc = subprocess.run([ptxas, '-arch=' + arch, '-v', ptx, '-o', ptx + '.cubin'],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print('error: ptxas failed:\n' + proc.stderr)
            return 1
        regs = re.search(r'Used (\d+) registers', proc.stderr)
        spill = re.search(r'(\d+) bytes spill stores, (\d+) bytes spill loads', proc.stderr)
        print('ptxas ok %s: %s registers, %s bytes spill stores, %s bytes spill loads' %
              (arch, regs.group(1) if regs else '?', spill.group(1) if spill else '?',
               spill.group(2) if spill else '?'))
    return 0

sys.exit(main())
