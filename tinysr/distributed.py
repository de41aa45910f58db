"""Data-parallel training and evaluation: the world of ranks, chosen here and nowhere else.

    python examples/train_vdsr.py ...                    one process: ``World``, nothing imported
    mpiexec -n 4 python examples/train_vdsr.py ...       four ranks over MPI (mpi4py): ``MPIWorld``

``world()`` makes the process's world once. A launcher says it started more than one
process (``PMI_SIZE`` from MPICH/Intel MPI/Slurm, ``OMPI_COMM_WORLD_SIZE`` from Open MPI,
``MV2_COMM_WORLD_SIZE`` from MVAPICH): then mpi4py is imported, and its absence is an
error rather than N copies of one run writing the same files. Otherwise, or with one
process, the world is this process and every method below is the identity: ``import
tinysr`` and a plain run never import mpi4py or CuPy.

What ``tinysr.training.loop.fit`` does with a world of N ranks:

- batches: every rank draws the same global, seeded batch and ``shard`` keeps its rows
  [rank * B/N, (rank + 1) * B/N) of every per-sample array (B % N != 0 is an error);
- gradients: ``Optimizer.step`` calls ``average_gradients`` first, for every optimiser
  (both of the GAN's): ONE flattened buffer per step and optimiser is summed over the
  ranks and divided by N, so each rank steps with the mean over the global batch;
- rank 0 alone writes the checkpoint, history.json and figures, shows the progress bar,
  runs ``on_step``, ``on_epoch_end``, ``on_stop`` and the evaluation; its metrics and
  wall time are broadcast (schedules and stops need them everywhere), with its
  parameters (a cheap re-sync, once per epoch); logged values are averaged over ranks;
- ranks other than 0 print nothing (their stdout goes to /dev/null, warnings are off);
  errors still reach stderr. Each rank gets cores // (ranks on its node) Numba threads
  and, with CuPy and as many GPUs as ranks on the node, its own GPU.

Reduction order (docs/scaling.md). On the CPU (MPI) the float32 gradients are summed in
float64, which holds any sum of N float32 numbers within 29 binades of each other
exactly, and the sum is rounded to float32 once: the result does not depend on the order
MPI adds in. MPICH's algorithms hand every rank the same bits; the once-per-epoch
parameter broadcast bounds any drift on mixed hardware. On the GPU (NCCL) the buffer is
summed in float32 in NCCL's fixed ring/tree order for a given set of GPUs. Either way
1, 2 or 4 ranks agree with one process to float32 rounding of the batch sum (the test
measures it); batch-norm statistics are per rank (the GAN's are over its B/N samples).

Failures. Collectives are non-blocking and polled against a deadline of
``TINYSR_DIST_TIMEOUT`` seconds (default 300), ten times that for work that is one-off or
rank 0's alone (the start, the first two steps of each optimiser, which compile the
kernels, and each epoch's evaluation). Every rank tells rank 0 which collective it
entered (a heartbeat); past the deadline rank 0 names the ranks that never arrived and
calls ``MPI.COMM_WORLD.Abort(1)`` (the other ranks wait 25% longer, then abort without a
name: rank 0 itself is stuck). A rank whose training raises an error of its own (a bug,
a failed write) names itself and aborts at once; errors every rank raises together
(divergence, Ctrl-C, a batch that does not split) end the run normally. A rank killed by
a signal is mpiexec's: it stops the job at once, naming the PID. Checkpoints are written
to a temporary file and renamed, so the last one stays loadable.
"""
import atexit
import contextlib
import os
import json
import sys
import time
import traceback
import warnings

import numpy as np

from tinysr.errors import ArgumentError, RunStopped, UserError

LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
TIMEOUT = 300.0            # seconds, TINYSR_DIST_TIMEOUT overrides
SLOW = 10                  # the factor for one-off work: kernel compilation, rank 0's evaluation
HEARTBEAT = 7207           # the message tag of the heartbeats
SPIN = 0.05                # seconds a wait polls flat out before it polls once a millisecond


class BatchSplitError(ArgumentError):
    """A global batch that does not split evenly over the ranks (every rank raises it)."""


EVERY_RANK = (RunStopped, KeyboardInterrupt, BatchSplitError)   # raised by all ranks together


class World:
    """One process, the world of a plain ``python`` run: every method is the identity."""
    size, rank, lead, solo = 1, 0, True, False

    def join(self, modules, optimizers):
        """fit's start (MPI: install the gradient hook, give every rank rank 0's parameters)."""
        return self

    def leave(self, optimizers):
        """fit's end, however it ends (called from its ``finally``)."""

    def shard(self, batch):
        return batch

    def average(self, rows):
        """The mean over ranks of a table of logged values (float64)."""
        return np.asarray(rows, dtype=np.float64)

    def end_epoch(self, modules, metrics, wall):
        """Rank 0's metrics and wall time (and parameters) for everyone."""
        return metrics, wall

    def alone(self):
        """Rank 0 works alone inside this (the evaluation): ``world()`` is one process there."""
        return contextlib.nullcontext()

    def mine(self, dataset):
        """(index, (name, image)) for this rank's share of a dataset's images."""
        return enumerate(dataset)

    def collect(self, keyed):
        """Everyone's (key, item) pairs, sorted by key (stable), on every rank."""
        return [item for _, item in sorted(keyed, key=lambda pair: pair[0])]

    @contextlib.contextmanager
    def guard(self):
        """MPI: an error inside that only this rank raises stops the whole job, naming the rank."""
        yield


class MPIWorld(World):
    """N ranks over MPI; gradients of CuPy arrays through NCCL when CuPy has it."""

    def __init__(self):
        from mpi4py import MPI
        self.MPI, self.comm = MPI, MPI.COMM_WORLD.Dup()       # its own context: no clash with user code
        self.size, self.rank = self.comm.Get_size(), self.comm.Get_rank()
        self.lead = self.rank == 0
        self.timeout = float(os.environ.get("TINYSR_DIST_TIMEOUT", TIMEOUT))
        self.calls, self.sends, self.seen, self.what = 0, [], {}, {}
        self.in_fit, self.nccl, self.gpu_shared, self.buffers = False, None, True, None
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        self._share_the_node()
        self._announce()
        if not self.lead:
            sys.stdout = open(os.devnull, "w")
            warnings.simplefilter("ignore")
        atexit.register(self._close)

    def _announce(self):
        """One line from rank 0 mapping ranks to processes: mpiexec names a rank killed by a
        signal by its PID alone, and this line turns that PID into the rank."""
        name = self.MPI.Get_processor_name().encode()[:63].ljust(64, b" ")
        mine = np.frombuffer(np.int64(os.getpid()).tobytes() + name, np.uint8)
        every = np.empty(self.size * mine.size, np.uint8)
        self.comm.Allgather(mine, every)
        ranks = []
        for rank, row in enumerate(every.reshape(self.size, -1)):
            pid, host = int(np.frombuffer(row[:8].tobytes(), np.int64)[0]), row[8:].tobytes().decode().strip()
            ranks.append(f"rank {rank} pid {pid} on {host}")
        if self.lead:
            print(f"tinysr: data-parallel over {self.size} ranks: " + ", ".join(ranks), file=sys.stderr, flush=True)

    def _share_the_node(self):
        """cores // ranks-on-this-node Numba threads each; one GPU each when there are enough."""
        if "NUMBA_NUM_THREADS" not in os.environ:
            import numba
            numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS // self.local_size))
        import importlib.util
        if importlib.util.find_spec("cupy") is None:
            return
        try:
            import cupy
            gpus = cupy.cuda.runtime.getDeviceCount()
        except Exception:             # CuPy without a driver or a GPU: the CPU path
            return
        if gpus >= self.local_size:
            cupy.cuda.Device(self.local_rank).use()
            self.gpu_shared = False

    # ---- fit's calls ----------------------------------------------------------------
    def join(self, modules, optimizers):
        for optimizer in optimizers.values():
            optimizer.gradient_hook = self.average_gradients
        self.in_fit = True
        self._broadcast_parameters(modules, "the start of training", slow=True)
        return self

    def leave(self, optimizers):
        for optimizer in optimizers.values():
            optimizer.gradient_hook = None
        self.in_fit = False
        err = sys.exc_info()[1]
        if isinstance(err, EVERY_RANK) and not self.lead:
            sys.stderr = open(os.devnull, "w")        # rank 0 says it, once
        self._stop_if_alone(err, EVERY_RANK)

    def shard(self, batch):
        parts = batch if isinstance(batch, (tuple, list)) else (batch,)
        rows = len(parts[0])
        if rows % self.size:
            raise BatchSplitError(f"a batch of {rows} samples does not split evenly over {self.size} ranks: "
                                  f"give a batch size (--batch) that is a multiple of {self.size}")
        lo, hi = self.rank * rows // self.size, (self.rank + 1) * rows // self.size
        cut = [p[lo:hi] if _per_sample(p, rows) else p for p in parts]
        if isinstance(batch, tuple):
            return tuple(cut)
        return cut if isinstance(batch, list) else cut[0]

    def average_gradients(self, optimizer, params):
        """Optimizer.step's hook: every gradient in one buffer, summed over the ranks, / N."""
        grads = [p.grad.data for p in params]
        if not grads:
            return
        what = f"the gradient all-reduce of optimiser step {optimizer.step_count + 1}"
        slow = optimizer.step_count < 2                        # the first steps compile the kernels
        if not isinstance(grads[0], np.ndarray) and self._nccl_ready():
            return self._nccl_mean(grads, what, slow)
        n = sum(g.size for g in grads)
        if self.buffers is None or self.buffers[0].size != n:     # kept: no 2 x 8 bytes/weight per step
            self.buffers = np.empty(n), np.empty(n)
        flat, total = self.buffers
        np.concatenate([_host(g).ravel() for g in grads], out=flat)     # float32 -> float64, exact
        self._wait(self.comm.Iallreduce(flat, total, op=self.MPI.SUM), what, slow)
        _unflatten(np.divide(total, self.size, out=total), params)   # rounded once, to float32

    def average(self, rows):
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        total = np.empty_like(rows)
        self._wait(self.comm.Iallreduce(rows, total, op=self.MPI.SUM), "the average of the logged values")
        return total / self.size

    def end_epoch(self, modules, metrics, wall):
        metrics, wall = self._from_lead((metrics, wall), "the end of the epoch (rank 0 evaluates)", slow=True)
        self._broadcast_parameters(modules, "the end-of-epoch parameter broadcast")
        return metrics, wall

    @contextlib.contextmanager
    def alone(self):
        self.solo = True
        try:
            yield
        finally:
            self.solo = False

    # ---- tinysr eval's calls --------------------------------------------------------
    def mine(self, dataset):
        return ((i, (name, dataset.read(i))) for i, name in enumerate(dataset.names)
                if i % self.size == self.rank)

    def collect(self, keyed):
        every = self._gather(keyed, "the gathering of the scores", slow=True)
        merged = World.collect(self, [pair for part in every for pair in part]) if self.lead else None
        return self._from_lead(merged, "the broadcast of the scores")

    @contextlib.contextmanager
    def guard(self):
        try:
            yield
        except BaseException as err:
            self._stop_if_alone(err, (KeyboardInterrupt,))
            raise

    # ---- the collectives, polled against a deadline -----------------------------------
    def _wait(self, request, what, slow=False):
        """Wait for ``request`` (anything with ``Test()``); past the deadline, abort the job."""
        self.calls += 1
        self.what[self.calls] = what
        self.what.pop(self.calls - 1000, None)
        if not self.lead:                        # the heartbeat: "I have entered collective #calls"
            self.sends = [(r, b) for r, b in self.sends if not r.Test()]
            beat = np.array([self.calls], np.int64)
            self.sends.append((self.comm.Isend(beat, 0, HEARTBEAT), beat))
        limit = self.timeout * (SLOW if slow else 1) * (1.0 if self.lead else 1.25)
        start = time.monotonic()
        while not request.Test():
            if self.lead:
                self._listen()
            waited = time.monotonic() - start
            if waited > limit:
                self._stuck(what, limit)
            if waited < SPIN:
                os.sched_yield()       # poll (MPI progresses only inside Test), but let a rank that
            else:                      # shares this core run; a long wait (rank 0's evaluation)
                time.sleep(1e-3)       # polls once a millisecond

    def _listen(self):
        status = self.MPI.Status()
        while self.comm.Iprobe(self.MPI.ANY_SOURCE, HEARTBEAT, status):
            beat = np.empty(1, np.int64)
            self.comm.Recv(beat, status.Get_source(), HEARTBEAT)
            self.seen[status.Get_source()] = (int(beat[0]), time.monotonic())

    def _stuck(self, what, limit):
        """Past the deadline (TINYSR_DIST_TIMEOUT): rank 0 names who never arrived, and aborts."""
        deadline = f"within {limit:.0f} s (TINYSR_DIST_TIMEOUT sets the deadline)"
        if not self.lead:
            self._abort(f"rank {self.rank}: {what} did not complete {deadline}, and rank 0 did not name a "
                        "missing rank first, so rank 0 itself is stuck or gone")
        self._listen()
        now = time.monotonic()
        missing = [r for r in range(1, self.size) if self.seen.get(r, (0, 0))[0] < self.calls]
        if not missing:
            self._abort(f"every rank entered {what}, but it did not complete {deadline}")
        last = "; ".join(f"rank {r} was last heard {now - self.seen[r][1]:.0f} s ago, entering "
                         f"{self.what.get(self.seen[r][0], 'an earlier collective')}" if r in self.seen
                         else f"rank {r} was never heard from" for r in missing)
        self._abort(f"rank{'s' * (len(missing) > 1)} {', '.join(map(str, missing))} did not join {what} "
                    f"{deadline}: {last}")

    def _abort(self, message):
        prog = os.path.basename(sys.argv[0]) or "tinysr"
        print(f"{prog}: error: {message}; stopping all {self.size} ranks", file=sys.stderr, flush=True)
        time.sleep(1.0)           # mpiexec forwards the line before Abort tears the job down
        self.MPI.COMM_WORLD.Abort(1)
        os._exit(1)               # should Abort return before mpiexec ends this process

    def _stop_if_alone(self, err, every_rank):
        """An error only this rank raised would leave the others waiting: stop the job now."""
        if err is None or isinstance(err, every_rank):
            return
        if not isinstance(err, UserError) or os.environ.get("TINYSR_DEBUG", "") not in ("", "0"):
            traceback.print_exception(err, file=sys.stderr)
        self._abort(f"rank {self.rank} stopped: {type(err).__name__}: {' '.join(str(err).split())}")

    def _close(self):
        """At exit: a rank leaving in the middle of fit (the finally never ran) stops the job."""
        if self.in_fit:
            self._abort(f"rank {self.rank} exited in the middle of training")
        for request, _ in self.sends:
            request.Test()
        if self.lead:
            self._listen()

    def _from_lead(self, obj, what, slow=False):
        data = np.frombuffer(_encode(obj), np.uint8) if self.lead else None
        size = np.array([0 if data is None else data.size], np.int64)
        self._wait(self.comm.Ibcast(size, root=0), what, slow)
        data = data.copy() if self.lead else np.empty(int(size[0]), np.uint8)
        self._wait(self.comm.Ibcast(data, root=0), what)
        return obj if self.lead else _decode(data.tobytes())

    def _gather(self, obj, what, slow=False):
        """[every rank's obj] on rank 0 (None elsewhere)."""
        data = np.frombuffer(_encode(obj), np.uint8)
        sizes = np.zeros(self.size, np.int64)
        self._wait(self.comm.Iallgather(np.array([data.size], np.int64), sizes), what, slow)
        out = np.empty(int(sizes.sum()), np.uint8) if self.lead else None
        self._wait(self.comm.Igatherv(data, [out, [int(s) for s in sizes]] if self.lead else None, root=0), what)
        if not self.lead:
            return None
        ends = np.cumsum(sizes)
        return [_decode(out[e - s:e].tobytes()) for s, e in zip(sizes, ends)]

    def _broadcast_parameters(self, modules, what, slow=False):
        params = [p for module in modules.values() for p in module.parameters()]
        if not params:
            return
        flat = np.ascontiguousarray(np.concatenate([_host(p.data).ravel() for p in params]))
        self._wait(self.comm.Ibcast(flat, root=0), what, slow)
        _unflatten(flat, params, "data")

    # ---- NCCL (untested here: no GPU; written from CuPy's documented cupy.cuda.nccl) --------
    def _nccl_ready(self):
        """NCCL for CuPy gradients when each rank has its own GPU; else MPI through the host."""
        if self.nccl is None:
            self.nccl = False
            try:
                from cupy.cuda import nccl
            except ImportError:
                nccl = None
            usable = nccl is not None and not self.gpu_shared and getattr(nccl, "available", True)
            if self.average([[float(usable)]])[0, 0] < 1.0:      # every rank, or none
                return False
            uid = self._from_lead(nccl.get_unique_id() if self.lead else None, "the NCCL set-up", slow=True)
            self.nccl = (nccl, nccl.NcclCommunicator(self.size, uid, self.rank))
        return bool(self.nccl)

    def _nccl_mean(self, grads, what, slow):
        import cupy
        nccl, comm = self.nccl
        flat = cupy.concatenate([g.ravel() for g in grads]).astype(cupy.float32, copy=False)
        stream = cupy.cuda.get_current_stream()
        comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, stream.ptr)
        self._wait(_Event(stream.record()), what, slow)
        flat /= self.size
        offset = 0
        for g in grads:
            g[...] = flat[offset:offset + g.size].reshape(g.shape)
            offset += g.size


class _Event:
    """A CUDA event as a request: ``Test()`` is whether the GPU has passed it."""

    def __init__(self, event):
        self.event = event

    def Test(self):               # noqa: N802 (MPI's name)
        return self.event.done


def _encode(obj):
    """Metrics, times and score rows as JSON bytes: the ranks exchange data, never pickles."""
    return json.dumps(obj, default=float).encode()


def _decode(data):
    return json.loads(data.decode())


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _per_sample(part, rows):
    return hasattr(part, "shape") and len(part.shape) > 0 and part.shape[0] == rows


def _unflatten(flat, params, field="grad"):
    """Write the slices of ``flat`` back into each parameter's gradient (or data), in place."""
    offset = 0
    for p in params:
        target = p.grad.data if field == "grad" else p.data
        chunk = flat[offset:offset + target.size].reshape(target.shape)
        target[...] = chunk if isinstance(target, np.ndarray) else p.backend.asarray(chunk)
        offset += target.size


_world = None
_ONE = World()


def world():
    """This process's World (made on the first call); a one-process World inside
    ``alone()``, where rank 0 works by itself."""
    global _world
    if _world is None:
        size = next((int(os.environ[v]) for v in LAUNCHER_SIZE if os.environ.get(v)), 1)
        if size > 1:
            try:
                import mpi4py  # noqa: F401
            except ImportError:
                raise UserError(f"started as one of {size} processes (mpiexec), but mpi4py is not installed: "
                                "pip install -e \".[mpi]\", or run without mpiexec") from None
            _world = MPIWorld()
        else:
            _world = _ONE
    return _ONE if _world.solo else _world


__all__ = ["World", "MPIWorld", "world", "BatchSplitError", "TIMEOUT"]
