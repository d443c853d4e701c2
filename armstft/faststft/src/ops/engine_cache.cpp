// Engine objects, made once and shared by every op: plans per size, prepared windows and mel banks keyed
// on content, per-thread scratch, and the counters of calls the engine answered.
//
// Why one file: every op reaches the engine through these, and their caches (mutexes, thread-local memos)
// must be one per process.
#include "ops/internal.h"

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace armstft {
namespace {

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

std::array<std::atomic<int64_t>, kNumCounters> counters{};

}  // namespace

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

std::vector<int64_t> counter_values() {
  std::vector<int64_t> v;
  for (auto& c : counters) v.push_back(c.load(std::memory_order_relaxed));
  return v;
}

void count(Counter c) { counters[c].fetch_add(1, std::memory_order_relaxed); }

}  // namespace armstft
