// armstft.faststft._fastpath: the thin CPython shim in front of libarmstft_ops.so for plain eager calls.
//
// Why it exists: on a small core, torch's generic operator binding (schema matching, boxing every
// argument, wrapping the result) costs ~25k instructions, five times the FFT of a 512-sample frame.
// These two entries take the arguments as Python objects, check in C that the call is a plain eager one
// (exact torch.Tensor arguments on the CPU, no tracing, no TorchFunction/TorchDispatch mode, no functorch
// transform, no autocast) and then run the very kernels the operators run (api.h).  Anything else returns
// None and the Python wrapper takes the operator path, which handles every transform.  No engine code
// lives here: this file only converts arguments.
#include <Python.h>

#include <ATen/PythonTorchFunctionTLS.h>
#include <ATen/TracerMode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/core/impl/TorchDispatchModeTLS.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>

#include "api.h"

namespace {

// Errors as Python exceptions, without HANDLE_TH_ERRORS' per-call warning handler (these entries never
// warn: the fast path is only taken for calls torch does not warn about).
#define FAST_TRY try {
#define FAST_CATCH(ret)                                                 \
  }                                                                     \
  catch (const python_error&) {                                         \
    return ret;                                                         \
  }                                                                     \
  catch (const c10::ValueError& e) {                                    \
    PyErr_SetString(PyExc_ValueError, e.what_without_backtrace());     \
    return ret;                                                         \
  }                                                                     \
  catch (const c10::Error& e) {                                         \
    PyErr_SetString(PyExc_RuntimeError, e.what_without_backtrace());   \
    return ret;                                                         \
  }                                                                     \
  catch (const std::bad_alloc&) {                                       \
    PyErr_NoMemory();                                                   \
    return ret;                                                         \
  }                                                                     \
  catch (const std::exception& e) {                                     \
    PyErr_SetString(PyExc_RuntimeError, e.what());                      \
    return ret;                                                         \
  }

// The thread's dispatch state when nothing is active: BackendSelect and ADInplaceOrView included (always),
// autocast excluded (off).
constexpr c10::DispatchKeySet kDefaultIncluded =
    c10::DispatchKeySet({c10::DispatchKey::BackendSelect, c10::DispatchKey::ADInplaceOrView});

// No tracer, no Python-level modes, no functorch layer, autocast or Python dispatcher in this thread.
bool plain_context() {
  if (at::tracer::impl::is_dispatch_enabled()) return false;
  if (at::impl::torch_function_mode_enabled()) return false;
  if (c10::impl::TorchDispatchModeTLS::any_modes_set()) return false;
  const auto local = c10::impl::tls_local_dispatch_key_set();
  return (local.included_ - kDefaultIncluded).empty() && local.excluded_.has(c10::DispatchKey::AutocastCPU);
}

// An exact torch.Tensor (or Parameter) holding a dense CPU tensor without conj/neg/functional wrappers.
const at::Tensor* plain_tensor(PyObject* obj) {
  if (!THPVariable_CheckExact(obj)) return nullptr;
  const at::Tensor& t = THPVariable_Unpack(obj);
  const auto rest =
      t.key_set() - c10::autograd_dispatch_keyset_with_ADInplaceOrView - c10::autocast_dispatch_keyset;
  return rest == c10::DispatchKeySet(c10::DispatchKey::CPU) ? &t : nullptr;
}

bool opt_int(PyObject* o, std::optional<int64_t>* out) {
  if (o == Py_None) return true;
  if (!PyLong_CheckExact(o)) return false;
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (overflow || (v == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;
  }
  *out = v;
  return true;
}

bool opt_bool(PyObject* o, std::optional<bool>* out) {
  if (o == Py_None) return true;
  if (!PyBool_Check(o)) return false;
  *out = o == Py_True;
  return true;
}

// stft(input, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
//      return_complex, align_to_window) -> Tensor, or None: not a call this path takes.
PyObject* fast_stft(PyObject* /*self*/, PyObject* const* args, Py_ssize_t nargs) {
  FAST_TRY
  if (nargs != 11 || !plain_context()) Py_RETURN_NONE;
  const at::Tensor* x = plain_tensor(args[0]);
  const at::Tensor* w = plain_tensor(args[4]);  // the window is required here: None warns (torch's path)
  std::optional<int64_t> n_fft, hop, win;
  std::optional<bool> onesided, align;
  if (!x || !w || !PyLong_CheckExact(args[1]) || !opt_int(args[1], &n_fft) || !opt_int(args[2], &hop) ||
      !opt_int(args[3], &win) || !PyBool_Check(args[5]) || !PyUnicode_CheckExact(args[6]) ||
      !PyBool_Check(args[7]) || !opt_bool(args[8], &onesided) || args[9] != Py_True ||
      !opt_bool(args[10], &align)) {
    Py_RETURN_NONE;
  }
  Py_ssize_t mode_len = 0;
  const char* mode = PyUnicode_AsUTF8AndSize(args[6], &mode_len);
  if (!mode) return nullptr;
  at::Tensor out = armstft::stft_eager(*x, *n_fft, hop, win, *w, args[5] == Py_True,
                                       c10::string_view(mode, static_cast<size_t>(mode_len)), args[7] == Py_True,
                                       onesided, /*return_complex=*/true, align);
  if (!out.defined()) Py_RETURN_NONE;
  return THPVariable_Wrap(out);
  FAST_CATCH(nullptr)
}

bool float_arg(PyObject* o, double* out) {
  if (!PyFloat_CheckExact(o)) return false;
  *out = PyFloat_AS_DOUBLE(o);
  return true;
}

// log_mel(input, fb, n_fft, hop_length, win_length, window, center, pad_mode, normalized, power, eps)
// -> Tensor, or None: not a call this path takes.
PyObject* fast_log_mel(PyObject* /*self*/, PyObject* const* args, Py_ssize_t nargs) {
  FAST_TRY
  if (nargs != 11 || !plain_context()) Py_RETURN_NONE;
  const at::Tensor* x = plain_tensor(args[0]);
  const at::Tensor* fb = plain_tensor(args[1]);
  const at::Tensor* w = plain_tensor(args[5]);
  std::optional<int64_t> n_fft, hop, win;
  double power = 0.0, eps = 0.0;
  if (!x || !fb || !w || !PyLong_CheckExact(args[2]) || !opt_int(args[2], &n_fft) || !opt_int(args[3], &hop) ||
      !opt_int(args[4], &win) || !PyBool_Check(args[6]) || !PyUnicode_CheckExact(args[7]) ||
      !PyBool_Check(args[8]) || !float_arg(args[9], &power) || !float_arg(args[10], &eps)) {
    Py_RETURN_NONE;
  }
  Py_ssize_t mode_len = 0;
  const char* mode = PyUnicode_AsUTF8AndSize(args[7], &mode_len);
  if (!mode) return nullptr;
  at::Tensor out = armstft::log_mel_eager(*x, *fb, *n_fft, hop, win, *w, args[6] == Py_True,
                                          c10::string_view(mode, static_cast<size_t>(mode_len)),
                                          args[8] == Py_True, power, eps);
  if (!out.defined()) Py_RETURN_NONE;
  return THPVariable_Wrap(out);
  FAST_CATCH(nullptr)
}

// --- Stream: armstft::StreamingStft with METH_O push -------------------------------------------------------
struct Stream {
  PyObject_HEAD c10::intrusive_ptr<armstft::StreamingStft> impl;
};

PyObject* stream_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  FAST_TRY
  long long n_fft = 0, hop = 0, max_frames = 0;
  PyObject* window = Py_None;
  int normalized = 0;
  if (!PyArg_ParseTuple(args, "LLOpL", &n_fft, &hop, &window, &normalized, &max_frames)) return nullptr;
  std::optional<at::Tensor> w;
  if (window != Py_None) {
    if (!THPVariable_Check(window)) {
      PyErr_SetString(PyExc_TypeError, "Stream: window: expected a tensor or None");
      return nullptr;
    }
    w = THPVariable_Unpack(window);
  }
  auto impl = c10::make_intrusive<armstft::StreamingStft>(n_fft, hop, w, normalized != 0, max_frames);
  auto* self = reinterpret_cast<Stream*>(type->tp_alloc(type, 0));
  if (!self) return nullptr;
  new (&self->impl) c10::intrusive_ptr<armstft::StreamingStft>(std::move(impl));
  return reinterpret_cast<PyObject*>(self);
  FAST_CATCH(nullptr)
}

void stream_dealloc(PyObject* obj) {
  auto* self = reinterpret_cast<Stream*>(obj);
  self->impl.~intrusive_ptr();
  Py_TYPE(obj)->tp_free(obj);
}

PyObject* stream_push(PyObject* obj, PyObject* x) {
  FAST_TRY
  if (!THPVariable_Check(x)) {
    PyErr_Format(PyExc_TypeError, "StreamingStft.push: expected a tensor of samples, got %s", Py_TYPE(x)->tp_name);
    return nullptr;
  }
  return THPVariable_Wrap(reinterpret_cast<Stream*>(obj)->impl->push(THPVariable_Unpack(x)));
  FAST_CATCH(nullptr)
}

PyObject* stream_flush(PyObject* obj, PyObject* /*unused*/) {
  FAST_TRY
  return THPVariable_Wrap(reinterpret_cast<Stream*>(obj)->impl->flush());
  FAST_CATCH(nullptr)
}

PyObject* stream_reset(PyObject* obj, PyObject* /*unused*/) {
  FAST_TRY
  reinterpret_cast<Stream*>(obj)->impl->reset();
  Py_RETURN_NONE;
  FAST_CATCH(nullptr)
}

PyMethodDef stream_methods[] = {
    {"push", stream_push, METH_O, "Append samples; the spectra of the frames they completed (a view)."},
    {"flush", stream_flush, METH_NOARGS, "End of stream: the frame of the samples no frame covered; reset."},
    {"reset", stream_reset, METH_NOARGS, "Forget every pushed sample."},
    {nullptr, nullptr, 0, nullptr},
};

PyTypeObject StreamType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyMethodDef module_methods[] = {
    {"stft", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_stft)), METH_FASTCALL,
     "armstft.stft for a plain eager call, else None."},
    {"log_mel", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_log_mel)), METH_FASTCALL,
     "armstft.log_mel for a plain eager call, else None."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_fastpath", "armstft's CPython shim (see fastpath.cpp)", -1,
                          module_methods};

}  // namespace

PyMODINIT_FUNC PyInit__fastpath() {
  StreamType.tp_name = "armstft.faststft._fastpath.Stream";
  StreamType.tp_basicsize = sizeof(Stream);
  StreamType.tp_flags = Py_TPFLAGS_DEFAULT;
  StreamType.tp_doc = "Stream(n_fft, hop, window, normalized, max_frames): armstft::StreamingStft";
  StreamType.tp_new = stream_new;
  StreamType.tp_dealloc = stream_dealloc;
  StreamType.tp_methods = stream_methods;
  if (PyType_Ready(&StreamType) < 0) return nullptr;
  PyObject* m = PyModule_Create(&module_def);
  if (!m) return nullptr;
  Py_INCREF(&StreamType);
  if (PyModule_AddObject(m, "Stream", reinterpret_cast<PyObject*>(&StreamType)) < 0) {
    Py_DECREF(&StreamType);
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
