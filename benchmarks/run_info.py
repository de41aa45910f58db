"""The header line every benchmark prints: date, commit, CPU, threads and load."""
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def commit():
    """The short commit of the repository, "+ uncommitted changes" when the tree differs."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + (" (+ uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def run_info():
    """Date, commit, CPU model, threads and load: every benchmark records where it came from."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}, commit {commit()}, {cpu}, "
            f"{os.cpu_count()} logical CPUs, {numba.get_num_threads()} Numba threads, "
            f"load average {os.getloadavg()[0]:.1f} at start")
