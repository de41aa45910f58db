"""Call BLAS sgemm/dgemm from inside Numba kernels, with row-major arguments.

Numba's own np.dot cannot accumulate (beta = 1) or read a strided window of a bigger
array (a leading dimension larger than the row), and the conv kernels need both. So we
bind SciPy's Fortran BLAS (scipy.linalg.cython_blas) by name as an external symbol; the
compiled kernels stay cacheable on disk because they refer to the symbol, not an address.

    gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        c[:m, :n] = alpha * op(a) @ op(b) + beta * c      (all row-major, op = transpose
        when ta / tb is True; a, b, c are arrays whose first element starts the matrix)

Fortran BLAS is column-major; a row-major C is a column-major C^T = op(b)^T op(a)^T,
so we swap the operands. The BLAS runs single-threaded (see cpu_common.one_blas_thread):
the kernels call it from their own parallel loops.
"""
import llvmlite.binding as ll
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address, overload

for _name in ("sgemm", "dgemm"):
    ll.add_symbol("tinysr_" + _name,
                  get_cython_function_address("scipy.linalg.cython_blas", _name))
_sig = types.void(*([types.voidptr] * 13))
_sgemm = types.ExternalFunction("tinysr_sgemm", _sig)
_dgemm = types.ExternalFunction("tinysr_dgemm", _sig)


def gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    raise TypeError("gemm is only callable from Numba-compiled code (it is overloaded for njit)")


@overload(gemm)
def _gemm_impl(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    single = c.dtype == types.float32
    blas = _sgemm if single else _dgemm
    real = np.float32 if single else np.float64

    def impl(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        flags = np.empty(2, np.uint8)              # Fortran passes everything by reference
        flags[0] = 84 if tb else 78                # 'T' or 'N'
        flags[1] = 84 if ta else 78
        dims = np.empty(6, np.int32)
        dims[0], dims[1], dims[2], dims[3], dims[4], dims[5] = n, m, k, ldb, lda, ldc
        scal = np.empty(2, real)
        scal[0], scal[1] = alpha, beta
        blas(flags[0:].ctypes, flags[1:].ctypes, dims[0:].ctypes, dims[1:].ctypes,
             dims[2:].ctypes, scal[0:].ctypes, b.ctypes, dims[3:].ctypes, a.ctypes,
             dims[4:].ctypes, scal[1:].ctypes, c.ctypes, dims[5:].ctypes)
    return impl
