"""Data-parallel training and evaluation under mpiexec (tinysr.distributed).

The same global batches give the same parameters on 1, 2 and 4 ranks (4 oversubscribe this
machine's 2 cores; MPICH's hydra allows it), every rank holds the same bits, a run resumes
on another number of ranks, ``tinysr eval`` gives the one-process table, and a rank that
hangs or fails stops the job with its rank named. This file is also the worker that
mpiexec runs: ``python tests/test_distributed.py train OUT [--resume]``.

Tolerance. Each gradient is a mean over the global batch of 16: one process sums the 16
samples' terms in float32 in its kernels' order, N ranks sum B/N each and add the N partial
means in float64, rounded once to float32. The two differ by the float32 rounding of a sum,
a few ulps of the weights (|w| < 2, an ulp <= 1.2e-7) after 20 steps: measured at most
6e-8 here, and the same 6e-8 between two one-process runs that differ only in the Numba
thread count (another summation order). ATOL = 1e-6 (8 ulps at |w| = 2) leaves 15x room,
while a wrong shard, a sum instead of a mean or a missed reduction moves the weights by
1e-3 or more; the runs move the weights by over 1e-2, 10^4 ATOL.

Adam runs with eps = 1e-4: at its default 1e-8, g / (sqrt(v) + eps) turns a gradient
element that is zero to rounding (its sign set by the summation order) into a full lr-sized
step, and ONE process with 1 instead of 2 Numba threads then differs by 1.1e-4 after 20
steps, as 4 ranks do (docs/scaling.md). That is Adam's, not the reduction's.
"""
import json
import os
import signal
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

MPIEXEC = Path(sys.executable).parent / "mpiexec"
ATOL = 1e-6
STEPS, PER_EPOCH, BATCH = 20, 5, 16
SNAPSHOTS = (PER_EPOCH, STEPS)      # before the end-of-epoch parameter broadcast would mask a drift


def _why_not():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install -e \".[mpi]\")"
    if not MPIEXEC.exists():
        return f"no mpiexec beside {sys.executable} (the mpich wheel: pip install -e \".[mpi]\")"
    return None


needs_mpi = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))


# ---------------------------------------------------------------- the worker (under mpiexec)
def _data(rng, n, size, shrink):
    """Smooth random 'images' and a fixed filter of them as targets: something to learn."""
    x = rng.random((n, 1, size + 4, size + 4)).astype(np.float32)
    x = (x[:, :, :-4, :-4] + x[:, :, 2:-2, 2:-2] + x[:, :, 4:, 4:]) / 3
    y = 0.5 * x + 0.25 * np.roll(x, 1, axis=3) + 0.25 * np.roll(x, 1, axis=2)
    return x, np.ascontiguousarray(y[:, :, shrink:size - shrink, shrink:size - shrink])


def _worker(out, resume):
    import tinysr.functional as F
    from tinysr import distributed, optim
    from tinysr.models import SRCNN, VDSR
    from tinysr.tensor import no_grad, tensor
    from tinysr.training.loop import check_run_folder, fit
    from tinysr.training.sr_task import array_batches, supervised_step

    fail = os.environ.get("TEST_FAIL", "")     # "hang|crash|kill:RANK:STEP", tests only
    rng = np.random.default_rng(0)
    runs = {"srcnn": (SRCNN(9, 1, 5, n1=16, n2=8, seed=1), 21, 6), "vdsr": (VDSR(depth=5, width=16, seed=2), 17, 0)}
    for name, (model, size, shrink) in runs.items():
        folder = os.path.join(out, name)
        check_run_folder(folder, resume)
        world = distributed.world()
        x, y = _data(rng, BATCH * PER_EPOCH, size, shrink)
        if name == "srcnn":
            opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            schedules, averages = {"lr": optim.StepLR(opt, 2, 0.5)}, {}
        else:
            opt = optim.Adam(model.parameters(), lr=2e-3, eps=1e-4)      # eps: see the docstring
            schedules = {"lr": optim.ReduceLROnPlateau(opt, factor=0.5, patience=0)}
            averages = {"model": optim.EMA(model, 0.9)}
        inner = supervised_step(model, opt, lambda m, a, b: F.mse_loss(m(a), b), "cpu")

        def step(batch, model=model, opt=opt, name=name):
            kind, rank, at = (fail.split(":") + ["", "", ""])[:3]
            if kind and world.rank == int(rank) and opt.step_count + 1 == int(at):
                if kind == "hang":
                    time.sleep(600)
                if kind == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError(f"test failure on step {at}")
            values = inner(batch)
            if opt.step_count in SNAPSHOTS:
                np.savez(os.path.join(out, f"{name}_step{opt.step_count}_rank{world.rank}.npz"),
                         *[p.numpy() for p in model.parameters()])
            return values

        def evaluate(model=model, x=x[:8], y=y[:8]):     # rank 0 alone; the plateau schedule needs
            with no_grad():                              # "psnr" everywhere (a constant: lr halves)
                return {"psnr": 1.0, "mse": float(F.mse_loss(model(tensor(x)), tensor(y)).numpy())}

        fit(step, array_batches(x, y, BATCH, 3, "cpu"), modules={"model": model}, optimizers={"model": opt},
            schedules=schedules, averages=averages, epochs=STEPS // PER_EPOCH, out_dir=folder,
            meta={"test": name}, resume=resume, log_every=2, evaluate=evaluate, progress=False,
            on_epoch_end=lambda epoch, h, folder=folder: shutil.copy(     # rank 0 alone calls it
                os.path.join(folder, "checkpoint.npz"), os.path.join(folder, f"epoch{epoch + 1}_rank{world.rank}.npz")))


# ---------------------------------------------------------------- launching
def _launch(n, out, *args, env=None, timeout=240):
    """This file's worker (or any command after ``-m``) on n ranks; n = 1 is a plain python."""
    command = [sys.executable, *(args if args[:1] == ("-m",) else (__file__, "train", str(out), *args))]
    if n > 1:
        command = [str(MPIEXEC), "-n", str(n), *command]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
    return done, time.perf_counter() - start


def _params(out, name, step, rank=0):
    with np.load(out / f"{name}_step{step}_rank{rank}.npz") as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One process, then 2 and 4 ranks, then 4 ranks resuming the 2-rank run after epoch 2."""
    root = tmp_path_factory.mktemp("dist")
    outs, printed = {}, {}
    for n in (1, 2, 4):
        outs[n] = root / f"n{n}"
        done, _ = _launch(n, outs[n])
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        printed[n] = done.stdout
    resumed = root / "resumed"
    for name in ("srcnn", "vdsr"):
        (resumed / name).mkdir(parents=True)
        shutil.copy(outs[2] / name / "epoch2_rank0.npz", resumed / name / "checkpoint.npz")
    done, _ = _launch(4, resumed, "--resume")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    printed["resumed"] = done.stdout
    return outs, resumed, printed


@needs_mpi
@pytest.mark.parametrize("name", ["srcnn", "vdsr"])
@pytest.mark.parametrize("ranks", [2, 4])
def test_ranks_train_the_same_parameters_as_one_process(runs, name, ranks):
    outs, _, _ = runs
    for step in SNAPSHOTS:
        one, many = _params(outs[1], name, step), _params(outs[ranks], name, step)
        for rank in range(1, ranks):           # every rank holds the same bits
            for a, b in zip(many, _params(outs[ranks], name, step, rank)):
                assert np.array_equal(a, b), f"rank {rank} drifted from rank 0 by step {step}"
        worst = max(float(np.max(np.abs(a - b))) for a, b in zip(one, many))
        assert all(np.allclose(a, b, rtol=0, atol=ATOL) for a, b in zip(one, many)), \
            f"{name} on {ranks} ranks, step {step}: {worst:.2e} from one process"
    moved = max(float(np.max(np.abs(a - b)))
                for a, b in zip(_params(outs[1], name, STEPS), _params(outs[1], name, PER_EPOCH)))
    assert moved > 1000 * ATOL, "the test would not see a wrong reduction"


@needs_mpi
def test_resume_on_another_number_of_ranks(runs):
    outs, resumed, printed = runs
    assert printed["resumed"].count("resumed from") == 2          # rank 0 alone prints, once per model
    for name in ("srcnn", "vdsr"):
        for a, b in zip(_params(outs[1], name, STEPS), _params(resumed, name, STEPS)):
            assert np.allclose(a, b, rtol=0, atol=ATOL)


@needs_mpi
def test_rank_zero_alone_writes_and_reports(runs):
    outs, _, printed = runs
    for ranks in (2, 4):
        for name in ("srcnn", "vdsr"):           # on_epoch_end ran on rank 0 alone
            assert sorted(p.name for p in (outs[ranks] / name).iterdir()) == \
                ["checkpoint.npz", *(f"epoch{e}_rank0.npz" for e in range(1, 5)), "history.json"]
        lines = [[line.split(":")[0] for line in printed[n].splitlines()] for n in (1, ranks)]
        assert lines[0] == lines[1] and len(lines[0]) == 8      # each epoch's line once, from rank 0
    one = json.loads((outs[1] / "vdsr" / "history.json").read_text())
    two = json.loads((outs[2] / "vdsr" / "history.json").read_text())
    assert one["iteration"] == two["iteration"] and one["eval_iteration"] == two["eval_iteration"]
    assert np.allclose([e["mse"] for e in one["eval"]], [e["mse"] for e in two["eval"]], rtol=1e-4)
    assert np.allclose(one["loss"], two["loss"], rtol=1e-4)     # the logged loss: the mean over the ranks


@needs_mpi
@pytest.mark.parametrize("kind", ["hang", "crash"])
def test_a_rank_that_hangs_or_fails_stops_the_job_naming_it(tmp_path, kind):
    timeout = 8
    done, seconds = _launch(2, tmp_path, env={"TEST_FAIL": f"{kind}:1:7", "TINYSR_DIST_TIMEOUT": str(timeout)})
    assert done.returncode != 0
    expected = "rank 1 did not join the gradient all-reduce of optimiser step 7" if kind == "hang" \
        else "rank 1 stopped: RuntimeError: test failure on step 7"
    assert expected in done.stderr, done.stderr[-3000:]
    assert seconds < (timeout + 45 if kind == "hang" else 45)
    from tinysr import checkpoint
    assert checkpoint.load(tmp_path / "srcnn" / "checkpoint.npz")["train"]["iteration"] == PER_EPOCH


@needs_mpi
def test_a_killed_rank_stops_the_job_and_its_pid_names_the_rank(tmp_path):
    """SIGKILL cannot be caught: mpiexec stops the job and names the PID; tinysr's start line
    maps that PID to the rank."""
    import re
    done, seconds = _launch(2, tmp_path, env={"TEST_FAIL": "kill:1:7"})
    assert done.returncode != 0 and seconds < 60
    pids = dict((int(pid), int(rank)) for rank, pid in re.findall(r"rank (\d+) pid (\d+) on", done.stderr))
    killed = re.search(r"PID (\d+) RUNNING AT", done.stdout + done.stderr)   # mpiexec's own report
    assert killed and pids.get(int(killed.group(1))) == 1, (done.stdout + done.stderr)[-2000:]
    from tinysr import checkpoint
    assert checkpoint.load(tmp_path / "srcnn" / "checkpoint.npz")["train"]["iteration"] == PER_EPOCH


@needs_mpi
def test_distributed_eval_prints_the_one_process_table(tmp_path, capsys):
    from PIL import Image

    from tinysr.cli import main
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i, (h, w) in enumerate([(40, 52), (37, 45), (60, 33), (48, 48), (51, 39)]):
        yy, xx = np.mgrid[0:h, 0:w]
        img = 120 + 60 * np.sin(xx / (3 + i))[..., None] * np.cos(yy / 5)[..., None] + rng.normal(0, 8, (h, w, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"im{i}.png")
    flags = ["eval", "--sets", str(folder), "--scales", "2", "3", "--per-image", "--device", "cpu"]
    assert main([*flags, "--csv", str(tmp_path / "one.csv")]) == 0
    one = capsys.readouterr().out
    done, _ = _launch(3, tmp_path, "-m", "tinysr", *flags, "--csv", str(tmp_path / "three.csv"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.replace(str(tmp_path / "three.csv"), "") == one.replace(str(tmp_path / "one.csv"), "")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "three.csv").read_bytes()


def test_shard_takes_this_ranks_rows_and_refuses_an_uneven_batch():
    from tinysr.distributed import BatchSplitError, MPIWorld
    world = MPIWorld.__new__(MPIWorld)          # shard needs only size and rank
    world.size, world.rank = 4, 2
    x, y = np.arange(16).reshape(8, 2), np.arange(8)
    sx, sy, alpha = world.shard((x, y, 0.5))
    assert sx.tolist() == [[8, 9], [10, 11]] and sy.tolist() == [4, 5] and alpha == 0.5
    with pytest.raises(BatchSplitError, match="batch of 6 samples does not split evenly over 4 ranks"):
        world.shard(np.zeros((6, 3)))


def test_import_and_a_plain_run_import_neither_mpi4py_nor_cupy():
    code = ("import sys, tinysr, tinysr.cli, tinysr.training.loop, tinysr.evaluate, tinysr.distributed as d; "
            "w = d.world(); assert (w.size, w.rank) == (1, 0); "
            "print(sorted(m for m in ('mpi4py', 'cupy') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


if __name__ == "__main__" and sys.argv[1:2] == ["train"]:
    _worker(sys.argv[2], "--resume" in sys.argv[3:])
