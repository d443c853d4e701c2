"""The network and the torch it runs on: front end, model, quantization, the bench cases the worker times,
and the facts of this process's torch (BLAS, FFT, SIMD).

Why one layer below ``sandbox``: the sandbox's child process runs this code (quantized engines, bench
cases, runtime facts) and must import it; nothing here starts processes or reads bundles.
"""
