// armstft::istft (torch.istft's signature and semantics; onesided, real output) and its internal op
// armstft::_istft on the engine's inverse real FFT; CPU, Meta and Autograd kernels.
#include "ops/internal.h"

#include <ATen/EmptyTensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/istft.h>
#include <ATen/ops/istft_native.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace armstft {
namespace {

// Samples of the output: length, else the overlap-added signal less the centre padding.
c10::SymInt istft_out_len(const c10::SymInt& n_frames, int64_t n_fft, int64_t hop, bool center,
                          std::optional<int64_t> length) {
  if (length.has_value()) return c10::SymInt(*length);
  const c10::SymInt full = (n_frames - 1) * hop + n_fft;
  return center ? full - 2 * (n_fft / 2) : full;
}

void check_istft_args(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                      const std::optional<Tensor>& window) {
  TORCH_CHECK(self.scalar_type() == at::kComplexFloat, "armstft: expected complex64 input, got ", self.scalar_type());
  TORCH_CHECK(self.dim() == 2 || self.dim() == 3, "armstft: expected a 2-D or 3-D spectrum, got ", self.dim(), "-D");
  TORCH_CHECK(plan_for(n_fft) != nullptr, "armstft: no plan for n_fft=", n_fft);
  TORCH_CHECK(self.size(-2) == n_fft / 2 + 1, "armstft: expected n_fft // 2 + 1 = ", n_fft / 2 + 1, " bins, got ",
              self.size(-2));
  TORCH_CHECK(hop >= 1 && hop <= win_length && win_length <= n_fft,
              "armstft: expected 0 < hop_length <= win_length <= n_fft");
  TORCH_CHECK(window.has_value() && window->defined() && window->scalar_type() == at::kFloat &&
                  window->dim() == 1 && window->size(0) == win_length && window->device() == self.device(),
              "armstft: expected a float32 window of win_length=", win_length, " samples beside the input");
}

const c10::TypedOperatorHandle<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&, bool,
                                      bool, std::optional<int64_t>, std::optional<bool>)>&
istft_op() {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("armstft::_istft", "")
                       .typed<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&, bool,
                                     bool, std::optional<int64_t>, std::optional<bool>)>();
  return op;
}

}  // namespace

// onesided: the caller's own argument, passed only so that torch's error for a window violating NOLA
// (raised by torch's own istft, below) reads exactly as torch's.
Tensor istft_cpu(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                 const std::optional<Tensor>& window, bool center, bool normalized, std::optional<int64_t> length,
                 std::optional<bool> onesided) {
  check_istft_args(self, n_fft, hop, win_length, window);
  TORCH_CHECK(self.device().is_cpu(), "armstft: the CPU kernel got a tensor on ", self.device());
  const armstft_plan* plan = plan_for(n_fft);
  const Tensor spec = self.resolve_conj().resolve_neg();
  const bool batched = spec.dim() == 3;
  const int64_t batch = batched ? spec.size(0) : 1, n_frames = spec.size(-1);
  const int64_t out_len = istft_out_len(n_frames, n_fft, hop, center, length).expect_int();
  const int64_t start = center ? n_fft / 2 : 0;
  TORCH_CHECK(n_frames >= 1 && start + out_len <= (n_frames - 1) * hop + n_fft,
              "armstft: the output does not fit in the overlap-added signal");
  Tensor out = batched ? at::detail::empty_cpu({batch, out_len}, at::kFloat)
                       : at::detail::empty_cpu({out_len}, at::kFloat);
  if (batch == 0 || out_len == 0) return out;
  // the window centred in n_fft, as torch.istft pads it
  std::vector<float> w(static_cast<size_t>(n_fft), 0.0f);
  const Tensor wc = window->contiguous();
  std::memcpy(w.data() + (n_fft - win_length) / 2, wc.const_data_ptr<float>(), sizeof(float) * win_length);
  armstft_istft_args a{};
  a.spec = reinterpret_cast<const float*>(spec.const_data_ptr<c10::complex<float>>());
  a.batch = batch;
  a.n_frames = n_frames;
  a.spec_batch_stride = batched ? spec.stride(0) : 0;
  a.bin_stride = spec.stride(-2);
  a.frame_stride = spec.stride(-1);
  a.window = w.data();
  a.hop = hop;
  a.scale = static_cast<float>(normalized ? 1.0 / std::sqrt(static_cast<double>(n_fft)) : 1.0 / n_fft);
  a.start = start;
  a.out_len = out_len;
  a.out = out.mutable_data_ptr<float>();
  a.out_stride = out_len;
  const int status = armstft_istft(plan, &a, scratch_floats(armstft_istft_scratch_floats(plan, hop, n_frames)));
  if (status == ARMSTFT_E_NOLA) {  // torch's own kernel raises torch's own error for it (at::native: with
    // acceleration on, at::istft would come back here)
    return at::native::istft(self, n_fft, hop, win_length, window, center, normalized, onesided, length, false);
  }
  check_status(status, "istft");
  count(kIstft);
  return out;
}

Tensor istft_meta(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                  const std::optional<Tensor>& window, bool center, bool normalized, std::optional<int64_t> length,
                  std::optional<bool> onesided) {
  check_istft_args(self, n_fft, hop, win_length, window);
  const c10::SymInt out_len = istft_out_len(self.sym_size(-1), n_fft, hop, center, length);
  auto opts = self.options().dtype(at::kFloat);
  if (self.dim() == 3) return at::empty_symint({self.sym_size(0), out_len}, opts);
  return at::empty_symint({out_len}, opts);
}

Tensor istft_autograd(c10::DispatchKeySet ks, const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                      const std::optional<Tensor>& window, bool center, bool normalized,
                      std::optional<int64_t> length, std::optional<bool> onesided) {
  check_no_grad("_istft", self, window);
  return istft_op().redispatch(ks & c10::after_autograd_keyset, self, n_fft, hop, win_length, window, center,
                               normalized, length, onesided);
}

// The engine's answer to an istft call, or an undefined tensor when it does not cover the call (then the
// caller runs torch's own istft).  One rule for armstft::istft and the accelerated aten::istft.
Tensor istft_covered(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                     std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
                     bool normalized, std::optional<bool> onesided, std::optional<int64_t> length,
                     bool return_complex) {
  const Tensor& window = opt_tensor(window_opt);
  const int64_t hop = hop_length.value_or(n_fft >> 2), wl = win_length.value_or(n_fft);
  // no window: torch warns (and uses ones); complex output or two-sided input: torch's own path
  bool covered = !return_complex && window.defined() && self.scalar_type() == at::kComplexFloat &&
                 engine_device(self) && (self.dim() == 2 || self.dim() == 3) &&
                 window.scalar_type() == at::kFloat && window.dim() == 1 && window.device() == self.device() &&
                 window.layout() == c10::kStrided && !needs_grad(self, window) && plan_for(n_fft) != nullptr &&
                 hop >= 1 && hop <= wl && wl <= n_fft && window.sym_size(0) == wl;
  if (covered) {
    const c10::SymInt bins = self.sym_size(-2), n_frames = self.sym_size(-1);
    // an empty output is torch's error (the NOLA check reduces over nothing): left to torch
    covered = onesided.value_or(bins != n_fft) && bins == n_fft / 2 + 1 && n_frames >= 1 &&
              (self.dim() == 2 || self.sym_size(0) >= 1) &&
              istft_out_len(n_frames, n_fft, hop, center, length) >= 1;
    if (covered && length.has_value()) {
      const int64_t start = center ? n_fft / 2 : 0;
      covered = (n_frames - 1) * hop + n_fft >= start + *length;  // else torch pads (and warns)
    }
  }
  if (!covered) return Tensor();
  return istft_op().call(self, n_fft, hop, wl, window_opt, center, normalized, length, onesided);
}

// armstft::istft — torch.istft's signature and semantics.
Tensor istft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
             std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
             bool normalized, std::optional<bool> onesided, std::optional<int64_t> length, bool return_complex) {
  Tensor out = istft_covered(self, n_fft, hop_length, win_length, window_opt, center, normalized, onesided, length,
                             return_complex);
  if (out.defined()) return out;
  return at::istft(self, n_fft, hop_length, win_length, window_opt, center, normalized, onesided, length,
                   return_complex);
}

}  // namespace armstft
