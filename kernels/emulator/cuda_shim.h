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
#include <cstring>

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

static thread_local unsigned mma_calls = 0;   // mma_tf32_passes' post set; reset per block

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
                        mma_calls = 0;
                        body();
#pragma omp barrier
                    }
        }
    }
    return got == nt ? 0 : -1;
}

// --- tensor cores (common.cuh section 7) -------------------------------------------
inline float bits_to_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// cvt.rna.tf32.f32: keep 10 mantissa bits, round to nearest, ties away from zero (adding
// half of the dropped range to the magnitude bits, then truncating, does exactly that).
inline unsigned tf32_rna(float x) {
    unsigned u;
    std::memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) return u;     // inf and NaN pass through
    return (u + 0x1000u) & 0xffffe000u;
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, warp-collective, for P passes in a
// row (P = 1: one mma; P = 3: the 3xTF32 product, common.cuh mma_tf32x3_m16n8k8): each
// lane posts its fragments, one barrier, each lane adds to its four outputs, pass after
// pass, k = 0..7 within a pass, from its warp's posts (products of TF32 values are exact
// in float; sums are float). Posts alternate between two sets, so one barrier per call
// is enough: a lane can only overwrite a set after every lane has passed the next
// call's barrier, i.e. finished reading it. The barrier is the block's: like every
// collective here, all threads of the block must make the same calls (they do: the v5
// mainloop has no divergent mma). The order of the float additions inside a hardware
// mma is not specified, so a GPU may differ from this in the last bits.
template <int P>
inline void mma_tf32_passes(float& d0, float& d1, float& d2, float& d3,
                            const unsigned* const (&a)[P], const unsigned (&b)[P][2]) {
    static unsigned posted_a[2][1024][P][4];
    static unsigned posted_b[2][1024][P][2];
    const unsigned set = mma_calls++ & 1u;
    const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const unsigned lane = t % 32, base = t - lane, g = lane / 4, q = lane % 4;
    for (int p = 0; p < P; ++p) {
        for (int r = 0; r < 4; ++r) posted_a[set][t][p][r] = a[p][r];
        posted_b[set][t][p][0] = b[p][0];
        posted_b[set][t][p][1] = b[p][1];
    }
#pragma omp barrier
    float* d[4] = {&d0, &d1, &d2, &d3};
    for (int p = 0; p < P; ++p) {
        // A[m][k]: lane (m % 8, k % 4), register a0..a3; B[k][n]: lane (n, k % 4), b0 or b1
        auto A = [&](unsigned m, unsigned k) {
            return bits_to_float(posted_a[set][base + (m % 8) * 4 + k % 4][p][(m >= 8) + 2 * (k >= 4)]);
        };
        auto B = [&](unsigned k, unsigned n) {
            return bits_to_float(posted_b[set][base + n * 4 + k % 4][p][k >= 4]);
        };
        for (unsigned e = 0; e < 4; ++e) {
            const unsigned m = g + 8 * (e / 2), n = 2 * q + e % 2;
            float sum = *d[e];
            for (unsigned k = 0; k < 8; ++k) sum += A(m, k) * B(k, n);
            *d[e] = sum;
        }
    }
}

inline void mma_tf32_m16n8k8(float& d0, float& d1, float& d2, float& d3,
                             const unsigned (&a)[4], unsigned b0, unsigned b1) {
    const unsigned* const as[1] = {a};
    const unsigned bs[1][2] = {{b0, b1}};
    mma_tf32_passes<1>(d0, d1, d2, d3, as, bs);
}

// common.cuh's mma_tf32x3_m16n8k8 (three mma.sync on a GPU) as one collective call.
inline void mma_tf32x3_m16n8k8(float& d0, float& d1, float& d2, float& d3,
                               const unsigned (&ab)[4], const unsigned (&as)[4], unsigned bb0,
                               unsigned bb1, unsigned bs0, unsigned bs1) {
    const unsigned* const a[3] = {as, ab, ab};
    const unsigned b[3][2] = {{bb0, bb1}, {bs0, bs1}, {bb0, bb1}};
    mma_tf32_passes<3>(d0, d1, d2, d3, a, b);
}

}  // namespace tinysr_emu

#define __syncthreads() tinysr_emu::syncthreads()

#endif  // TINYSR_CUDA_SHIM_H
