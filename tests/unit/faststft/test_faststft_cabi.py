"""The C entry points validate their argument structs before forming a single pointer.

Issue 12 found the former entry taking 16 positional integers, forming ``xb + start`` before testing
``start < 0`` and narrowing hop/win_length to int before the range check.  Here the real library
(libarmstft_ops.so, through ctypes) gets deliberately wrong structs: each must come back as its status
code, with the buffers never touched.  The pointers handed in for "wrong" calls point at a guard page
(mmap PROT_NONE), so a read or write before the check would crash the child process that runs them.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

import armstft.faststft as fast

pytestmark = pytest.mark.skipif(not fast.available(), reason=f"native engine not built: {fast.load_error()}")

PROBE = r"""
import ctypes, sys
from armstft.faststft import _loader
lib = ctypes.CDLL(str(_loader.library_path()))
I64, F, P = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p

class StftArgs(ctypes.Structure):  # mirrors armstft_stft_args (src/stft.h)
    _fields_ = [("x", P), ("batch", I64), ("len", I64), ("x_stride", I64), ("hop", I64), ("first_frame", I64),
                ("pad_left", I64), ("pad_right", I64), ("pad_mode", ctypes.c_int), ("onesided", ctypes.c_int),
                ("out", P), ("n_frames", I64), ("out_stride", I64), ("frame_stride", I64)]

class PushArgs(ctypes.Structure):  # mirrors armstft_stream_push_args
    _fields_ = [("x", P), ("n", I64), ("out", P), ("max_frames", I64), ("consumed", I64), ("frames", I64),
                ("full", ctypes.c_int)]

class StreamConfig(ctypes.Structure):  # mirrors armstft_stream_config
    _fields_ = [("n_fft", I64), ("hop", I64), ("win_length", I64), ("window", P), ("scale", F)]

lib.armstft_plan_new.restype = P
lib.armstft_plan_new.argtypes = [ctypes.c_int]
lib.armstft_window_new.restype = P
lib.armstft_window_new.argtypes = [P, P, I64, F, ctypes.POINTER(ctypes.c_int)]
lib.armstft_stft.argtypes = [P, P, ctypes.POINTER(StftArgs), P]
lib.armstft_stft_check.argtypes = [P, ctypes.POINTER(StftArgs)]
lib.armstft_status_text.restype = ctypes.c_char_p
lib.armstft_stream_new.restype = P
lib.armstft_stream_new.argtypes = [ctypes.POINTER(StreamConfig), ctypes.POINTER(ctypes.c_int)]
lib.armstft_stream_push.argtypes = [P, ctypes.POINTER(PushArgs)]

import ctypes.util
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mmap.restype = P
libc.mmap.argtypes = [P, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
GUARD = libc.mmap(None, 1 << 20, 0, 0x22, -1, 0)  # PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS: any access faults

plan = lib.armstft_plan_new(512)
st = ctypes.c_int()
win = lib.armstft_window_new(plan, None, 512, F(1.0), ctypes.byref(st))
assert st.value == 0

def good():
    return dict(x=GUARD, batch=1, len=4000, x_stride=4000, hop=128, first_frame=0, pad_left=256,
                pad_right=256, pad_mode=1, onesided=1, out=GUARD, n_frames=1 + 4000 // 128, out_stride=0,
                frame_stride=514)

cases = {
    "ok": {},
    "hop0": dict(hop=0), "hop_negative": dict(hop=-3), "len0": dict(len=0), "batch0": dict(batch=0),
    "start_negative": dict(first_frame=-1), "pad_negative": dict(pad_left=-1),
    "reflect_pad_ge_len": dict(len=200, x_stride=200, n_frames=2),
    "circular_pad_gt_len": dict(len=200, x_stride=200, n_frames=2, pad_mode=3),
    "pad_mode": dict(pad_mode=7), "too_many_frames": dict(n_frames=1 + 4000 // 128 + 1),
    "hop_not_narrowed": dict(hop=(1 << 32) + 128), "frames_overflow": dict(n_frames=1 << 62),
    "frame_stride_overlaps": dict(frame_stride=100), "rows_overlap": dict(batch=2, x_stride=100),
    "out_rows_overlap": dict(batch=2, x_stride=4000, out_stride=514),
    "null_x": dict(x=None), "null_out": dict(out=None),
}
for name, change in cases.items():
    a = StftArgs(**{**good(), **change})
    code = lib.armstft_stft_check(plan, ctypes.byref(a))
    if name != "ok":
        assert lib.armstft_stft(plan, win, ctypes.byref(a), None) == code  # computes nothing, touches nothing
    print(name, code, lib.armstft_status_text(code).decode())

cfg = StreamConfig(n_fft=512, hop=0, win_length=512, window=None, scale=F(1.0))
print("stream_hop0", lib.armstft_stream_new(ctypes.byref(cfg), ctypes.byref(st)) is None, st.value)
cfg = StreamConfig(n_fft=512, hop=(1 << 32) + 1, win_length=512, window=None, scale=F(1.0))
s = lib.armstft_stream_new(ctypes.byref(cfg), ctypes.byref(st))
print("stream_big_hop", s is not None, st.value)
push = PushArgs(x=GUARD, n=-5, out=GUARD, max_frames=4)
print("push_negative_n", lib.armstft_stream_push(s, ctypes.byref(push)))
push = PushArgs(x=GUARD, n=10, out=GUARD, max_frames=1 << 62)
print("push_frames_overflow", lib.armstft_stream_push(s, ctypes.byref(push)))
"""


def test_every_wrong_struct_is_a_status_not_a_crash() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"probe died (a check came too late?): {out.returncode}\n{out.stderr[-3000:]}"
    got = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}
    names = {"ARMSTFT_OK": 0, "E_NULL": 1, "E_PLAN": 2, "E_SIZE": 3, "E_HOP": 4, "E_PAD": 5, "E_PAD_MODE": 6,
             "E_FRAMES": 7, "E_STRIDE": 8, "E_OVERFLOW": 9}  # fmt: skip
    expect = {
        "ok": "ARMSTFT_OK", "hop0": "E_HOP", "hop_negative": "E_HOP", "len0": "E_SIZE", "batch0": "E_SIZE",
        "start_negative": "E_SIZE", "pad_negative": "E_PAD", "reflect_pad_ge_len": "E_PAD",
        "circular_pad_gt_len": "E_PAD", "pad_mode": "E_PAD_MODE", "too_many_frames": "E_FRAMES",
        "hop_not_narrowed": "E_FRAMES", "frames_overflow": "E_OVERFLOW", "frame_stride_overlaps": "E_STRIDE",
        "rows_overlap": "E_STRIDE", "out_rows_overlap": "E_STRIDE", "null_x": "E_NULL", "null_out": "E_NULL",
    }  # fmt: skip
    for case, status in expect.items():
        assert int(got[case][0]) == names[status], f"{case}: {got[case]}"
    assert got["stream_hop0"] == ["True", str(names["E_HOP"])]
    assert got["stream_big_hop"] == ["True", "0"]  # a 2^32+1 hop is a hop, not 1 after narrowing
    assert int(got["push_negative_n"][0]) == names["E_SIZE"]
    assert int(got["push_frames_overflow"][0]) == names["E_OVERFLOW"]


def test_status_texts_name_the_problem() -> None:
    from armstft.faststft import _loader

    lib = ctypes.CDLL(str(_loader.library_path()))
    lib.armstft_status_text.restype = ctypes.c_char_p
    texts = [lib.armstft_status_text(i).decode() for i in range(13)]
    assert texts[0] == "ok" and all(texts[1:]) and len(set(texts)) == 13
    assert "hop" in texts[4] and "NOLA" in texts[12]
