// What the operator library's files share (src/ops/*.cpp), inside the library only: every name here has
// hidden visibility (-fvisibility=hidden; api.h marks the few exported ones), so none leaves the .so.
#ifndef ARMSTFT_OPS_INTERNAL_H
#define ARMSTFT_OPS_INTERNAL_H

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <c10/core/DispatchKeySet.h>
#include <c10/core/SymInt.h>
#include <c10/util/string_view.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

extern "C" {
#include "stft.h"
}

namespace armstft {

using at::Tensor;

// --- engine objects (engine_cache.cpp) ------------------------------------------------------------------

// Plans are never freed (a handful per process); a size without a plan is nullptr.
const armstft_plan* plan_for(int64_t n);
void check_status(int status, const char* what);

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

// window: float32 (win_length,) or undefined (rectangular).
std::shared_ptr<const PreparedWindow> window_for(const armstft_plan* plan, const Tensor& window,
                                                 int64_t win_length, float scale);

// A sparse mel filterbank (~10k floats: too many to compare per call).  Keyed like the window memo: the
// same live filterbank tensor, not changed in place since (version counter), gets the same bank; any
// other tensor — and every inference tensor, which has no version counter — is compared by content.
struct PreparedMel {
  int64_t n_freqs = 0, n_mels = 0;
  std::vector<float> content;
  armstft_melbank* bank = nullptr;
  ~PreparedMel() { armstft_melbank_free(bank); }
};

std::shared_ptr<const PreparedMel> melbank_for(const Tensor& fb);

// Per-thread scratch: no allocation per call in steady state.
float* scratch_floats(size_t n);

// Calls the engine answered, by kind (tests assert the engine really ran; `armstft info` reports them).
enum Counter { kStft, kLogMel, kIstft, kR2c, kC2r, kAtenStft, kAbs, kPad, kNumCounters };
void count(Counter c);
std::vector<int64_t> counter_values();

// --- argument decisions and shared kernel helpers (args.cpp) -------------------------------------------------

int pad_mode_code(c10::string_view mode);
// True when the call needs autograd (reverse or forward): those go to torch's differentiable ops.
bool needs_grad(const Tensor& a, const Tensor& b = Tensor());
bool engine_device(const Tensor& t);

// Framing of a covered call, after every check torch would make has passed.
struct Framing {
  int64_t hop = 0, win_length = 0, pad_left = 0, pad_right = 0;
  int pad_mode = ARMSTFT_PAD_CONSTANT;
  bool onesided = true;
};

// The framing of an stft-like call, or nullopt when the engine does not cover it (then torch decides).
std::optional<Framing> covered_framing(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_opt,
                                       std::optional<int64_t> win_opt, const Tensor& window, bool center,
                                       c10::string_view pad_mode, std::optional<bool> onesided_opt,
                                       std::optional<bool> align_opt, bool check_grad);
void warn_like_torch_stft(const Tensor& window, bool return_complex);
c10::SymInt frames_of(const c10::SymInt& len, int64_t n_fft, int64_t hop, int64_t pad_left, int64_t pad_right);
Tensor empty_spectrum(const Tensor& self, int64_t rows, const c10::SymInt& n_frames, at::ScalarType dtype);
Tensor empty_spectrum_cpu(const Tensor& self, int64_t rows, int64_t n_frames);
void check_internal_args(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                         const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right);
// The input as rows the engine can read: last stride 1, rows apart by a stride >= len.
Tensor engine_rows(const Tensor& self, int64_t* row_stride);
const Tensor& opt_tensor(const std::optional<Tensor>& t);
void check_no_grad(const char* op, const Tensor& a, const std::optional<Tensor>& b);

// Runs fn(begin, end) over [0, total) in chunks across threads; inline when there is one chunk.
template <typename F>
void chunks(int64_t total, int64_t grain, const F& fn) {
  if (total <= grain || at::get_num_threads() == 1) {
    fn(int64_t{0}, total);
  } else {
    at::parallel_for(0, total, grain, fn);
  }
}

// --- the ops' kernels (stft.cpp, log_mel.cpp, istft.cpp), registered in register.cpp --------------------------

Tensor stft_compute(const Tensor& self, int64_t n_fft, const Framing& f, const Tensor& window, bool normalized);
Tensor stft_covered(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_opt,
                    std::optional<int64_t> win_opt, const std::optional<Tensor>& window_opt, bool center,
                    c10::string_view pad_mode, bool normalized, std::optional<bool> onesided_opt,
                    std::optional<bool> return_complex_opt, std::optional<bool> align_opt, bool check_grad);
Tensor stft_cpu(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                c10::string_view pad_mode, bool normalized, bool onesided);
Tensor stft_meta(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                 const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                 c10::string_view pad_mode, bool normalized, bool onesided);
Tensor stft_autograd(c10::DispatchKeySet ks, const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                     const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                     c10::string_view pad_mode, bool normalized, bool onesided);
Tensor stft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
            std::optional<int64_t> win_length, const std::optional<Tensor>& window, bool center,
            c10::string_view pad_mode, bool normalized, std::optional<bool> onesided,
            std::optional<bool> return_complex, std::optional<bool> align_to_window);

Tensor log_mel_cpu(const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop, int64_t win_length,
                   const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                   c10::string_view pad_mode, bool normalized, double power, double eps);
Tensor log_mel_meta(const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop, int64_t win_length,
                    const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                    c10::string_view pad_mode, bool normalized, double power, double eps);
Tensor log_mel_autograd(c10::DispatchKeySet ks, const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop,
                        int64_t win_length, const std::optional<Tensor>& window, int64_t pad_left,
                        int64_t pad_right, c10::string_view pad_mode, bool normalized, double power, double eps);
// The framing of a log_mel call the engine covers, or nullopt.
std::optional<Framing> log_mel_framing(const Tensor& self, const Tensor& fb, int64_t n_fft,
                                       std::optional<int64_t> hop_length, std::optional<int64_t> win_length,
                                       const Tensor& window, bool center, c10::string_view pad_mode, double power,
                                       double eps);
Tensor log_mel(const Tensor& self, const Tensor& fb, int64_t n_fft, std::optional<int64_t> hop_length,
               std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
               c10::string_view pad_mode, bool normalized, double power, double eps);

Tensor istft_cpu(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                 const std::optional<Tensor>& window, bool center, bool normalized, std::optional<int64_t> length,
                 std::optional<bool> onesided);
Tensor istft_meta(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                  const std::optional<Tensor>& window, bool center, bool normalized, std::optional<int64_t> length,
                  std::optional<bool> onesided);
Tensor istft_autograd(c10::DispatchKeySet ks, const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                      const std::optional<Tensor>& window, bool center, bool normalized,
                      std::optional<int64_t> length, std::optional<bool> onesided);
// The engine's answer to an istft call, or an undefined tensor when the engine does not cover it.
Tensor istft_covered(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                     std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
                     bool normalized, std::optional<bool> onesided, std::optional<int64_t> length,
                     bool return_complex);
Tensor istft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
             std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
             bool normalized, std::optional<bool> onesided, std::optional<int64_t> length, bool return_complex);

// --- acceleration (accelerate.cpp) -------------------------------------------------------------------------

// Turns acceleration on or off; returns whether it was on.
bool set_accelerate(bool on);
bool accelerated();
// Turns it on when ARMSTFT_ACCELERATE is 1/on/true/yes (register.cpp calls it as the library loads).
void accelerate_from_env();

}  // namespace armstft

#endif
