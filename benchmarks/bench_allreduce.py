"""The cost of data-parallel training: one gradient all-reduce, a step's compute beside it,
and the communication/compute ratio projected to 8 and 64 GPUs (docs/scaling.md).

    mpiexec -n 2 python benchmarks/bench_allreduce.py allreduce      # 665,921 gradients (VDSR-20)
    mpiexec -n 4 python benchmarks/bench_allreduce.py allreduce      # 4 ranks on 2 cores: oversubscribed
    python benchmarks/bench_allreduce.py steps                       # SRCNN / VDSR steps on one process
    mpiexec -n 2 python benchmarks/bench_allreduce.py steps          # the same global batches on 2 ranks
    python benchmarks/bench_allreduce.py project                     # the 8- and 64-GPU projection

``allreduce`` times the buffer tinysr.distributed reduces (float32 gradients summed in
float64 over MPI, polled non-blockingly) beside plain blocking MPI_Allreduce of the same
buffer in float32 and float64. ``steps`` splits a step into compute (forward, backward,
update) and the all-reduce inside Optimizer.step. Each figure is the median of --repeats
runs after a warm-up; rank 0 prints markdown rows.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

VDSR_PARAMS = 665_921          # VDSR-20, width 64: 64*9 + 18*64*64*9 + 64*9 weights, 19*64 + 1 biases


def _median_ms(times):
    return 1e3 * float(np.median(times))


def bench_allreduce(repeats):
    from mpi4py import MPI

    from tinysr import distributed
    world = distributed.world()
    comm = MPI.COMM_WORLD
    grads32 = np.random.default_rng(comm.rank).standard_normal(VDSR_PARAMS).astype(np.float32)

    class P:                               # a parameter with a gradient, as the hook sees it
        def __init__(self, g):
            self.grad = type("G", (), {"data": g})()

    class Opt:
        step_count = 10

    params = [P(grads32.copy())]
    rows = []

    def timed(name, run):
        for _ in range(3):
            run()
        times = []
        for _ in range(repeats):
            comm.Barrier()
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        worst = comm.allreduce(_median_ms(times), op=MPI.MAX)
        rows.append(f"| {comm.size} | {name} | {worst:.2f} |")

    out32, out64, g64 = np.empty_like(grads32), np.empty(VDSR_PARAMS), grads32.astype(np.float64)
    timed("MPI_Allreduce float32 (blocking)", lambda: comm.Allreduce(grads32, out32))
    timed("MPI_Allreduce float64 (blocking)", lambda: comm.Allreduce(g64, out64))
    timed("tinysr: float32 -> float64 sum, polled, -> float32", lambda: world.average_gradients(Opt, params))
    if comm.rank == 0:
        print(f"one all-reduce of {VDSR_PARAMS:,} gradients ({VDSR_PARAMS * 4 / 1e6:.2f} MB float32), "
              f"median of {repeats}, slowest rank; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        print("| ranks | what | ms |\n| --- | --- | --- |")
        print("\n".join(rows))


def bench_steps(repeats):
    import tinysr.functional as F
    from tinysr import distributed, optim
    from tinysr.models import SRCNN, VDSR
    from tinysr.tensor import tensor

    world = distributed.world()
    cases = [("SRCNN 9-1-5 (64/32), batch 32 of 33x33", SRCNN(9, 1, 5, seed=0), 32, 33, 12),
             ("VDSR-20 (64), batch 16 of 41x41", VDSR(depth=20, width=64, seed=0), 16, 41, 0)]
    rows = []
    for name, model, batch, size, shrink in cases:
        opt = optim.Adam(model.parameters(), lr=1e-4)
        world.join({"model": model}, {"model": opt})
        rng = np.random.default_rng(0)
        x = rng.random((batch, 1, size, size), dtype=np.float32)
        y = x[:, :, shrink // 2:size - shrink // 2, shrink // 2:size - shrink // 2].copy()
        xs, ys = world.shard((x, y))
        compute, comm = [], []
        for i in range(repeats + 2):
            t0 = time.perf_counter()
            opt.zero_grad()
            F.mse_loss(model(tensor(xs)), tensor(ys)).backward()
            t1 = time.perf_counter()
            opt.reduce_gradients()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            if i >= 2:                     # the first steps compile the kernels
                compute.append((t1 - t0) + (t3 - t2))
                comm.append(t2 - t1)
        world.leave({"model": opt})
        total = [a + b for a, b in zip(compute, comm)]
        rows.append(f"| {name} | {world.size} | {_median_ms(total):.0f} | {_median_ms(compute):.0f} | "
                    f"{_median_ms(comm):.1f} |")
    if world.lead:
        print(f"steps on {world.size} rank(s), the same global batch split over them; median of {repeats}; "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        print("| model, global batch | ranks | step ms | compute ms | all-reduce ms |\n| --- | --- | --- | --- | --- |")
        print("\n".join(rows))


def project(step_ms, batch, bandwidth, latency_us, intra_bandwidth):
    """Ring all-reduce (NCCL's for large buffers): each GPU sends and receives 2 (N-1)/N of the
    buffer over the slowest link, in 2 (N-1) hops of latency."""
    size = VDSR_PARAMS * 4
    print(f"VDSR-20, {size / 1e6:.2f} MB float32 gradients; step {step_ms} ms at batch {batch} on one GPU "
          f"(docs/benchmarks.md, H200); ring all-reduce at {intra_bandwidth} GB/s inside a node, {bandwidth} GB/s "
          f"between nodes, {latency_us} us per hop")
    print("| GPUs | nodes | all-reduce ms | ratio, batch 64 per GPU | ratio, global batch 64 |")
    print("| --- | --- | --- | --- | --- |")
    for gpus in (8, 64):
        nodes = max(1, gpus // 8)
        link = intra_bandwidth if nodes == 1 else bandwidth
        ms = 1e3 * (2 * (gpus - 1) / gpus * size / (link * 1e9) + 2 * (gpus - 1) * latency_us * 1e-6)
        print(f"| {gpus} | {nodes} | {ms:.2f} | {ms / step_ms:.3f} | {ms / (step_ms / gpus):.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["allreduce", "steps", "project"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--step-ms", type=float, default=24.3, help="one GPU's VDSR step (docs/benchmarks.md)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--bandwidth", type=float, default=25.0, help="GB/s per GPU between nodes (200 Gb/s)")
    parser.add_argument("--intra-bandwidth", type=float, default=100.0, help="GB/s per GPU inside a node (NVLink)")
    parser.add_argument("--latency-us", type=float, default=5.0, help="per ring hop")
    args = parser.parse_args()
    if args.what == "allreduce":
        bench_allreduce(args.repeats)
    elif args.what == "steps":
        bench_steps(args.repeats)
    else:
        project(args.step_ms, args.batch, args.bandwidth, args.latency_us, args.intra_bandwidth)


if __name__ == "__main__":
    main()
