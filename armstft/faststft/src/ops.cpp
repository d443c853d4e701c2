// The armstft operator library: torch.ops.armstft.{stft, istft, log_mel}, their CPU and Meta kernels, the
// StreamingStft class, and the opt-in acceleration of aten::stft / aten::_fft_r2c / aten::_fft_c2r.
//
// Why this shape (one translation unit, see docs/fast-stft.md):
//  - The public ops (stft, istft, log_mel) are CompositeImplicitAutograd: they run above autograd and decide
//    per call.  A call the engine covers (float32, no grad, a planned size, arguments torch accepts) goes to
//    an internal op (_stft, _istft, _log_mel) that has a CPU kernel on the engine and a Meta kernel, so
//    FakeTensor, torch.compile and torch.export see shapes without touching data.  Every other call goes to
//    torch's own ops, which give torch's result, torch's error, and stay differentiable (backward, forward
//    AD, vmap) — that fallback is the autograd story.
//  - The dispatcher reaches the same kernels from Python, TorchScript, torch.export and C++ without Python.
//  - Acceleration registers kernels at dispatch keys the ATen ops leave free (BackendSelect for the FFT
//    primitives, AutogradCPU/CPU for the composite stft), so nothing of torch's is overridden and turning
//    it off restores torch exactly; calls the engine does not cover are redispatched to torch's kernels.
#include <ATen/EmptyTensor.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_strided.h>
#include <ATen/ops/istft.h>
#include <ATen/ops/istft_native.h>
#include <ATen/ops/log.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/stft.h>
#include <ATen/ops/stft_native.h>
#include <ATen/ops/view_as_real.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "api.h"

namespace armstft {
namespace {

using at::Tensor;

// ---------------------------------------------------------------------------------------------------------
// Engine objects, made once and shared: plans per size, prepared windows and mel banks keyed on content.

// Plans are never freed (a handful per process); a size without a plan is remembered as nullptr.
const armstft_plan* plan_for(int64_t n) {
  thread_local int64_t last_n = -1;  // per-thread memo of the last lookup: no lock on the hot path
  thread_local const armstft_plan* last = nullptr;
  if (n == last_n) return last;
  if (n < 1 || n > ARMSTFT_MAX_N_FFT) return nullptr;
  static std::mutex mu;
  static auto* plans = new std::unordered_map<int64_t, armstft_plan*>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = plans->find(n);
  if (it == plans->end()) it = plans->emplace(n, armstft_plan_new(static_cast<int>(n))).first;
  last_n = n;
  last = it->second;
  return last;
}

void check_status(int status, const char* what) {
  TORCH_CHECK(status == ARMSTFT_OK, "armstft: ", what, ": ", armstft_status_text(status));
}

// A window split for one plan.  The shared cache is keyed on the window's *content* (plus size and scale),
// compared in full: a tensor freed and reallocated at the same address, or another tensor with the same
// values, is matched by what it holds.  In front of it each thread remembers the last window *tensor* it
// used: the same live tensor (held weakly) whose version counter has not moved since is the same content,
// so the steady state costs a few compares instead of win_length.  (Writes that bypass the version
// counter — numpy views, raw data pointers — are not seen by that memo; torch itself relies on the same
// counter for autograd's saved tensors.)  Inference tensors have no version counter: always compared.
struct PreparedWindow {
  int64_t n = 0, win_length = 0;
  float scale = 0.0f;
  bool rectangular = true;
  std::vector<float> content;
  armstft_window* win = nullptr;
  ~PreparedWindow() { armstft_window_free(win); }
};

// Identity of a tensor at one moment: same object, storage and version means same content.
struct TensorStamp {
  const void* impl = nullptr;
  const void* data = nullptr;
  int64_t version = -1;
  std::optional<c10::weak_intrusive_ptr<c10::TensorImpl>> alive;

  static bool stampable(const Tensor& t) { return t.defined() && !t.is_inference(); }
  bool matches(const Tensor& t) const {
    return impl == t.unsafeGetTensorImpl() && data == t.const_data_ptr() && alive && !alive->expired() &&
           version == static_cast<int64_t>(t._version());
  }
  void set(const Tensor& t) {
    impl = t.unsafeGetTensorImpl();
    data = t.const_data_ptr();
    version = static_cast<int64_t>(t._version());
    alive.emplace(t.getIntrusivePtr());
  }
};

std::shared_ptr<const PreparedWindow> window_by_content(const armstft_plan* plan, const float* window,
                                                        int64_t win_length, float scale) {
  static std::mutex mu;
  static auto* cache = new std::vector<std::shared_ptr<const PreparedWindow>>();
  constexpr size_t kMaxEntries = 16;
  const int64_t n = armstft_plan_size(plan);
  const size_t bytes = sizeof(float) * static_cast<size_t>(win_length);
  {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < cache->size(); i++) {
      const auto& e = (*cache)[i];
      if (e->n != n || e->win_length != win_length || e->scale != scale || e->rectangular != (window == nullptr))
        continue;
      if (window && std::memcmp(e->content.data(), window, bytes) != 0) continue;
      auto hit = e;
      if (i > 0) std::swap((*cache)[i], (*cache)[0]);  // most recent first
      return hit;
    }
  }
  auto entry = std::make_shared<PreparedWindow>();
  entry->n = n;
  entry->win_length = win_length;
  entry->scale = scale;
  entry->rectangular = window == nullptr;
  if (window) entry->content.assign(window, window + win_length);
  int status = ARMSTFT_OK;
  entry->win = armstft_window_new(plan, window, win_length, scale, &status);
  check_status(status, "window");
  std::lock_guard<std::mutex> lock(mu);
  cache->insert(cache->begin(), entry);
  if (cache->size() > kMaxEntries) cache->pop_back();
  return entry;
}

// window: float32 (win_length,) or undefined (rectangular).
std::shared_ptr<const PreparedWindow> window_for(const armstft_plan* plan, const Tensor& window,
                                                 int64_t win_length, float scale) {
  struct Memo {
    TensorStamp stamp;
    std::shared_ptr<const PreparedWindow> entry;
  };
  thread_local Memo memo;
  const int64_t n = armstft_plan_size(plan);
  const auto& e = memo.entry;
  if (e && e->n == n && e->win_length == win_length && e->scale == scale) {
    if (!window.defined() && e->rectangular) return e;
    if (window.defined() && !e->rectangular && memo.stamp.matches(window)) return e;
  }
  const Tensor w = window.defined() ? window.contiguous() : Tensor();
  auto entry = window_by_content(plan, w.defined() ? w.const_data_ptr<float>() : nullptr, win_length, scale);
  memo.entry = entry;
  memo.stamp = TensorStamp();
  if (TensorStamp::stampable(window)) memo.stamp.set(window);
  return entry;
}

// A sparse mel filterbank (~10k floats: too many to compare per call).  Keyed like the window memo: the
// same live filterbank tensor, not changed in place since (version counter), gets the same bank; any
// other tensor — and every inference tensor, which has no version counter — is compared by content.
struct PreparedMel {
  int64_t n_freqs = 0, n_mels = 0;
  std::vector<float> content;
  armstft_melbank* bank = nullptr;
  ~PreparedMel() { armstft_melbank_free(bank); }
};

std::shared_ptr<const PreparedMel> melbank_for(const Tensor& fb) {
  struct Memo {
    TensorStamp stamp;
    std::shared_ptr<const PreparedMel> entry;
  };
  thread_local Memo memo;
  if (memo.entry && memo.stamp.matches(fb)) return memo.entry;
  static std::mutex mu;
  static auto* cache = new std::vector<std::shared_ptr<const PreparedMel>>();
  constexpr size_t kMaxEntries = 8;
  const Tensor c = fb.contiguous();
  const float* data = c.const_data_ptr<float>();
  const int64_t n_freqs = c.size(0), n_mels = c.size(1);
  const size_t bytes = sizeof(float) * static_cast<size_t>(n_freqs * n_mels);
  std::shared_ptr<const PreparedMel> found;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < cache->size() && !found; i++) {
      const auto& e = (*cache)[i];
      if (e->n_freqs == n_freqs && e->n_mels == n_mels && std::memcmp(e->content.data(), data, bytes) == 0)
        found = e;
    }
  }
  if (!found) {
    auto entry = std::make_shared<PreparedMel>();
    entry->n_freqs = n_freqs;
    entry->n_mels = n_mels;
    entry->content.assign(data, data + n_freqs * n_mels);
    int status = ARMSTFT_OK;
    entry->bank = armstft_melbank_new(data, n_freqs, n_mels, &status);
    check_status(status, "mel filterbank");
    std::lock_guard<std::mutex> lock(mu);
    cache->insert(cache->begin(), entry);
    if (cache->size() > kMaxEntries) cache->pop_back();
    found = entry;
  }
  memo.entry = found;
  memo.stamp = TensorStamp();
  if (TensorStamp::stampable(fb)) memo.stamp.set(fb);
  return found;
}

// Per-thread scratch: no allocation per call in steady state.
float* scratch_floats(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Calls the engine answered, by kind (tests assert the engine really ran; `armstft info` reports them).
enum Counter { kStft, kLogMel, kIstft, kR2c, kC2r, kAtenStft, kNumCounters };
std::array<std::atomic<int64_t>, kNumCounters> counters{};
void count(Counter c) { counters[c].fetch_add(1, std::memory_order_relaxed); }

// ---------------------------------------------------------------------------------------------------------
// Argument decisions shared by the public ops and the aten::stft acceleration.

int pad_mode_code(c10::string_view mode) {
  if (mode == "constant") return ARMSTFT_PAD_CONSTANT;
  if (mode == "reflect") return ARMSTFT_PAD_REFLECT;
  if (mode == "replicate") return ARMSTFT_PAD_REPLICATE;
  if (mode == "circular") return ARMSTFT_PAD_CIRCULAR;
  return -1;
}

bool fw_grad(const Tensor& t) { return t.defined() && t._fw_grad(/*level=*/0).defined(); }

// True when the call needs autograd (reverse or forward): those go to torch's differentiable ops.
bool needs_grad(const Tensor& a, const Tensor& b = Tensor()) {
  if (c10::GradMode::is_enabled() && (a.requires_grad() || (b.defined() && b.requires_grad()))) return true;
  return fw_grad(a) || fw_grad(b);
}

bool engine_device(const Tensor& t) {
  const auto type = t.device().type();
  return t.layout() == c10::kStrided && (type == c10::DeviceType::CPU || type == c10::DeviceType::Meta);
}

// Framing of a covered call, after every check torch would make has passed.
struct Framing {
  int64_t hop = 0, win_length = 0, pad_left = 0, pad_right = 0;
  int pad_mode = ARMSTFT_PAD_CONSTANT;
  bool onesided = true;
};

// The framing of an stft-like call, or nullopt when the engine does not cover it (then torch decides).
// Lengths may be symbolic (torch.compile / torch.export with dynamic shapes): only relations are guarded.
std::optional<Framing> covered_framing(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_opt,
                                       std::optional<int64_t> win_opt, const Tensor& window, bool center,
                                       c10::string_view pad_mode, std::optional<bool> onesided_opt,
                                       std::optional<bool> align_opt, bool check_grad) {
  if (self.scalar_type() != at::kFloat || !engine_device(self)) return std::nullopt;
  if (self.dim() < 1 || self.dim() > 2) return std::nullopt;
  if (window.defined() && (window.scalar_type() != at::kFloat || window.dim() != 1 ||
                           window.device() != self.device() || window.layout() != c10::kStrided))
    return std::nullopt;
  if (check_grad && needs_grad(self, window)) return std::nullopt;
  if (plan_for(n_fft) == nullptr) return std::nullopt;
  Framing f;
  f.hop = hop_opt.value_or(n_fft >> 2);
  f.win_length = win_opt.value_or(n_fft);
  if (f.hop <= 0 || f.win_length <= 0 || f.win_length > n_fft) return std::nullopt;
  if (window.defined() && window.sym_size(0) != f.win_length) return std::nullopt;
  f.onesided = onesided_opt.value_or(true);
  const c10::SymInt len = self.sym_size(-1);
  if (self.dim() == 2 && !(self.sym_size(0) >= 1)) return std::nullopt;
  if (center) {
    f.pad_mode = pad_mode_code(pad_mode);
    if (f.pad_mode < 0) return std::nullopt;
    f.pad_left = f.pad_right = n_fft / 2;
    if (!(len >= 1)) return std::nullopt;
    if (f.pad_mode == ARMSTFT_PAD_REFLECT && !(len > f.pad_left))
      return std::nullopt;
    if (f.pad_mode == ARMSTFT_PAD_CIRCULAR && !(len >= f.pad_left))
      return std::nullopt;
  } else if (align_opt.value_or(false)) {
    if ((n_fft - f.win_length) % 2 != 0) return std::nullopt;  // torch itself fails on these
    f.pad_left = f.pad_right = (n_fft - f.win_length) / 2;
  }
  if (!(len + f.pad_left + f.pad_right >= n_fft)) return std::nullopt;
  return f;
}

void warn_like_torch_stft(const Tensor& window, bool return_complex) {
  if (!window.defined()) {
    TORCH_WARN_ONCE(
        "A window was not provided. A rectangular window will be applied,"
        "which is known to cause spectral leakage. "
        "Other windows such as torch.hann_window or torch.hamming_window "
        "are recommended to reduce spectral leakage."
        "To suppress this warning and use a rectangular window, explicitly set "
        "`window=torch.ones(n_fft, device=<device>)`.");
  }
  if (!return_complex) {
    TORCH_WARN_ONCE(
        "stft with return_complex=False is deprecated. In a future pytorch "
        "release, stft will return complex tensors for all inputs, and "
        "return_complex=False will raise an error.\n"
        "Note: you can still call torch.view_as_real on the complex output to "
        "recover the old return format.");
  }
}

// ---------------------------------------------------------------------------------------------------------
// _stft: the engine's STFT.  Output complex64 (..., n_freq, n_frames) with torch.stft's strides.

c10::SymInt frames_of(const c10::SymInt& len, int64_t n_fft, int64_t hop, int64_t pad_left, int64_t pad_right) {
  return (len + pad_left + pad_right - n_fft) / hop + 1;
}

Tensor empty_spectrum(const Tensor& self, int64_t rows, const c10::SymInt& n_frames, at::ScalarType dtype) {
  auto opts = self.options().dtype(dtype);
  if (self.dim() == 1) return at::empty_strided_symint({rows, n_frames}, {1, rows}, opts);
  return at::empty_strided_symint({self.sym_size(0), rows, n_frames}, {n_frames * rows, 1, rows}, opts);
}

// The CPU kernel allocates as ATen's own CPU kernels do (no second trip through the dispatcher).
Tensor empty_spectrum_cpu(const Tensor& self, int64_t rows, int64_t n_frames) {
  if (self.dim() == 1) return at::detail::empty_strided_cpu({rows, n_frames}, {1, rows}, at::kComplexFloat);
  return at::detail::empty_strided_cpu({self.size(0), rows, n_frames}, {n_frames * rows, 1, rows},
                                       at::kComplexFloat);
}

void check_internal_args(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                         const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right) {
  TORCH_CHECK(self.scalar_type() == at::kFloat, "armstft: expected float32 input, got ", self.scalar_type());
  TORCH_CHECK(self.dim() == 1 || self.dim() == 2, "armstft: expected a 1-D or 2-D input, got ", self.dim(),
              "-D");
  TORCH_CHECK(plan_for(n_fft) != nullptr, "armstft: no plan for n_fft=", n_fft);
  TORCH_CHECK(hop >= 1, "armstft: expected hop_length >= 1, got ", hop);
  TORCH_CHECK(win_length >= 1 && win_length <= n_fft, "armstft: expected 1 <= win_length <= n_fft, got ",
              win_length);
  TORCH_CHECK(pad_left >= 0 && pad_right >= 0 && pad_left <= n_fft && pad_right <= n_fft,
              "armstft: padding out of range");
  if (window.has_value() && window->defined()) {
    TORCH_CHECK(window->scalar_type() == at::kFloat && window->dim() == 1 && window->size(0) == win_length,
                "armstft: expected a float32 window of win_length=", win_length, " samples");
    TORCH_CHECK(window->device() == self.device(), "armstft: window on ", window->device(), ", input on ",
                self.device());
  }
}

// The input as rows the engine can read: last stride 1, rows apart by a stride >= len.
Tensor engine_rows(const Tensor& self, int64_t* row_stride) {
  Tensor x = self;
  const int64_t len = self.size(-1);
  if (x.stride(-1) != 1 || (x.dim() == 2 && x.size(0) > 1 && x.stride(0) < len)) x = x.contiguous();
  *row_stride = x.dim() == 2 ? x.stride(0) : len;
  return x;
}

const Tensor& opt_tensor(const std::optional<Tensor>& t) {
  static const Tensor undefined;
  return t.has_value() ? *t : undefined;
}

// Runs fn(begin, end) over [0, total) in chunks across threads; inline when there is one chunk.
template <typename F>
void chunks(int64_t total, int64_t grain, const F& fn) {
  if (total <= grain || at::get_num_threads() == 1) {
    fn(int64_t{0}, total);
  } else {
    at::parallel_for(0, total, grain, fn);
  }
}

// The engine's STFT of a checked call: f holds the framing, window is float32 (win_length,) or undefined.
Tensor stft_compute(const Tensor& self, int64_t n_fft, const Framing& f, const Tensor& window, bool normalized) {
  const armstft_plan* plan = plan_for(n_fft);
  int64_t row_stride = 0;
  const Tensor x = engine_rows(self, &row_stride);
  const int64_t len = x.size(-1), batch = x.dim() == 2 ? x.size(0) : 1;
  TORCH_CHECK(len + f.pad_left + f.pad_right >= n_fft, "armstft: signal shorter than one frame");
  const int64_t n_frames = (len + f.pad_left + f.pad_right - n_fft) / f.hop + 1;
  const int64_t rows = f.onesided ? n_fft / 2 + 1 : n_fft;
  Tensor out = empty_spectrum_cpu(x, rows, n_frames);
  if (batch == 0) return out;
  const float scale = normalized ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(n_fft))) : 1.0f;
  auto win = window_for(plan, window, f.win_length, scale);
  const float* xp = x.const_data_ptr<float>();
  float* op = reinterpret_cast<float*>(out.mutable_data_ptr<c10::complex<float>>());
  const size_t scratch = armstft_stft_scratch_floats(plan);
  // frames in chunks across threads (one chunk when single-threaded): each chunk is its own engine call
  chunks(batch * n_frames, 32, [&](int64_t begin, int64_t end) {
    float* s = scratch_floats(scratch);
    for (int64_t i = begin; i < end;) {
      const int64_t b = i / n_frames, t0 = i % n_frames, count_ = std::min(end - i, n_frames - t0);
      armstft_stft_args a{};
      a.x = xp + b * row_stride;
      a.batch = 1;
      a.len = len;
      a.x_stride = len;
      a.hop = f.hop;
      a.first_frame = t0;
      a.pad_left = f.pad_left;
      a.pad_right = f.pad_right;
      a.pad_mode = f.pad_mode;
      a.onesided = f.onesided ? 1 : 0;
      a.out = op + 2 * (b * n_frames * rows + t0 * rows);
      a.n_frames = count_;
      a.frame_stride = 2 * rows;
      a.out_stride = 2 * rows * n_frames;
      check_status(armstft_stft(plan, win->win, &a, s), "stft");
      i += count_;
    }
  });
  count(kStft);
  return out;
}

Tensor stft_cpu(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                c10::string_view pad_mode, bool normalized, bool onesided) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  TORCH_CHECK(self.device().is_cpu(), "armstft: the CPU kernel got a tensor on ", self.device());
  Framing f;
  f.hop = hop;
  f.win_length = win_length;
  f.pad_left = pad_left;
  f.pad_right = pad_right;
  f.pad_mode = pad_mode_code(pad_mode);
  f.onesided = onesided;
  TORCH_CHECK(f.pad_mode >= 0, "armstft: unknown pad_mode '", pad_mode, "'");
  return stft_compute(self, n_fft, f, opt_tensor(window), normalized);
}

Tensor stft_meta(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                 const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                 c10::string_view pad_mode, bool normalized, bool onesided) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  TORCH_CHECK(pad_mode_code(pad_mode) >= 0, "armstft: unknown pad_mode '", pad_mode, "'");
  const int64_t rows = onesided ? n_fft / 2 + 1 : n_fft;
  return empty_spectrum(self, rows, frames_of(self.sym_size(-1), n_fft, hop, pad_left, pad_right),
                        at::kComplexFloat);
}

const c10::TypedOperatorHandle<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&,
                                      int64_t, int64_t, c10::string_view, bool, bool)>&
stft_op() {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("armstft::_stft", "")
                       .typed<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&,
                                     int64_t, int64_t, c10::string_view, bool, bool)>();
  return op;
}

// The engine's answer to an stft call, or an undefined tensor when it does not cover the call.
Tensor stft_covered(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_opt,
                    std::optional<int64_t> win_opt, const std::optional<Tensor>& window_opt, bool center,
                    c10::string_view pad_mode, bool normalized, std::optional<bool> onesided_opt,
                    std::optional<bool> return_complex_opt, std::optional<bool> align_opt, bool check_grad) {
  if (!return_complex_opt.has_value() || self.is_complex()) return Tensor();  // torch errors / two-sided
  const Tensor window = window_opt.has_value() ? *window_opt : Tensor();
  auto f = covered_framing(self, n_fft, hop_opt, win_opt, window, center, pad_mode, onesided_opt, align_opt,
                           check_grad);
  if (!f) return Tensor();
  warn_like_torch_stft(window, *return_complex_opt);
  Tensor spec = stft_op().call(self, n_fft, f->hop, f->win_length, window_opt, f->pad_left, f->pad_right,
                               center ? pad_mode : c10::string_view("constant"), normalized, f->onesided);
  return *return_complex_opt ? spec : at::view_as_real(spec);
}

void check_no_grad(const char* op, const Tensor& a, const std::optional<Tensor>& b) {
  TORCH_CHECK(!needs_grad(a, opt_tensor(b)), "armstft::", op, " is not differentiable: call armstft::",
              op + 1, ", which hands inputs that need grad to torch's differentiable ops");
}

Tensor stft_autograd(c10::DispatchKeySet ks, const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                     const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                     c10::string_view pad_mode, bool normalized, bool onesided) {
  check_no_grad("_stft", self, window);
  return stft_op().redispatch(ks & c10::after_autograd_keyset, self, n_fft, hop, win_length, window, pad_left,
                              pad_right, pad_mode, normalized, onesided);
}

// armstft::stft — torch.stft's signature and semantics.
Tensor stft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
            std::optional<int64_t> win_length, const std::optional<Tensor>& window, bool center,
            c10::string_view pad_mode, bool normalized, std::optional<bool> onesided,
            std::optional<bool> return_complex, std::optional<bool> align_to_window) {
  TORCH_CHECK(!(center && align_to_window.has_value()),
              "stft align_to_window should only be set when center = false");
  Tensor out = stft_covered(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                            return_complex, align_to_window, /*check_grad=*/true);
  if (out.defined()) return out;
  return at::stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                  return_complex, align_to_window);
}

// ---------------------------------------------------------------------------------------------------------
// _log_mel / log_mel: log(fb^T |stft|^power + eps), (..., n_mels, n_frames) float32.

void check_log_mel_args(const Tensor& self, const Tensor& fb, int64_t n_fft, double power, double eps) {
  TORCH_CHECK(fb.scalar_type() == at::kFloat && fb.dim() == 2 && fb.size(0) == n_fft / 2 + 1,
              "armstft: expected a float32 filterbank of shape (n_fft // 2 + 1, n_mels), got ", fb.sizes());
  TORCH_CHECK(fb.device() == self.device(), "armstft: filterbank on ", fb.device(), ", input on ", self.device());
  TORCH_CHECK(power == 1.0 || power == 2.0, "armstft: expected power 1 or 2, got ", power);
  TORCH_CHECK(std::isfinite(eps) && eps >= 0.0, "armstft: expected a finite eps >= 0, got ", eps);
}

Tensor log_mel_cpu(const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop, int64_t win_length,
                   const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                   c10::string_view pad_mode, bool normalized, double power, double eps) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  check_log_mel_args(self, fb, n_fft, power, eps);
  const int mode = pad_mode_code(pad_mode);
  TORCH_CHECK(mode >= 0, "armstft: unknown pad_mode '", pad_mode, "'");
  TORCH_CHECK(self.device().is_cpu(), "armstft: the CPU kernel got a tensor on ", self.device());
  const armstft_plan* plan = plan_for(n_fft);
  int64_t row_stride = 0;
  const Tensor x = engine_rows(self, &row_stride);
  const int64_t len = x.size(-1), batch = x.dim() == 2 ? x.size(0) : 1;
  TORCH_CHECK(len + pad_left + pad_right >= n_fft, "armstft: signal shorter than one frame");
  const int64_t n_frames = (len + pad_left + pad_right - n_fft) / hop + 1;
  const int64_t n_mels = fb.size(1);
  Tensor out = self.dim() == 1 ? at::empty({n_mels, n_frames}, x.options())
                               : at::empty({batch, n_mels, n_frames}, x.options());
  if (batch == 0) return out;
  auto mel = melbank_for(fb);
  const float scale = normalized ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(n_fft))) : 1.0f;
  auto win = window_for(plan, opt_tensor(window), win_length, scale);
  const float* xp = x.const_data_ptr<float>();
  float* op = out.mutable_data_ptr<float>();
  chunks(batch * n_frames, 32, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t b = i / n_frames, t0 = i % n_frames, count_ = std::min(end - i, n_frames - t0);
      armstft_logmel_args a{};
      a.stft.x = xp + b * row_stride;
      a.stft.batch = 1;
      a.stft.len = len;
      a.stft.x_stride = len;
      a.stft.hop = hop;
      a.stft.first_frame = t0;
      a.stft.pad_left = pad_left;
      a.stft.pad_right = pad_right;
      a.stft.pad_mode = mode;
      a.stft.onesided = 1;
      a.stft.n_frames = count_;
      a.power = static_cast<float>(power);
      a.eps = static_cast<float>(eps);
      a.out = op + b * n_mels * n_frames + t0;
      a.mel_stride = n_frames;
      a.out_stride = n_mels * n_frames;
      check_status(armstft_logmel(plan, win->win, mel->bank, &a), "log_mel");
      i += count_;
    }
  });
  count(kLogMel);
  return out;
}

Tensor log_mel_meta(const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop, int64_t win_length,
                    const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                    c10::string_view pad_mode, bool normalized, double power, double eps) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  check_log_mel_args(self, fb, n_fft, power, eps);
  const c10::SymInt n_frames = frames_of(self.sym_size(-1), n_fft, hop, pad_left, pad_right);
  if (self.dim() == 1) return at::empty_symint({fb.sym_size(1), n_frames}, self.options());
  return at::empty_symint({self.sym_size(0), fb.sym_size(1), n_frames}, self.options());
}

const c10::TypedOperatorHandle<Tensor(const Tensor&, const Tensor&, int64_t, int64_t, int64_t,
                                      const std::optional<Tensor>&, int64_t, int64_t, c10::string_view, bool,
                                      double, double)>&
log_mel_op() {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("armstft::_log_mel", "")
                       .typed<Tensor(const Tensor&, const Tensor&, int64_t, int64_t, int64_t,
                                     const std::optional<Tensor>&, int64_t, int64_t, c10::string_view, bool,
                                     double, double)>();
  return op;
}

Tensor log_mel_autograd(c10::DispatchKeySet ks, const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop,
                        int64_t win_length, const std::optional<Tensor>& window, int64_t pad_left,
                        int64_t pad_right, c10::string_view pad_mode, bool normalized, double power, double eps) {
  check_no_grad("_log_mel", self, window);
  TORCH_CHECK(!needs_grad(fb), "armstft::_log_mel is not differentiable: call armstft::log_mel");
  return log_mel_op().redispatch(ks & c10::after_autograd_keyset, self, fb, n_fft, hop, win_length, window,
                                 pad_left, pad_right, pad_mode, normalized, power, eps);
}

// The framing of a log_mel call the engine covers, or nullopt.
std::optional<Framing> log_mel_framing(const Tensor& self, const Tensor& fb, int64_t n_fft,
                                       std::optional<int64_t> hop_length, std::optional<int64_t> win_length,
                                       const Tensor& window, bool center, c10::string_view pad_mode, double power,
                                       double eps) {
  const bool fb_ok = fb.scalar_type() == at::kFloat && fb.dim() == 2 && fb.layout() == c10::kStrided &&
                     fb.device() == self.device() && fb.sym_size(0) == n_fft / 2 + 1;
  if (!fb_ok || self.is_complex() || !(power == 1.0 || power == 2.0) || !std::isfinite(eps) || eps < 0.0 ||
      needs_grad(fb))
    return std::nullopt;
  return covered_framing(self, n_fft, hop_length, win_length, window, center, pad_mode, true, std::nullopt,
                         /*check_grad=*/true);
}

Tensor log_mel(const Tensor& self, const Tensor& fb, int64_t n_fft, std::optional<int64_t> hop_length,
               std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
               c10::string_view pad_mode, bool normalized, double power, double eps) {
  const Tensor window = window_opt.has_value() ? *window_opt : Tensor();
  {
    auto f = log_mel_framing(self, fb, n_fft, hop_length, win_length, window, center, pad_mode, power, eps);
    if (f) {
      warn_like_torch_stft(window, true);
      return log_mel_op().call(self, fb, n_fft, f->hop, f->win_length, window_opt, f->pad_left, f->pad_right,
                               center ? pad_mode : c10::string_view("constant"), normalized, power, eps);
    }
  }
  // torch's own ops, as torchaudio's MelSpectrogram composes them (differentiable, torch's errors)
  Tensor spec = at::stft(self, n_fft, hop_length, win_length, window_opt, center, pad_mode, normalized,
                         /*onesided=*/true, /*return_complex=*/true);
  Tensor mag = at::abs(spec);
  if (power != 1.0) mag = at::pow(mag, power);
  Tensor mel = at::matmul(mag.transpose(-1, -2), fb).transpose(-1, -2);
  return at::log(mel.add(eps));
}

// ---------------------------------------------------------------------------------------------------------
// _istft / istft: torch.istft (onesided, real output) on the engine's inverse real FFT.

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
  if (status == ARMSTFT_E_NOLA) {  // torch's own call raises torch's own error for it
    return at::istft(self, n_fft, hop, win_length, window, center, normalized, onesided, length, false);
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

const c10::TypedOperatorHandle<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&, bool,
                                      bool, std::optional<int64_t>, std::optional<bool>)>&
istft_op() {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("armstft::_istft", "")
                       .typed<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&, bool,
                                     bool, std::optional<int64_t>, std::optional<bool>)>();
  return op;
}

Tensor istft_autograd(c10::DispatchKeySet ks, const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                      const std::optional<Tensor>& window, bool center, bool normalized,
                      std::optional<int64_t> length, std::optional<bool> onesided) {
  check_no_grad("_istft", self, window);
  return istft_op().redispatch(ks & c10::after_autograd_keyset, self, n_fft, hop, win_length, window, center,
                               normalized, length, onesided);
}

// armstft::istft — torch.istft's signature and semantics.
Tensor istft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
             std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
             bool normalized, std::optional<bool> onesided, std::optional<int64_t> length, bool return_complex) {
  const Tensor& window = opt_tensor(window_opt);
  const int64_t hop = hop_length.value_or(n_fft >> 2), wl = win_length.value_or(n_fft);
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
  if (covered) return istft_op().call(self, n_fft, hop, wl, window_opt, center, normalized, length, onesided);
  return at::istft(self, n_fft, hop_length, win_length, window_opt, center, normalized, onesided, length,
                   return_complex);
}

// ---------------------------------------------------------------------------------------------------------
// Acceleration: our engine behind aten::_fft_r2c and aten::stft for the calls it covers.

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

struct Acceleration {
  std::mutex mu;
  std::vector<std::unique_ptr<torch::Library>> libs;
};

Acceleration& acceleration() {
  static auto* a = new Acceleration();
  return *a;
}

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

bool env_true(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  std::string s(v);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "1" || s == "on" || s == "true" || s == "yes";
}

// ARMSTFT_ACCELERATE=1 turns acceleration on when the library loads (Python or plain C++ alike).
struct AccelerateFromEnv {
  AccelerateFromEnv() {
    if (env_true("ARMSTFT_ACCELERATE")) set_accelerate(true);
  }
};

std::vector<int64_t> counter_values() {
  std::vector<int64_t> v;
  for (auto& c : counters) v.push_back(c.load(std::memory_order_relaxed));
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Exported: the Python fast path's entry (see api.h) and StreamingStft.

at::Tensor stft_eager(const at::Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                      std::optional<int64_t> win_length, const at::Tensor& window, bool center,
                      c10::string_view pad_mode, bool normalized, std::optional<bool> onesided,
                      bool return_complex, std::optional<bool> align_to_window) {
  if (center && align_to_window.has_value()) return at::Tensor();  // torch's error, from the operator
  if (!self.device().is_cpu() || (window.defined() && !window.device().is_cpu())) return at::Tensor();
  auto f = covered_framing(self, n_fft, hop_length, win_length, window, center, pad_mode, onesided,
                           align_to_window, /*check_grad=*/true);
  if (!f) return at::Tensor();
  warn_like_torch_stft(window, return_complex);
  if (!center) f->pad_mode = ARMSTFT_PAD_CONSTANT;
  at::Tensor spec = stft_compute(self, n_fft, *f, window, normalized);
  return return_complex ? spec : at::view_as_real(spec);
}

at::Tensor log_mel_eager(const at::Tensor& self, const at::Tensor& fb, int64_t n_fft,
                         std::optional<int64_t> hop_length, std::optional<int64_t> win_length,
                         const at::Tensor& window, bool center, c10::string_view pad_mode, bool normalized,
                         double power, double eps) {
  if (!self.device().is_cpu() || !fb.device().is_cpu() || (window.defined() && !window.device().is_cpu()))
    return at::Tensor();
  auto f = log_mel_framing(self, fb, n_fft, hop_length, win_length, window, center, pad_mode, power, eps);
  if (!f) return at::Tensor();
  warn_like_torch_stft(window, true);
  std::optional<at::Tensor> w;
  if (window.defined()) w = window;
  return log_mel_cpu(self, fb, n_fft, f->hop, f->win_length, w, f->pad_left, f->pad_right,
                     center ? pad_mode : c10::string_view("constant"), normalized, power, eps);
}

StreamingStft::StreamingStft(int64_t n_fft, int64_t hop, const std::optional<at::Tensor>& window,
                             bool normalized, int64_t max_frames) {
  TORCH_CHECK_VALUE(n_fft >= 1 && plan_for(n_fft) != nullptr, "StreamingStft: n_fft: expected a size the engine ",
              "plans for (see armstft.faststft.covers), got ", n_fft);
  TORCH_CHECK_VALUE(hop >= 1, "StreamingStft: hop_length: expected >= 1, got ", hop);
  TORCH_CHECK_VALUE(max_frames >= 1 && max_frames <= (int64_t{1} << 24),
              "StreamingStft: max_frames: expected 1..2^24, got ", max_frames);
  at::Tensor w;
  int64_t win_length = n_fft;
  if (window.has_value() && window->defined()) {
    TORCH_CHECK_VALUE(window->device().is_cpu() && window->layout() == c10::kStrided,
                "StreamingStft: window: expected a CPU tensor, got one on ", window->device());
    TORCH_CHECK_VALUE(!window->is_complex() && at::isFloatingType(window->scalar_type()),
                "StreamingStft: window: expected a real floating-point tensor, got ", window->scalar_type());
    TORCH_CHECK_VALUE(window->dim() == 1 && window->size(0) >= 1 && window->size(0) <= n_fft,
                "StreamingStft: window: expected 1-D with 1..", n_fft, " samples, got shape ", window->sizes());
    w = window->detach().to(at::kFloat).resolve_neg().contiguous();
    win_length = w.size(0);
  }
  armstft_stream_config cfg{};
  cfg.n_fft = n_fft;
  cfg.hop = hop;
  cfg.win_length = win_length;
  cfg.window = w.defined() ? w.const_data_ptr<float>() : nullptr;
  cfg.scale = normalized ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(n_fft))) : 1.0f;
  int status = ARMSTFT_OK;
  stream_ = armstft_stream_new(&cfg, &status);
  check_status(status, "StreamingStft");
  n_fft_ = n_fft;
  max_frames_ = max_frames;
  out_ = at::empty({max_frames, n_fft / 2 + 1}, at::TensorOptions().dtype(at::kComplexFloat));
}

StreamingStft::~StreamingStft() { armstft_stream_free(stream_); }

const at::Tensor& StreamingStft::view(int64_t k) {
  while (static_cast<int64_t>(views_.size()) <= k) {
    views_.push_back(out_.narrow(0, 0, static_cast<int64_t>(views_.size())).transpose(0, 1));
  }
  return views_[static_cast<size_t>(k)];
}

at::Tensor StreamingStft::push(const at::Tensor& x) {
  TORCH_CHECK_VALUE(x.device().is_cpu() && x.layout() == c10::kStrided,
              "StreamingStft.push: expected a CPU tensor of samples, got one on ", x.device());
  TORCH_CHECK_VALUE(!x.key_set().has(c10::DispatchKey::Python),
              "StreamingStft.push: expected a plain tensor of samples, got a tensor subclass or FakeTensor");
  TORCH_CHECK_VALUE(!x.is_complex() && x.scalar_type() != at::kBool,
              "StreamingStft.push: expected real samples, got ", x.scalar_type());
  at::Tensor s = x;  // the steady state (float32, 1-D, contiguous) reads the caller's tensor in place
  if (s.scalar_type() != at::kFloat || s.dim() != 1 || !s.is_contiguous() || s.is_neg()) {
    s = x.detach().reshape({-1}).to(at::kFloat).resolve_neg().contiguous();
  }
  armstft_stream_push_args a{};
  a.x = s.const_data_ptr<float>();
  a.n = s.numel();
  a.out = reinterpret_cast<float*>(out_.mutable_data_ptr<c10::complex<float>>());
  a.max_frames = max_frames_;
  check_status(armstft_stream_push(stream_, &a), "StreamingStft.push");
  if (!a.full) return view(a.frames);
  std::vector<at::Tensor> parts;  // the output buffer filled up: keep what we have, go on with the rest
  int64_t used = 0;
  while (a.full) {
    parts.push_back(view(a.frames).clone());
    used += a.consumed;
    a.x = s.const_data_ptr<float>() + used;
    a.n = s.numel() - used;
    check_status(armstft_stream_push(stream_, &a), "StreamingStft.push");
  }
  used += a.consumed;
  parts.push_back(view(a.frames).clone());
  return at::cat(parts, 1);
}

at::Tensor StreamingStft::flush() {
  armstft_stream_push_args a{};
  a.out = reinterpret_cast<float*>(out_.mutable_data_ptr<c10::complex<float>>());
  a.max_frames = max_frames_;
  check_status(armstft_stream_flush(stream_, &a), "StreamingStft.flush");
  return view(a.frames);
}

void StreamingStft::reset() { armstft_stream_reset(stream_); }

}  // namespace armstft

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
armstft::AccelerateFromEnv accelerate_from_env;
}
