"""tinysr: single-image super-resolution from scratch (NumPy, Numba, CuPy).

``kernels/`` is shipped inside the package as ``tinysr.kernels`` so the library can read
its CUDA sources wherever it is installed.
"""
from setuptools import find_packages, setup

kernel_packages = ["tinysr.kernels"] + ["tinysr.kernels." + p for p in find_packages("kernels")]

setup(
    name="tinysr",
    version="0.1.0",
    description="Single-image super-resolution from scratch: autograd, hand-written Numba and "
                "CUDA kernels, SRCNN, VDSR, DRCN and an srez-style face GAN with their training "
                "recipes, and the classical baselines (bicubic, ScSR, A+), evaluated as the papers do",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tinysr", "tinysr.*"]) + kernel_packages,
    package_dir={"tinysr.kernels": "kernels"},
    package_data={"tinysr.kernels": ["*.cuh", "*.md", "*/*.cu", "*/*.cuh", "*/*.h", "*/*.md"]},
    include_package_data=False,
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "imageio>=2.28",
        "pillow>=9.1",                    # imageio's decoder; tinysr.validate reads headers with it
        "numba>=0.58",
        "tqdm>=4.60",
        "matplotlib>=3.6",
    ],
    extras_require={
        "gpu": ["cupy-cuda12x"],              # CuPy for CUDA 12 (drivers >= 525)
        "gpu-cuda13": ["cupy-cuda13x"],       # CuPy for CUDA 13; the code imports `cupy`
        "mpi": ["mpi4py>=4", "mpich"],        # mpiexec -n N: data-parallel (docs/scaling.md)
        "dev": ["pytest>=7", "hypothesis>=6.80", "scikit-image>=0.21", "mpi4py>=4", "mpich"],
    },
    entry_points={"console_scripts": ["tinysr = tinysr.cli:main"]},
)
