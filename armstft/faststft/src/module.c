/* CPython binding `armstft.faststft._native`: plain C API, raw data pointers, no torch or numpy headers.
 *
 * Why raw pointers: the extension then builds with nothing but Python headers and a C compiler (the host,
 * Debian's aarch64 cross compiler, a Yocto recipe), independent of torch's C++ ABI.  The Python side owns
 * all tensors, checks dtype/contiguity/sizes, and passes data_ptr() values here.  Calls use METH_FASTCALL
 * so a streaming push costs a few hundred instructions of binding, not thousands.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "fft.h"
#include "stft.h"

static const char *PLAN_NAME = "armstft.plan";
static const char *STREAM_NAME = "armstft.stream";

static void plan_capsule_free(PyObject *cap) {
    armstft_plan_free((armstft_plan *)PyCapsule_GetPointer(cap, PLAN_NAME));
}

static void stream_capsule_free(PyObject *cap) {
    armstft_stream_free((armstft_stream *)PyCapsule_GetPointer(cap, STREAM_NAME));
}

static int check_nargs(const char *fn, Py_ssize_t got, Py_ssize_t want) {
    if (got == want) return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments, got %zd", fn, want, got);
    return -1;
}

/* plan(n_fft) -> capsule, or None when the engine does not cover n_fft */
static PyObject *py_plan(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("plan", nargs, 1)) return NULL;
    long n = PyLong_AsLong(args[0]);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n <= 0 || n > (1L << 24)) Py_RETURN_NONE;
    armstft_plan *pl = armstft_plan_new((int)n);
    if (!pl) Py_RETURN_NONE;
    return PyCapsule_New(pl, PLAN_NAME, plan_capsule_free);
}

/* stft(plan, x_ptr, batch, x_stride, len, win_ptr, win_length, hop, pad, pad_mode, scale, onesided,
 *      out_ptr, n_frames, out_stride, frame_stride) -> None; strides in floats */
static PyObject *py_stft(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("stft", nargs, 16)) return NULL;
    armstft_plan *pl = PyCapsule_GetPointer(args[0], PLAN_NAME);
    if (!pl) return NULL;
    int64_t v[16];
    for (int i = 1; i < 16; i++) {
        if (i == 10) continue;
        v[i] = PyLong_AsLongLong(args[i]);
        if (v[i] == -1 && PyErr_Occurred()) return NULL;
    }
    double scale = PyFloat_AsDouble(args[10]);
    if (scale == -1.0 && PyErr_Occurred()) return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS;
    rc = armstft_stft(pl, (const float *)(intptr_t)v[1], v[2], v[3], v[4], (const float *)(intptr_t)v[5], v[6],
                      v[7], v[8], (int)v[9], (float)scale, (int)v[11], (float *)(intptr_t)v[12], v[13], v[14],
                      v[15]);
    Py_END_ALLOW_THREADS;
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* stream_new(n_fft, hop, win_ptr, win_length, scale, max_frames) -> capsule, or None if not covered */
static PyObject *py_stream_new(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("stream_new", nargs, 6)) return NULL;
    long long n = PyLong_AsLongLong(args[0]), hop = PyLong_AsLongLong(args[1]);
    long long win = PyLong_AsLongLong(args[2]), wl = PyLong_AsLongLong(args[3]);
    double scale = PyFloat_AsDouble(args[4]);
    long long mf = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred()) return NULL;
    if (n <= 0 || n > (1 << 24) || mf <= 0 || mf > (1 << 20)) Py_RETURN_NONE;
    armstft_stream *st =
        armstft_stream_new((int)n, (int)hop, (const float *)(intptr_t)win, (int)wl, (float)scale, (int)mf);
    if (!st) Py_RETURN_NONE;
    return PyCapsule_New(st, STREAM_NAME, stream_capsule_free);
}

/* stream_push(stream, x_ptr, n, out_ptr) -> frames (int) when everything pushed so far is framed,
 * else (frames, consumed) when the output buffer filled up first (call again with the rest) */
static PyObject *py_stream_push(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("stream_push", nargs, 4)) return NULL;
    armstft_stream *st = PyCapsule_GetPointer(args[0], STREAM_NAME);
    if (!st) return NULL;
    long long x = PyLong_AsLongLong(args[1]), n = PyLong_AsLongLong(args[2]);
    long long out = PyLong_AsLongLong(args[3]);
    if (PyErr_Occurred()) return NULL;
    int64_t consumed = 0;
    int full = 0;
    int frames =
        armstft_stream_push(st, (const float *)(intptr_t)x, n, (float *)(intptr_t)out, &consumed, &full);
    if (!full) return PyLong_FromLong(frames);
    return Py_BuildValue("(iL)", frames, (long long)consumed);
}

static PyObject *py_stream_reset(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_nargs("stream_reset", nargs, 1)) return NULL;
    armstft_stream *st = PyCapsule_GetPointer(args[0], STREAM_NAME);
    if (!st) return NULL;
    armstft_stream_reset(st);
    Py_RETURN_NONE;
}

static PyObject *py_simd(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyUnicode_FromString(armstft_simd_name());
}

static PyMethodDef methods[] = {
    {"plan", (PyCFunction)(void (*)(void))py_plan, METH_FASTCALL, "Frame plan for n_fft, or None."},
    {"stft", (PyCFunction)(void (*)(void))py_stft, METH_FASTCALL, "Whole-signal STFT into a buffer."},
    {"stream_new", (PyCFunction)(void (*)(void))py_stream_new, METH_FASTCALL, "New streaming state."},
    {"stream_push", (PyCFunction)(void (*)(void))py_stream_push, METH_FASTCALL, "Push samples, emit frames."},
    {"stream_reset", (PyCFunction)(void (*)(void))py_stream_reset, METH_FASTCALL, "Forget pushed samples."},
    {"simd", py_simd, METH_NOARGS, "Vector instruction set compiled in: neon, sse2 or scalar."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_native", "armstft fast STFT engine (C, SIMD)", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&moddef); }
