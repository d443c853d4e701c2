// The armstft operator library's one place of schemas and registrations: torch.ops.armstft.{stft, istft,
// log_mel}, their internal ops (_stft, _istft, _log_mel), the helper ops, the StreamingStft class, and the
// kernels of each dispatch key. The Python fallback (armstft/faststft/fallback.py) states the public
// schemas again for a process without this library; tests/unit/faststft/test_faststft_schemas.py ties the two.
//
// Why this shape (see docs/fast-stft.md):
//  - The public ops (stft, istft, log_mel) are CompositeImplicitAutograd: they run above autograd and decide
//    per call.  A call the engine covers (float32, no grad, a planned size, arguments torch accepts) goes to
//    an internal op (_stft, _istft, _log_mel) that has a CPU kernel on the engine and a Meta kernel, so
//    FakeTensor, torch.compile and torch.export see shapes without touching data.  Every other call goes to
//    torch's own ops, which give torch's result, torch's error, and stay differentiable (backward, forward
//    AD, vmap) — that fallback is the autograd story.
//  - The dispatcher reaches the same kernels from Python, TorchScript, torch.export and C++ without Python.
//  - One op per file (stft.cpp, log_mel.cpp, istft.cpp), the concerns they share apart (engine_cache.cpp,
//    args.cpp), acceleration (accelerate.cpp) and the exported C++ entries (eager.cpp, streaming.cpp).
#include "ops/internal.h"
#include "api.h"

#include <torch/custom_class.h>
#include <torch/library.h>

#include <string>
#include <vector>

TORCH_LIBRARY(armstft, m) {
  using namespace armstft;
  const std::vector<at::Tag> pt2 = {at::Tag::pt2_compliant_tag};
  m.def(
      "stft(Tensor self, int n_fft, int? hop_length=None, int? win_length=None, Tensor? window=None, "
      "bool center=True, str pad_mode=\"reflect\", bool normalized=False, bool? onesided=None, "
      "bool? return_complex=None, bool? align_to_window=None) -> Tensor",
      pt2);
  m.def(
      "istft(Tensor self, int n_fft, int? hop_length=None, int? win_length=None, Tensor? window=None, "
      "bool center=True, bool normalized=False, bool? onesided=None, int? length=None, "
      "bool return_complex=False) -> Tensor",
      pt2);
  m.def(
      "log_mel(Tensor self, Tensor fb, int n_fft, int? hop_length=None, int? win_length=None, "
      "Tensor? window=None, bool center=True, str pad_mode=\"reflect\", bool normalized=False, "
      "float power=2.0, float eps=1e-6) -> Tensor",
      pt2);
  m.def(
      "_stft(Tensor self, int n_fft, int hop_length, int win_length, Tensor? window, int pad_left, "
      "int pad_right, str pad_mode, bool normalized, bool onesided) -> Tensor",
      pt2);
  m.def(
      "_istft(Tensor self, int n_fft, int hop_length, int win_length, Tensor? window, bool center, "
      "bool normalized, int? length, bool? onesided) -> Tensor",
      pt2);
  m.def(
      "_log_mel(Tensor self, Tensor fb, int n_fft, int hop_length, int win_length, Tensor? window, "
      "int pad_left, int pad_right, str pad_mode, bool normalized, float power, float eps) -> Tensor",
      pt2);
  m.def("_covers(int n_fft) -> bool", [](int64_t n) { return plan_for(n) != nullptr; });
  m.def("_simd() -> str", []() { return std::string(armstft_simd_name()); });
  m.def("_accelerate(bool on) -> bool", [](bool on) { return set_accelerate(on); });
  m.def("_accelerated() -> bool", []() { return accelerated(); });
  m.def("_counters() -> int[]", []() { return counter_values(); });
  m.class_<StreamingStft>("StreamingStft")
      .def(torch::init<int64_t, int64_t, std::optional<at::Tensor>, bool, int64_t>(), "",
           {torch::arg("n_fft"), torch::arg("hop_length"), torch::arg("window") = c10::IValue(),
            torch::arg("normalized") = false, torch::arg("max_frames") = 64})
      .def("push", &StreamingStft::push)
      .def("flush", &StreamingStft::flush)
      .def("reset", &StreamingStft::reset);
}

TORCH_LIBRARY_IMPL(armstft, CompositeImplicitAutograd, m) {
  m.impl("stft", TORCH_FN(armstft::stft));
  m.impl("istft", TORCH_FN(armstft::istft));
  m.impl("log_mel", TORCH_FN(armstft::log_mel));
}

// The internal ops are not differentiable (the public ops send inputs that need grad to torch's ops);
// an explicit Autograd kernel says so and spares every call autograd's boxed fallback.
TORCH_LIBRARY_IMPL(armstft, Autograd, m) {
  m.impl("_stft", TORCH_FN(armstft::stft_autograd));
  m.impl("_log_mel", TORCH_FN(armstft::log_mel_autograd));
  m.impl("_istft", TORCH_FN(armstft::istft_autograd));
}

TORCH_LIBRARY_IMPL(armstft, CPU, m) {
  m.impl("_stft", TORCH_FN(armstft::stft_cpu));
  m.impl("_log_mel", TORCH_FN(armstft::log_mel_cpu));
  m.impl("_istft", TORCH_FN(armstft::istft_cpu));
}

TORCH_LIBRARY_IMPL(armstft, Meta, m) {
  m.impl("_stft", TORCH_FN(armstft::stft_meta));
  m.impl("_log_mel", TORCH_FN(armstft::log_mel_meta));
  m.impl("_istft", TORCH_FN(armstft::istft_meta));
}

namespace {
// ARMSTFT_ACCELERATE=1 turns acceleration on when the library loads (Python or plain C++ alike), after the
// registrations above (static initialisers of one file run in its order).
struct AccelerateFromEnv {
  AccelerateFromEnv() { armstft::accelerate_from_env(); }
} accelerate_from_env_at_load;
}  // namespace
