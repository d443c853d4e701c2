// Acceleration: the engine behind aten::_fft_r2c, aten::_fft_c2r, aten::stft and aten::istft for the calls it
// covers, registered at dispatch keys the ATen ops leave free (BackendSelect for the FFT primitives,
// AutogradCPU/CPU for the composite stft and istft), so nothing of torch's is overridden and turning it
// off restores torch exactly.  Two exact kernels finish torchaudio's Spectrogram path (torch.stft's
// reflect padding, aten::pad at AutogradCPU/CPU; the complex magnitude, aten::abs at CPU): they give
// torch's own bits, so on the board no caller of F.pad or Tensor.abs sees a different result (abs: torch
// calls glibc's hypotf on aarch64; on x86 it uses SLEEF's vector hypot, at most one ULP from ours).
#include "ops/internal.h"

#include <ATen/EmptyTensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/abs_native.h>
#include <ATen/ops/istft_native.h>
#include <ATen/ops/pad_native.h>
#include <ATen/ops/stft_native.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <cctype>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace armstft {
namespace {

using R2cFn = Tensor(const Tensor&, at::IntArrayRef, int64_t, bool);

c10::DispatchKeySet after_backend_select(c10::DispatchKeySet ks) {
  return ks & c10::DispatchKeySet(c10::DispatchKeySet::FULL_AFTER, c10::DispatchKey::BackendSelect);
}

float fft_norm_scale(int64_t normalization, int64_t n) {
  if (normalization == 1) return static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)));
  if (normalization == 2) return static_cast<float>(1.0 / static_cast<double>(n));
  return 1.0f;
}

// aten::_fft_r2c over the last dim of a float32 CPU tensor: each row one engine frame (rectangular window).
Tensor r2c_engine(const Tensor& self, int64_t normalization, bool onesided) {
  const int64_t n = self.size(-1);
  const armstft_plan* plan = plan_for(n);
  const Tensor x = self.contiguous();
  const int64_t rows = n > 0 ? x.numel() / n : 0;
  const int64_t bins = onesided ? n / 2 + 1 : n;
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = bins;
  Tensor out = at::empty(sizes, x.options().dtype(at::kComplexFloat));
  if (rows == 0) return out;
  auto win = window_for(plan, Tensor(), n, fft_norm_scale(normalization, n));
  const float* xp = x.const_data_ptr<float>();
  float* op = reinterpret_cast<float*>(out.mutable_data_ptr<c10::complex<float>>());
  const size_t scratch = armstft_stft_scratch_floats(plan);
  chunks(rows, 32, [&](int64_t begin, int64_t end) {
    armstft_stft_args a{};
    a.x = xp + begin * n;
    a.batch = end - begin;
    a.len = n;
    a.x_stride = n;
    a.hop = n;
    a.onesided = onesided ? 1 : 0;
    a.out = op + 2 * begin * bins;
    a.n_frames = 1;
    a.frame_stride = 2 * bins;
    a.out_stride = 2 * bins;
    check_status(armstft_stft(plan, win->win, &a, scratch_floats(scratch)), "_fft_r2c");
  });
  count(kR2c);
  return out;
}

Tensor r2c_backend_select(c10::DispatchKeySet ks, const Tensor& self, at::IntArrayRef dim, int64_t normalization,
                          bool onesided) {
  if (self.scalar_type() == at::kFloat && self.device().is_cpu() && self.layout() == c10::kStrided &&
      self.dim() >= 1 && dim.size() == 1 && dim[0] == self.dim() - 1 && normalization >= 0 && normalization <= 2 &&
      !self.is_neg() && !self.is_conj() && plan_for(self.size(-1)) != nullptr) {
    return r2c_engine(self, normalization, onesided);
  }
  static auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("aten::_fft_r2c", "").typed<R2cFn>();
  return op.redispatch(after_backend_select(ks), self, dim, normalization, onesided);
}

using C2rFn = Tensor(const Tensor&, at::IntArrayRef, int64_t, c10::SymInt);

// aten::_fft_c2r over the last dim: each row of n/2+1 bins one inverse engine frame.
Tensor c2r_engine(const Tensor& self, int64_t normalization, int64_t n) {
  const armstft_plan* plan = plan_for(n);
  const Tensor x = self.contiguous();
  const int64_t bins = n / 2 + 1, rows = x.numel() / bins;
  std::vector<int64_t> sizes(x.sizes().begin(), x.sizes().end());
  sizes.back() = n;
  Tensor out = at::detail::empty_cpu(sizes, at::kFloat);
  if (rows == 0) return out;
  const float scale = fft_norm_scale(normalization, n);
  const float* xp = reinterpret_cast<const float*>(x.const_data_ptr<c10::complex<float>>());
  float* op = out.mutable_data_ptr<float>();
  const size_t scratch = armstft_plan_scratch(plan) + 16;
  chunks(rows, 32, [&](int64_t begin, int64_t end) {
    float* s = scratch_floats(scratch);
    for (int64_t r = begin; r < end; r++) armstft_irfft_frame(plan, xp + 2 * r * bins, scale, op + r * n, s);
  });
  count(kC2r);
  return out;
}

Tensor c2r_backend_select(c10::DispatchKeySet ks, const Tensor& self, at::IntArrayRef dim, int64_t normalization,
                          int64_t last_dim_size) {
  if (self.scalar_type() == at::kComplexFloat && self.device().is_cpu() && self.layout() == c10::kStrided &&
      self.dim() >= 1 && dim.size() == 1 && dim[0] == self.dim() - 1 && normalization >= 0 && normalization <= 2 &&
      !self.is_neg() && !self.is_conj() && self.size(-1) == last_dim_size / 2 + 1 &&
      plan_for(last_dim_size) != nullptr) {
    return c2r_engine(self, normalization, last_dim_size);
  }
  static auto op = c10::Dispatcher::singleton().findSchemaOrThrow("aten::_fft_c2r", "").typed<C2rFn>();
  return op.redispatch(after_backend_select(ks), self, dim, normalization, c10::SymInt(last_dim_size));
}

// aten::stft(.center): the engine when covered, else torch's own composite (at::native::stft), which
// dispatches its parts as usual (and so stays differentiable).
Tensor aten_stft_center(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                        std::optional<int64_t> win_length, const std::optional<Tensor>& window, bool center,
                        c10::string_view pad_mode, bool normalized, std::optional<bool> onesided,
                        std::optional<bool> return_complex, std::optional<bool> align_to_window) {
  if (!(center && align_to_window.has_value())) {
    Tensor out = stft_covered(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                              return_complex, align_to_window, /*check_grad=*/true);
    if (out.defined()) {
      count(kAtenStft);
      return out;
    }
  }
  return at::native::stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                          return_complex, align_to_window);
}

Tensor aten_stft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                 std::optional<int64_t> win_length, const std::optional<Tensor>& window, bool normalized,
                 std::optional<bool> onesided, std::optional<bool> return_complex,
                 std::optional<bool> align_to_window) {
  Tensor out = stft_covered(self, n_fft, hop_length, win_length, window, false, "constant", normalized, onesided,
                            return_complex, align_to_window, /*check_grad=*/true);
  if (out.defined()) {
    count(kAtenStft);
    return out;
  }
  return at::native::stft(self, n_fft, hop_length, win_length, window, normalized, onesided, return_complex,
                          align_to_window);
}

// aten::istft: the engine when covered (counted as kIstft by the internal op's kernel), else torch's own
// composite (at::native::istft), which dispatches its parts as usual (and so stays differentiable).
Tensor aten_istft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                  std::optional<int64_t> win_length, const std::optional<Tensor>& window, bool center,
                  bool normalized, std::optional<bool> onesided, std::optional<int64_t> length,
                  bool return_complex) {
  Tensor out = istft_covered(self, n_fft, hop_length, win_length, window, center, normalized, onesided, length,
                             return_complex);
  if (out.defined()) return out;
  return at::native::istft(self, n_fft, hop_length, win_length, window, center, normalized, onesided, length,
                           return_complex);
}

// aten::abs of a complex64 CPU tensor laid out densely (any strides that tile its storage without gaps or
// overlaps, as torch.stft's (bins, frames) output with frames outermost): the magnitudes in the same
// layout, computed as torch computes them on aarch64 (glibc's hypotf, bit for bit: src/cabs.c) but on
// whole vectors and without torch's intermediate complex buffer.  Registered at the CPU key only, so
// autograd's abs (above it) still records the call and its backward is torch's.  Every other call
// (real dtypes, complex128, conjugate or negative views, gaps in the layout) is torch's own kernel.
Tensor aten_abs(const Tensor& self) {
  if (self.scalar_type() == at::kComplexFloat && self.device().is_cpu() && self.layout() == c10::kStrided &&
      !self.is_conj() && !self.is_neg() && self.is_non_overlapping_and_dense()) {
    Tensor out = at::detail::empty_strided_cpu(self.sizes(), self.strides(), at::kFloat);
    const int64_t n = self.numel();
    if (n == 0) return out;
    const float* zp = reinterpret_cast<const float*>(self.const_data_ptr<c10::complex<float>>());
    float* op = out.mutable_data_ptr<float>();
    chunks(n, 32768, [&](int64_t begin, int64_t end) { armstft_cabs(zp + 2 * begin, op + begin, end - begin); });
    count(kAbs);
    return out;
  }
  return at::native::abs(self);
}

// A plain CPU tensor: no tensor subclass or FakeTensor (Python key), no functionalization, no functorch
// wrapper, and no TorchDispatchMode active.  The pad kernel below computes in place of a composite op at
// the AutogradCPU key, above those keys, so it must leave all of them to torch's own kernels.
bool plain_cpu_tensor(const Tensor& t) {
  const auto allowed = c10::DispatchKeySet({c10::DispatchKey::CPU, c10::DispatchKey::AutogradCPU,
                                            c10::DispatchKey::ADInplaceOrView, c10::DispatchKey::AutocastCPU});
  return t.device().is_cpu() && t.layout() == c10::kStrided && (t.key_set() & allowed) == t.key_set() &&
         !c10::impl::tls_is_dispatch_key_included(c10::DispatchKey::Python);
}

// aten::pad (F.pad) in "reflect" mode over the last dim of a contiguous float32 (C, W) or (N, C, W)
// tensor: what torch.stft's Python wrapper does to the whole clip before aten::stft is reached (center).
// Pure data movement, so the result is torch's bit for bit: each row is the reflected left edge
// x[l], ..., x[1], the row itself, then x[W-2], ..., x[W-1-r].  Every other call (other modes, dims or
// dtypes, pads torch refuses, grad, symbolic sizes) is torch's own composite (at::native::pad).
Tensor aten_pad(const Tensor& self, c10::SymIntArrayRef pad, c10::string_view mode, std::optional<double> value) {
  // a plain CPU tensor first: only then are its sizes concrete (a FakeTensor's may be symbolic)
  const bool covered = mode == "reflect" && !value.has_value() && pad.size() == 2 && plain_cpu_tensor(self) &&
                       self.scalar_type() == at::kFloat && (self.dim() == 2 || self.dim() == 3) &&
                       self.is_contiguous() && !needs_grad(self);
  const auto l = covered ? pad[0].maybe_as_int() : std::nullopt;
  const auto r = covered ? pad[1].maybe_as_int() : std::nullopt;
  const int64_t w = covered ? self.size(-1) : 0;
  if (l && r && *l >= 0 && *r >= 0 && *l + *r > 0 && *l < w && *r < w) {
    const int64_t rows = self.numel() / w, ow = w + *l + *r;
    std::vector<int64_t> sizes(self.sizes().begin(), self.sizes().end());
    sizes.back() = ow;
    Tensor out = at::detail::empty_cpu(sizes, at::kFloat);
    const float* xp = self.const_data_ptr<float>();
    float* op = out.mutable_data_ptr<float>();
    for (int64_t i = 0; i < rows; i++) {
      const float* x = xp + i * w;
      float* o = op + i * ow;
      for (int64_t j = 0; j < *l; j++) o[j] = x[*l - j];
      std::memcpy(o + *l, x, sizeof(float) * w);
      for (int64_t k = 0; k < *r; k++) o[*l + w + k] = x[w - 2 - k];
    }
    count(kPad);
    return out;
  }
  return at::native::pad_symint(self, pad, mode, value);
}

struct Acceleration {
  std::mutex mu;
  std::vector<std::unique_ptr<torch::Library>> libs;
};

Acceleration& acceleration() {
  static auto* a = new Acceleration();
  return *a;
}

bool env_true(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  std::string s(v);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "1" || s == "on" || s == "true" || s == "yes";
}

}  // namespace

// Turns acceleration on or off; returns whether it was on.
bool set_accelerate(bool on) {
  auto& acc = acceleration();
  std::lock_guard<std::mutex> lock(acc.mu);
  const bool was = !acc.libs.empty();
  if (on && !was) {
    auto bs = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", c10::DispatchKey::BackendSelect,
                                               __FILE__, __LINE__);
    bs->impl("_fft_r2c", TORCH_FN(r2c_backend_select));
    bs->impl("_fft_c2r", TORCH_FN(c2r_backend_select));
    for (auto key : {c10::DispatchKey::AutogradCPU, c10::DispatchKey::CPU}) {
      auto lib = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", key, __FILE__, __LINE__);
      lib->impl("stft", TORCH_FN(aten_stft));
      lib->impl("stft.center", TORCH_FN(aten_stft_center));
      lib->impl("istft", TORCH_FN(aten_istft));
      lib->impl("pad", TORCH_FN(aten_pad));
      if (key == c10::DispatchKey::CPU) lib->impl("abs", TORCH_FN(aten_abs));  // below autograd's abs
      acc.libs.push_back(std::move(lib));
    }
    acc.libs.push_back(std::move(bs));
  } else if (!on && was) {
    acc.libs.clear();
  }
  return was;
}

bool accelerated() {
  auto& acc = acceleration();
  std::lock_guard<std::mutex> lock(acc.mu);
  return !acc.libs.empty();
}

void accelerate_from_env() {
  if (env_true("ARMSTFT_ACCELERATE")) set_accelerate(true);
}

}  // namespace armstft
