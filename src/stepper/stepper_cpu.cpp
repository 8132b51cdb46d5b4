// The CPU engine of the Stepper: the reference. OpenMP over units; each coordinate's result is a
// fixed sequence of operations (stepper_unit), so results are bit-identical for any thread count.
// Only the order of the residual exception list depends on the threads, never its content.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "stepper/stepper_engine.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace {

/// Below this many units a pass runs on the calling thread (a parallel region costs more).
constexpr std::int64_t kParallelUnits = 2048;

float load_param(bool bf16, const void* data, std::uint64_t e) {
  if (bf16) {
    std::uint16_t bits;
    std::memcpy(&bits, static_cast<const unsigned char*>(data) + 2 * e, 2);
    return bf16_to_float(bits);
  }
  float v;
  std::memcpy(&v, static_cast<const unsigned char*>(data) + 4 * e, 4);
  return v;
}

void store_bits(bool bf16, void* data, std::uint64_t e, std::uint32_t bits) {
  if (bf16) {
    const auto b = static_cast<std::uint16_t>(bits);
    std::memcpy(static_cast<unsigned char*>(data) + 2 * e, &b, 2);
  } else {
    std::memcpy(static_cast<unsigned char*>(data) + 4 * e, &bits, 4);
  }
}

void store_param(bool bf16, void* data, std::uint64_t e, float v) {
  store_bits(bf16, data, e, param_bits(bf16, v));
}

class CpuStepperEngine final : public StepperEngine {
 public:
  CpuStepperEngine(const std::vector<ParamTensor>& params, StepperGeometry geometry)
      : geometry_(geometry) {
    std::uint64_t begin = 0;
    for (const ParamTensor& p : params) {
      tensors_.push_back(
          StepperTensor{p.data, nullptr, begin, p.count, p.dtype == DType::bf16 ? 1u : 0u});
      begins_.push_back(begin);
      begin += p.count;
    }
  }

  Backend backend() const override { return Backend::cpu; }

  void allocate_record(RestoreMode mode, std::uint64_t escape_capacity) override {
    backup_storage_.clear();
    for (StepperTensor& t : tensors_) t.backup = nullptr;
    std::vector<std::uint8_t>().swap(codes_);
    std::vector<std::uint64_t>().swap(escape_index_);
    std::vector<std::uint32_t>().swap(escape_bits_);
    record_bytes_ = 0;
    if (mode == RestoreMode::copy) {
      for (StepperTensor& t : tensors_) {
        // Same address modulo 16 as the parameters, so the backup is vector-aligned wherever
        // the parameters are (mirrors the CUDA engine).
        const std::uint64_t bytes = t.count * (t.bf16 ? 2 : 4);
        backup_storage_.emplace_back(bytes + 16);
        auto* raw = backup_storage_.back().data();
        const auto want = reinterpret_cast<std::uintptr_t>(t.data) % 16;
        const auto have = reinterpret_cast<std::uintptr_t>(raw) % 16;
        t.backup = raw + (want + 16 - have) % 16;
        record_bytes_ += bytes;
      }
    } else if (mode == RestoreMode::residual) {
      codes_.assign(geometry_.units(), 0);
      reserve_escapes(escape_capacity);
    }
  }

  void reserve_escapes(std::uint64_t capacity) override {
    escape_index_.assign(capacity, 0);
    escape_bits_.assign(capacity, 0);
    record_bytes_ = codes_.size() + 12 * capacity;
  }

  std::uint64_t escape_capacity() const override { return escape_index_.size(); }
  std::uint64_t record_bytes() const override { return record_bytes_; }

  std::uint64_t run_pass(const PassSpec& spec) override {
    const bool residual = spec.mode == RestoreMode::residual;
    const bool read_codes = residual && spec.entry != PassEntry::at_x && !spec.arithmetic_flip;
    const bool write_codes = residual && spec.exit_sign != 0;
    const bool copy = spec.mode == RestoreMode::copy;
    const std::uint64_t capacity = escape_index_.size();
    std::atomic<std::uint64_t> count{0};
    const auto units = static_cast<std::int64_t>(geometry_.units());
#pragma omp parallel if (units >= kParallelUnits)
    {
      std::size_t cursor = 0;
#pragma omp for schedule(static)
      for (std::int64_t u = 0; u < units; ++u) {
        const std::uint64_t block = spec.first_block + static_cast<std::uint64_t>(u);
        UnitIO io{};
        std::uint64_t coord[4] = {0, 0, 0, 0};
        std::size_t tensor[4] = {0, 0, 0, 0};
        for (int l = 0; l < 4; ++l) {
          const std::uint64_t g = 4 * block + static_cast<std::uint64_t>(l);
          if (g < geometry_.offset || g - geometry_.offset >= geometry_.dim) continue;
          const std::uint64_t c = g - geometry_.offset;
          const std::size_t k = locate(c, &cursor);
          const StepperTensor& t = tensors_[k];
          coord[l] = c;
          tensor[l] = k;
          io.valid |= 1u << l;
          io.bf16 |= t.bf16 << l;
          io.x[l] = load_param(t.bf16, t.data, c - t.begin);
          if (copy) io.backup[l] = load_param(t.bf16, t.backup, c - t.begin);
        }
        if (read_codes) io.code = codes_[u];
        stepper_unit(spec, block, io);
        for (int l = 0; l < 4; ++l) {
          if (!((io.valid >> l) & 1u)) continue;
          const StepperTensor& t = tensors_[tensor[l]];
          const bool bf = t.bf16 != 0;
          const std::uint64_t e = coord[l] - t.begin;
          float value = io.x[l];
          if ((io.escape >> l) & 1u) {
            const std::uint64_t slot = count.fetch_add(1, std::memory_order_relaxed);
            if (slot < capacity) {
              escape_index_[slot] = coord[l];
              escape_bits_[slot] = param_bits(bf, io.base[l]);
            } else {
              value = io.base[l];  // no slot: stay unperturbed, recoverable by the undo pass
            }
          }
          store_param(bf, t.data, e, value);
          if (spec.write_backup) store_param(bf, t.backup, e, io.backup[l]);
        }
        if (write_codes) codes_[u] = static_cast<std::uint8_t>(io.code);
      }
    }
    return write_codes ? count.load() : 0;
  }

  void scatter_escapes(std::uint64_t count) override {
    const auto n = static_cast<std::int64_t>(std::min<std::uint64_t>(count, escape_index_.size()));
#pragma omp parallel if (n >= kParallelUnits)
    {
      std::size_t cursor = 0;
#pragma omp for schedule(static)
      for (std::int64_t e = 0; e < n; ++e) {
        const std::uint64_t c = escape_index_[e];
        const StepperTensor& t = tensors_[locate(c, &cursor)];
        store_bits(t.bf16 != 0, t.data, c - t.begin, escape_bits_[e]);
      }
    }
  }

  float sphere_scale(DirectionKey key) override { return zo::sphere_scale(key, geometry_.dim); }
  void synchronize() override {}

 private:
  /// The tensor holding local coordinate c; `cursor` caches the last answer of this thread.
  std::size_t locate(std::uint64_t c, std::size_t* cursor) const {
    const StepperTensor& t = tensors_[*cursor];
    if (c >= t.begin && c - t.begin < t.count) return *cursor;
    const auto it = std::upper_bound(begins_.begin(), begins_.end(), c);
    *cursor = static_cast<std::size_t>(it - begins_.begin()) - 1;
    return *cursor;
  }

  StepperGeometry geometry_;
  std::vector<StepperTensor> tensors_;
  std::vector<std::uint64_t> begins_;
  std::vector<std::vector<unsigned char>> backup_storage_;
  std::vector<std::uint8_t> codes_;
  std::vector<std::uint64_t> escape_index_;
  std::vector<std::uint32_t> escape_bits_;
  std::uint64_t record_bytes_ = 0;
};

}  // namespace

std::unique_ptr<StepperEngine> make_cpu_stepper_engine(const std::vector<ParamTensor>& params,
                                                       StepperGeometry geometry) {
  return std::make_unique<CpuStepperEngine>(params, geometry);
}

}  // namespace detail
}  // namespace zo
