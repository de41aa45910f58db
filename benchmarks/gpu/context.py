"""What every job receives: a Context (output folder, dry run or not, the run's deadline and
its results) and a Deadline for its own stage. Nothing here is module state: the driver
(benchmarks/gpu/__main__.py) makes one Context per run and passes it to each job."""
import dataclasses
import json
import os
import time
import traceback


class OutOfTime(Exception):
    """A stage's (or the run's) time budget is spent; what was measured so far is kept."""


class Deadline:
    """A point on the monotonic clock: ``left()`` seconds, ``check()`` raises OutOfTime."""

    def __init__(self, at):
        self.at = at

    def left(self):
        return self.at - time.monotonic()

    def check(self):
        if self.left() < 0:
            raise OutOfTime("stage budget spent")


def log(*parts):
    print(*parts, flush=True)


@dataclasses.dataclass
class Context:
    out: str                    # results.json, summary.md, bench.csv, verify.txt, train/ go here
    dry_run: bool               # no GPU: kernels through the CPU emulator, training CPU vs CPU
    deadline: Deadline          # the whole run's
    results: dict = dataclasses.field(default_factory=lambda: {"stages": {}})

    @property
    def device(self):
        """The device the jobs train and time on: "cuda", or "cpu" in a dry run."""
        return "cpu" if self.dry_run else "cuda"

    def stage(self, name):
        """The record of a stage that already ran ({} if it did not)."""
        return self.results["stages"].get(name, {})

    def verified(self, kernel, version):
        """True when verify passed (kernel, version) in float32 and float64."""
        verdict = self.stage("verify").get("verdict", {})
        return all(verdict.get(f"{kernel} {version} {dt}", {}).get("pass")
                   for dt in ("float32", "float64"))

    def path(self, *names):
        return os.path.join(self.out, *names)

    def save(self):
        with open(self.path("results.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)

    def run_stage(self, name, job, budget):
        """Run ``job(ctx, rec, deadline)`` with ``budget`` seconds (inside the run's deadline):
        its record gets "status" (ok, partial: out of time, error: the traceback, or
        skipped) and "seconds"; results.json is rewritten after every stage."""
        t0 = time.monotonic()
        if self.deadline.left() < 5:
            self.results["stages"][name] = {"status": "skipped", "reason": "total budget spent"}
            log(f"== {name}: skipped (total budget spent)")
            self.save()
            return
        deadline = Deadline(min(t0 + budget, self.deadline.at))
        log(f"== {name} (budget {deadline.left():.0f} s)")
        rec = self.results["stages"][name] = {"status": "ok"}
        try:
            job(self, rec, deadline)
        except OutOfTime as e:
            rec.update(status="partial", reason=str(e))
        except Exception:           # noqa: BLE001 - recorded; the next stage still runs
            rec.update(status="error", error=traceback.format_exc()[-3000:])
            log(rec["error"])
        rec["seconds"] = round(time.monotonic() - t0, 1)
        log(f"   {name}: {rec['status']} in {rec['seconds']} s")
        self.save()
