// cuda_shim.h: just enough CUDA, in plain C++17 + OpenMP, to run tinysr's kernels on a CPU.
//
// The emulator (harness.py) compiles   cuda_shim.h + common.cuh + <kernel>.cu + wrappers
// with g++ -fopenmp into a shared library and launches kernels from Python with the same
// grid and block the CuPy path uses. The execution model it imitates:
//
//   - blocks run one after another (blockIdx walks the grid in x, y, z order);
//   - the threads of ONE block are the threads of one OpenMP parallel region
//     (blockDim.x * blockDim.y * blockDim.z OpenMP threads, dynamic adjustment off);
//   - __syncthreads() is an OpenMP barrier, so a kernel that lets some threads skip a
//     barrier the others reach hangs here too (on a GPU it is undefined behaviour);
//   - __shared__ variables become function-local `static`s: one copy shared by the team.
//     Blocks run in sequence and a barrier separates consecutive blocks, so one copy is
//     exactly "per block" storage. (Shared memory is not zeroed between blocks; neither is
//     it on a GPU, and a kernel that reads it before writing reads stale data here too.)
//   - threadIdx / blockIdx are thread_local globals set before each block.
//
// What it cannot show is listed in README.md (timing-dependent races, coalescing, bank
// conflicts, register pressure, fp32 FMA contraction, speed).
#ifndef TINYSR_CUDA_SHIM_H
#define TINYSR_CUDA_SHIM_H

#define TINYSR_EMULATE 1

#include <omp.h>
#include <algorithm>
#include <cmath>
#include <cstdint>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

using std::max;
using std::min;
using std::sqrt;

struct dim3 {
    unsigned x, y, z;
};

static thread_local dim3 threadIdx = {0, 0, 0};
static thread_local dim3 blockIdx = {0, 0, 0};
static thread_local dim3 blockDim = {1, 1, 1};
static thread_local dim3 gridDim = {1, 1, 1};

namespace tinysr_emu {

inline void syncthreads() {
#pragma omp barrier
}

// Run `body` (a lambda calling one kernel instantiation) over the grid.
// Returns 0, or -1 when OpenMP could not give every thread of a block its own thread.
template <typename Body>
int launch(dim3 grid, dim3 block, Body body) {
    const int nt = int(block.x * block.y * block.z);
    omp_set_dynamic(0);
    int got = 0;
#pragma omp parallel num_threads(nt)
    {
#pragma omp single
        got = omp_get_num_threads();
        // (implicit barrier after single: every thread sees `got`)
        if (got == nt) {
            const int t = omp_get_thread_num();
            threadIdx = dim3{unsigned(t) % block.x, (unsigned(t) / block.x) % block.y,
                             unsigned(t) / (block.x * block.y)};
            blockDim = block;
            gridDim = grid;
            for (unsigned bz = 0; bz < grid.z; ++bz)
                for (unsigned by = 0; by < grid.y; ++by)
                    for (unsigned bx = 0; bx < grid.x; ++bx) {
                        blockIdx = dim3{bx, by, bz};
                        body();
#pragma omp barrier
                    }
        }
    }
    return got == nt ? 0 : -1;
}

}  // namespace tinysr_emu

#define __syncthreads() tinysr_emu::syncthreads()

#endif  // TINYSR_CUDA_SHIM_H
