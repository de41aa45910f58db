"""The CUDA emulation suite again, with the kernels built under AddressSanitizer and
UndefinedBehaviorSanitizer (kernels/emulator/harness.py, TINYSR_EMU_SANITIZE=1).

On a GPU an out-of-bounds read usually returns garbage silently, an out-of-bounds write
corrupts a neighbour, and a 16-byte vector load from a misaligned shared-memory address
faults; the plain emulation can miss all three (x86 tolerates misaligned loads, and a
stray read of a neighbouring buffer may still give a passing result). Under the
sanitizers every access to NumPy's buffers, to the __shared__ tiles and to the register
arrays is checked, and every Vec16 load for its 16-byte alignment: the first violation
stops the run with the kernel, the source line and the stack.

The child process needs libasan preloaded (Python itself is not instrumented); without
g++'s libasan this skips.
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def _libasan():
    if shutil.which("g++") is None or not sys.platform.startswith("linux"):
        return None
    path = subprocess.run(["g++", "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def test_emulation_suite_under_asan_and_ubsan(capsys):
    libasan = _libasan()
    if libasan is None:
        pytest.skip("needs g++ with AddressSanitizer (libasan) on Linux")
    with tempfile.TemporaryDirectory() as logs:
        env = dict(os.environ, TINYSR_EMU_SANITIZE="1", LD_PRELOAD=libasan,
                   ASAN_OPTIONS=f"detect_leaks=0:log_path={logs}/asan",
                   UBSAN_OPTIONS=f"print_stacktrace=1:log_path={logs}/ubsan")
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-x", "-s", "-p",
             "no:cacheprovider",
             str(REPO / "tests" / "test_cuda_emulation.py")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
        reports = "".join(p.read_text(errors="replace")[:6000]
                          for p in sorted(pathlib.Path(logs).iterdir()))
    out = proc.stdout + proc.stderr
    summary = [line.strip("= ") for line in out.splitlines()
               if " passed" in line or " failed" in line]
    with capsys.disabled():
        print("\n[sanitized emulation] test_cuda_emulation.py under ASan + UBSan: "
              + (summary[-1] if summary else "(no summary)"))
    assert proc.returncode == 0 and not reports, (
        f"the emulation suite under ASan/UBSan exited {proc.returncode}\n"
        f"sanitizer reports:\n{reports or '(none)'}\noutput tail:\n{out[-6000:]}")
