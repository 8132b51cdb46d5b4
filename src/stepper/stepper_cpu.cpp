// The CPU engine of the Stepper: the reference. OpenMP over tiles of units; the directions of a
// tile come from the SIMD generator (bit-identical to direction4), then each coordinate's result
// is a fixed sequence of operations (stepper_unit_with), so results are bit-identical for any
// thread count and equal to the CUDA kernel's in-register generation.
// Only the order of the residual exception list depends on the threads, never its content.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
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

#if defined(__GNUC__) || defined(__clang__)
#define ZO_FLATTEN __attribute__((flatten))  // inline every call in the function body
#else
#define ZO_FLATTEN
#endif

/// SpecFlags with the restore mode fixed at compile time: the whole-tile loop of each mode compiles
/// only its own record path (no per-coordinate test of the mode).
template <RestoreMode M>
struct ModeFlags : SpecFlags {
  ZO_INLINE RestoreMode mode() const { return M; }
};

/// ModeFlags with the whole shape of the pass fixed at compile time (no flip; entry state, q and
/// exit as given), so the whole-tile loop is straight-line code.
template <RestoreMode M, bool Entry, std::uint32_t Q, bool Exit>
struct ShapeFlags : SpecFlags {
  ZO_INLINE RestoreMode mode() const { return M; }
  ZO_INLINE bool entry_perturbed() const { return Entry; }
  ZO_INLINE bool flip() const { return false; }
  ZO_INLINE std::uint32_t num_updates() const { return Q; }
  ZO_INLINE bool has_exit() const { return Exit; }
  /// Copy-mode passes write the backup, the others never (whole_tile_shape checks).
  ZO_INLINE bool write_backup() const { return M == RestoreMode::copy; }
};

/// Units per tile: the directions of a tile are generated together (the SIMD generator) before
/// its units run through stepper_unit_with.
constexpr std::int64_t kTileUnits = 128;

/// The directions of one unit, read from a tile (the interface of GeneratedPassDirections).
struct UnitDirections {
  const float* entry_;
  const float* exit_;
  const float* const* update_;
  std::uint64_t offset;  ///< 4 · (unit index in the tile)
  static Float4 load(const float* p) {
    Float4 u;
    for (int l = 0; l < 4; ++l) u.v[l] = p[l];  // element-wise: vectorisable across units
    return u;
  }
  Float4 entry() const { return load(entry_ + offset); }
  Float4 exit() const { return load(exit_ + offset); }
  Float4 update(std::uint32_t j) const { return load(update_[j] + offset); }
};

/// The directions a pass reads over one tile (4 · kTileUnits floats each).
struct TileDirections {
  const float* entry = nullptr;
  const float* exit = nullptr;
  const float* update[kMaxStepperQ] = {};
  UnitDirections at(std::uint64_t i) const { return UnitDirections{entry, exit, update, 4 * i}; }
};

/// UnitDirections for a pass with at most one update (simd_tile): the slots held by value, so
/// the loop over units reads no pointer from memory.
struct UnitDirections1 {
  const float* entry_;
  const float* exit_;
  const float* update0_;
  std::uint64_t offset;  ///< 4 · (unit index in the tile)
  Float4 entry() const { return UnitDirections::load(entry_ + offset); }
  Float4 exit() const { return UnitDirections::load(exit_ + offset); }
  Float4 update(std::uint32_t) const { return UnitDirections::load(update0_ + offset); }
};

/// Generates, into `buffer` (slots of 4 · kTileUnits floats: entry, exit, update 0 … q−1), the
/// directions that stepper_unit_with() will ask for over blocks [b0, b0 + n): bit-identical to
/// GeneratedPassDirections (direction_blocks() is direction4() on many blocks).
TileDirections generate(const PassSpec& s, std::uint64_t b0, std::uint64_t n, float* buffer) {
  TileDirections td;
  auto slot = [&](std::size_t i) { return buffer + i * 4 * kTileUnits; };
  if (pass_reads_entry(s)) {
    direction_blocks(s.distribution, DirectionKey{s.seed, s.step_a, s.substream_a}, b0, n,
                     s.scale_a, slot(0));
    td.entry = slot(0);
  }
  if (!s.arithmetic_flip) {
    for (std::uint32_t j = 0; j < s.num_updates; ++j) {
      if (update_is_entry(s, j)) continue;
      direction_blocks(s.distribution, DirectionKey{s.seed, s.update_step, j}, b0, n,
                       s.update_scale[j], slot(2 + j));
      td.update[j] = slot(2 + j);
    }
    if (s.exit_sign != 0 && !exit_is_entry(s)) {
      direction_blocks(s.distribution, DirectionKey{s.seed, s.step_b, s.substream_b}, b0, n,
                       s.scale_b, slot(1));
      td.exit = slot(1);
    }
  }
  return td;
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
    list_current_ = false;
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
    list_current_ = false;
    escape_index_.assign(capacity, 0);
    escape_bits_.assign(capacity, 0);
    record_bytes_ = codes_.size() + 12 * capacity;
  }

  std::uint64_t escape_capacity() const override { return escape_index_.size(); }
  std::uint64_t record_bytes() const override { return record_bytes_; }

  std::uint64_t run_pass(const PassSpec& spec) override {
    Pass p{spec};
    const bool residual = spec.mode == RestoreMode::residual;
    p.read_codes = residual && spec.entry != PassEntry::at_x && !spec.arithmetic_flip;
    p.write_codes = residual && spec.exit_sign != 0;
    p.copy = spec.mode == RestoreMode::copy;
    p.capacity = escape_index_.size();
    const auto units = static_cast<std::int64_t>(geometry_.units());
    const std::int64_t tiles = (units + kTileUnits - 1) / kTileUnits;
    const std::size_t slots = 2 + spec.num_updates;  // entry, exit, update 0 … q−1
#pragma omp parallel if (units >= kParallelUnits)
    {
      std::size_t cursor = 0;
      std::vector<float> dirs(slots * 4 * kTileUnits);
#pragma omp for schedule(static)
      for (std::int64_t tile = 0; tile < tiles; ++tile) {
        const std::int64_t u0 = tile * kTileUnits;
        const std::int64_t n = std::min(kTileUnits, units - u0);
        const std::uint64_t b0 = spec.first_block + static_cast<std::uint64_t>(u0);
        const TileDirections td = generate(spec, b0, static_cast<std::uint64_t>(n), dirs.data());
        // Fast path: the whole tile lies inside one tensor (no masked lane, one dtype).
        const std::uint64_t g0 = 4 * b0;
        const std::uint64_t g1 = 4 * (b0 + static_cast<std::uint64_t>(n));
        if (g0 >= geometry_.offset && g1 - geometry_.offset <= geometry_.dim) {
          const std::uint64_t c0 = g0 - geometry_.offset;
          const StepperTensor& t = tensors_[locate(c0, &cursor)];
          if (g1 - geometry_.offset <= t.begin + t.count) {
            whole_tile_dtype(p, td, t, c0, u0, n);
            continue;
          }
        }
        mixed_tile(p, td, u0, n, &cursor);
      }
    }
    if (!p.write_codes) return kNoTicket;
    // The count is known at once; it is kept under a ticket all the same, so that the state
    // machine reads it exactly when it would on the GPU.
    const std::uint64_t ticket = next_ticket_++;
    counts_[ticket % kCountSlots] = p.count.load();
    list_current_ = true;
    return ticket;
  }

  std::uint64_t escape_count(std::uint64_t ticket) override {
    ZO_EXPECTS(ticket < next_ticket_ && next_ticket_ - ticket <= kCountSlots,
               "Stepper: internal error, the count of recording pass " + std::to_string(ticket) +
                   " is no longer kept");
    return counts_[ticket % kCountSlots];
  }

  void scatter_escapes() override {
    if (!list_current_) return;
    const std::uint64_t count = counts_[(next_ticket_ - 1) % kCountSlots];
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
  /// One pass in flight: its description and the escape counter.
  struct Pass {
    const PassSpec& spec;
    bool read_codes = false, write_codes = false, copy = false;
    std::uint64_t capacity = 0;
    std::atomic<std::uint64_t> count{0};
  };

  /// The stores of lane l of a unit whose element e of tensor t is coordinate c: the parameter
  /// (or, for a residual exception without a slot, the unperturbed value) and the backup.
  void store_lane(Pass& p, const UnitIO& io, const StepperTensor& t, std::uint64_t e,
                  std::uint64_t c, int l) {
    const bool bf = t.bf16 != 0;
    float value = io.x[l];
    if ((io.escape >> l) & 1u) {
      const std::uint64_t slot = p.count.fetch_add(1, std::memory_order_relaxed);
      if (slot < p.capacity) {
        escape_index_[slot] = c;
        escape_bits_[slot] = param_bits(bf, io.base[l]);
      } else {
        value = io.base[l];  // no slot: stay unperturbed, recoverable by the undo pass
      }
    }
    store_param(bf, t.data, e, value);
    if (p.spec.write_backup) store_param(bf, t.backup, e, io.backup[l]);
  }

  /// whole_tile with the dtype and the restore mode of the pass as template arguments.
  void whole_tile_dtype(Pass& p, const TileDirections& td, const StepperTensor& t, std::uint64_t c0,
                        std::int64_t u0, std::int64_t n) {
    if (t.bf16) {
      whole_tile_mode<true>(p, td, t, c0, u0, n);
    } else {
      whole_tile_mode<false>(p, td, t, c0, u0, n);
    }
  }

  template <bool BF16>
  void whole_tile_mode(Pass& p, const TileDirections& td, const StepperTensor& t, std::uint64_t c0,
                       std::int64_t u0, std::int64_t n) {
    switch (p.spec.mode) {
      case RestoreMode::arithmetic:
        whole_tile_shape<BF16, RestoreMode::arithmetic>(p, td, t, c0, u0, n);
        break;
      case RestoreMode::copy:
        whole_tile_shape<BF16, RestoreMode::copy>(p, td, t, c0, u0, n);
        break;
      case RestoreMode::residual:
        whole_tile_shape<BF16, RestoreMode::residual>(p, td, t, c0, u0, n);
        break;
    }
  }

  /// The passes of a step with q ≤ 1 (perturb, the record modes' plus-to-minus pass, update,
  /// merged update) run simd_tile; the others (MeZO's flip, q > 1) whole_tile. simd_tile writes
  /// the backup exactly in copy mode (every copy-mode pass does, see Stepper).
  template <bool BF16, RestoreMode M>
  void whole_tile_shape(Pass& p, const TileDirections& td, const StepperTensor& t, std::uint64_t c0,
                        std::int64_t u0, std::int64_t n) {
    const PassSpec& s = p.spec;
    const bool backup_ok = (s.write_backup != 0) == (M == RestoreMode::copy);
    if (!s.arithmetic_flip && s.num_updates <= 1 && backup_ok) {
      const bool entry = s.entry != PassEntry::at_x;
      const bool update = s.num_updates == 1;
      const bool exit = s.exit_sign != 0;
      if (!entry && !update && exit) return simd_tile<BF16, M, false, 0, true>(p, td, t, c0, u0, n);
      if (entry && !update && exit) return simd_tile<BF16, M, true, 0, true>(p, td, t, c0, u0, n);
      if (entry && update && !exit) return simd_tile<BF16, M, true, 1, false>(p, td, t, c0, u0, n);
      if (entry && update && exit) return simd_tile<BF16, M, true, 1, true>(p, td, t, c0, u0, n);
    }
    whole_tile<BF16, M>(p, td, t, c0, u0, n);
  }

  /// whole_tile for a pass of the shape (Entry, Q, Exit), no flip: every unit is straight-line
  /// code, so the loop runs one unit per SIMD lane; the exceptions are listed afterwards, in unit
  /// order.
  template <bool BF16, RestoreMode M, bool Entry, std::uint32_t Q, bool Exit>
  ZO_FLATTEN void simd_tile(Pass& p, const TileDirections& td, const StepperTensor& t,
                            std::uint64_t c0, std::int64_t u0, std::int64_t n) {
    const ShapeFlags<M, Entry, Q, Exit> flags{{p.spec}};
    // The tile's slots hold every direction the pass reads; a reused entry direction is read
    // from the entry slot. The units get a copy of the spec whose keys are distinct constants,
    // so stepper_unit_with's reuse tests fold away at compile time (they only choose where a
    // direction is read from; on the CPU the keys never enter the arithmetic) and the loop body
    // has no branch.
    PassSpec spec = p.spec;
    const float* const entry = td.entry;
    const float* const exit = exit_is_entry(p.spec) ? td.entry : td.exit;
    const float* const update0 = Q == 0                       ? nullptr
                                 : update_is_entry(p.spec, 0) ? td.entry
                                                              : td.update[0];
    spec.step_a = 1;
    spec.substream_a = 1;
    spec.update_step = 0;
    spec.step_b = 0;
    spec.substream_b = 0;
    const std::uint64_t e0 = c0 - t.begin;
    void* const data = t.data;
    void* const backup = t.backup;
    std::uint8_t* const codes = M == RestoreMode::residual ? codes_.data() + u0 : nullptr;
    // Residual mode: the codes, exception mask and unperturbed values of each unit (32-bit in
    // the loop: no narrow type in it, so it vectorises).
    std::uint32_t code[kTileUnits];
    std::uint32_t escape[kTileUnits];
    float base[4 * kTileUnits];
    if (M == RestoreMode::residual) {
      for (std::int64_t i = 0; i < n; ++i) code[i] = codes[i];
    }
    // The units are independent (the exceptions are listed after the loop): one unit per lane.
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t e = e0 + 4 * static_cast<std::uint64_t>(i);
      UnitIO io;
      io.valid = 0xFu;
      io.bf16 = BF16 ? 0xFu : 0u;
      // Read in every pass: stepper_unit_with uses it only when the entry is perturbed.
      const std::uint32_t code_in = M == RestoreMode::residual ? code[i] : 0u;
      io.code = code_in;
      for (int l = 0; l < 4; ++l) io.x[l] = load_param(BF16, data, e + l);
      if (M == RestoreMode::copy) {
        for (int l = 0; l < 4; ++l) io.backup[l] = load_param(BF16, backup, e + l);
      }
      stepper_unit_with(spec, flags,
                        UnitDirections1{entry, exit, update0, 4 * static_cast<std::uint64_t>(i)},
                        io);
      for (int l = 0; l < 4; ++l) store_param(BF16, data, e + l, io.x[l]);
      if (M == RestoreMode::copy) {  // write_backup (see whole_tile_shape)
        for (int l = 0; l < 4; ++l) store_param(BF16, backup, e + l, io.backup[l]);
      }
      if (M == RestoreMode::residual) {
        code[i] = Exit ? io.code : code_in;  // a pass writes codes iff it ends perturbed
        escape[i] = io.escape;
        for (int l = 0; l < 4; ++l) base[4 * i + l] = io.base[l];
      }
    }
    // Each escaped coordinate takes the next slot of the list or, with none left, stays at its
    // unperturbed value (as store_lane does).
    if (M == RestoreMode::residual) {
      for (std::int64_t i = 0; i < n; ++i) codes[i] = static_cast<std::uint8_t>(code[i]);
      for (std::int64_t i = 0; i < n; ++i) {
        if (escape[i] == 0) continue;
        const std::uint64_t e = e0 + 4 * static_cast<std::uint64_t>(i);
        for (int l = 0; l < 4; ++l) {
          if (!((escape[i] >> l) & 1u)) continue;
          const float b = base[4 * i + l];
          const std::uint64_t slot = p.count.fetch_add(1, std::memory_order_relaxed);
          if (slot < p.capacity) {
            escape_index_[slot] = c0 + 4 * static_cast<std::uint64_t>(i) + l;
            escape_bits_[slot] = param_bits(BF16, b);
          } else {
            store_param(BF16, data, e + l, b);
          }
        }
      }
    }
  }

  /// A tile of n units inside tensor t, from local coordinate c0 (all lanes valid, one dtype):
  /// stepper_unit_with inlined (flatten) with the dtype and the restore mode known at compile
  /// time.
  template <bool BF16, RestoreMode M>
  ZO_FLATTEN void whole_tile(Pass& p, const TileDirections& td, const StepperTensor& t,
                             std::uint64_t c0, std::int64_t u0, std::int64_t n) {
    const PassSpec& spec = p.spec;
    const ModeFlags<M> flags{{spec}};
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t c = c0 + 4 * static_cast<std::uint64_t>(i);
      const std::uint64_t e = c - t.begin;
      UnitIO io;
      io.valid = 0xFu;
      io.bf16 = BF16 ? 0xFu : 0u;
      io.code = p.read_codes ? codes_[u0 + i] : 0u;
      for (int l = 0; l < 4; ++l) io.x[l] = load_param(BF16, t.data, e + l);
      if (M == RestoreMode::copy) {
        for (int l = 0; l < 4; ++l) io.backup[l] = load_param(BF16, t.backup, e + l);
      }
      stepper_unit_with(spec, flags, td.at(static_cast<std::uint64_t>(i)), io);
      // Only residual mode has exceptions (io.escape is 0 in the others); only copy mode writes
      // a backup (write_backup).
      if (M != RestoreMode::residual || io.escape == 0) {
        for (int l = 0; l < 4; ++l) store_param(BF16, t.data, e + l, io.x[l]);
        if (M == RestoreMode::copy && spec.write_backup) {
          for (int l = 0; l < 4; ++l) store_param(BF16, t.backup, e + l, io.backup[l]);
        }
      } else {
        for (int l = 0; l < 4; ++l) store_lane(p, io, t, e + l, c + l, l);
      }
      if (p.write_codes) codes_[u0 + i] = static_cast<std::uint8_t>(io.code);
    }
  }

  /// A tile that crosses a tensor boundary or the ends of the vector: per-lane lookup.
  void mixed_tile(Pass& p, const TileDirections& td, std::int64_t u0, std::int64_t n,
                  std::size_t* cursor) {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t u = u0 + i;
      const std::uint64_t block = p.spec.first_block + static_cast<std::uint64_t>(u);
      UnitIO io{};
      std::uint64_t coord[4] = {0, 0, 0, 0};
      std::size_t tensor[4] = {0, 0, 0, 0};
      for (int l = 0; l < 4; ++l) {
        const std::uint64_t g = 4 * block + static_cast<std::uint64_t>(l);
        if (g < geometry_.offset || g - geometry_.offset >= geometry_.dim) continue;
        const std::uint64_t c = g - geometry_.offset;
        const std::size_t k = locate(c, cursor);
        const StepperTensor& t = tensors_[k];
        coord[l] = c;
        tensor[l] = k;
        io.valid |= 1u << l;
        io.bf16 |= t.bf16 << l;
        io.x[l] = load_param(t.bf16, t.data, c - t.begin);
        if (p.copy) io.backup[l] = load_param(t.bf16, t.backup, c - t.begin);
      }
      if (p.read_codes) io.code = codes_[u];
      stepper_unit_with(p.spec, SpecFlags{p.spec}, td.at(static_cast<std::uint64_t>(i)), io);
      for (int l = 0; l < 4; ++l) {
        if (!((io.valid >> l) & 1u)) continue;
        const StepperTensor& t = tensors_[tensor[l]];
        store_lane(p, io, t, coord[l] - t.begin, coord[l], l);
      }
      if (p.write_codes) codes_[u] = static_cast<std::uint8_t>(io.code);
    }
  }

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
  std::uint64_t counts_[kCountSlots] = {};  ///< entry counts of recording passes, by ticket
  std::uint64_t next_ticket_ = 0;
  bool list_current_ = false;  ///< the list holds the exceptions of the last recording pass
};

}  // namespace

std::unique_ptr<StepperEngine> make_cpu_stepper_engine(const std::vector<ParamTensor>& params,
                                                       StepperGeometry geometry) {
  return std::make_unique<CpuStepperEngine>(params, geometry);
}

}  // namespace detail
}  // namespace zo
