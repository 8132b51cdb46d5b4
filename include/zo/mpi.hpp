// zo::mpi — zo on several processes (find_package(zo COMPONENTS mpi), target zo::mpi):
// sharded sweeps, and data-parallel ZO that exchanges 2q function values per step instead of a
// d-dimensional gradient. A separate library: libzo never depends on MPI.
//
// This header includes <mpi.h> on purpose: the API takes the caller's MPI_Comm (a library inside
// a larger MPI program runs on the communicator it is given, not on MPI_COMM_WORLD), and the
// component links MPI PUBLIC anyway, so hiding the type would only add a second handle type.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zo/classification_data.hpp"
#include "zo/error.hpp"
#include "zo/linear_model.hpp"
#include "zo/objective.hpp"
#include "zo/sweep.hpp"

#define ZO_MPI_API __attribute__((visibility("default")))

namespace zo {
namespace mpi {

/// An MPI call failed (MPI_ERRORS_RETURN is set on the communicators zo uses): the message names
/// the call and MPI's error string.
class ZO_MPI_API MpiError : public Error {
 public:
  using Error::Error;
};

/// Owns MPI for a program that uses zo::mpi: initialises MPI (MPI_THREAD_FUNNELED) unless it is
/// already initialised, sets MPI_ERRORS_RETURN on MPI_COMM_WORLD so that failures become
/// zo::mpi::MpiError instead of aborting, and finalises MPI on destruction when it initialised it.
class ZO_MPI_API Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  /// Rank and size in MPI_COMM_WORLD.
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Rank among the processes of this node, and their number (MPI_COMM_TYPE_SHARED).
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

 private:
  bool owns_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

/// MPI_Get_library_version(), first line (callable before MPI_Init).
ZO_MPI_API std::string library_version();

// ---------------------------------------------------------------------------------------------
// Sharded sweeps.

/// The estimated cost of one configuration of a sweep, in coordinate-evaluations:
/// seeds × steps × dim × (2q for zo, 2 + q for zo0, 2 for gd). Only the ratios matter.
ZO_MPI_API double config_cost(const SweepConfig& config, std::uint64_t steps, std::size_t dim,
                              std::size_t seeds);

/// Greedy longest-processing-time assignment: the configurations with todo[c] in order of
/// decreasing cost (ties: lower index first), each onto the rank with the least work so far
/// (ties: lower rank). Returns the owner rank of each configuration (−1 where !todo[c]). A pure
/// function: every rank computes the same plan.
ZO_MPI_API std::vector<int> assign_configs(const std::vector<double>& cost,
                                           const std::vector<bool>& todo, int ranks);

/// Files of a sharded sweep.
struct ShardedSweepOutput {
  std::string table_path;    ///< the long table (written by rank 0 only)
  std::string summary_path;  ///< per-configuration summary (rank 0); empty = none
  /// Each rank r keeps the rows of the configurations it finished in
  /// shard_checkpoint_path(checkpoint_prefix, r), rewritten atomically after every
  /// configuration. Required.
  std::string checkpoint_prefix;
  /// Continue from the shard checkpoints that exist, whatever number of ranks wrote them;
  /// without it, existing shard checkpoints are an error (zo::InvalidArgument).
  bool resume = false;
  SweepTableFormat format;  ///< the table's layout (default: zo's long format)
};

/// How a sharded sweep ended (the same value on every rank).
enum class ShardStatus { completed, interrupted, failed };

/// The outcome of run_sweep_sharded(), identical on every rank.
struct ShardedSweepResult {
  ShardStatus status = ShardStatus::completed;
  int ranks = 1;
  std::size_t configs_total = 0;
  std::size_t configs_resumed = 0;  ///< finished before this call (read from shard checkpoints)
  std::size_t configs_done = 0;     ///< finished, in all (on completion: configs_total)
  /// Configurations that a failed or interrupted rank did not finish (to be rerun by --resume).
  std::vector<std::size_t> lost;
  /// One line per failed rank: "rank R: <error>".
  std::vector<std::string> failures;
  std::vector<int> owner;  ///< the rank that ran each configuration in this call (−1: resumed)
  /// Rank 0, on completion: one final row per run (what summarize() takes); empty elsewhere.
  SweepRows finals;
};

/// Path of rank r's shard checkpoint: "<prefix>.shard<r>.ckpt".
ZO_MPI_API std::string shard_checkpoint_path(const std::string& prefix, int rank);
/// The shard checkpoints of `prefix` that exist, in rank order.
ZO_MPI_API std::vector<std::string> existing_shard_checkpoints(const std::string& prefix);

/// Runs a sweep on the ranks of `comm`: the configurations not finished yet are assigned by
/// estimated cost (assign_configs); each rank runs its configurations as one zo::Sweep (batched
/// together as one process would, all seeds of a configuration included) and rewrites its shard
/// checkpoint whenever a configuration's last run finishes; rank 0 gathers the rows and writes
/// the table and the summary — the same bytes as run_sweep() in one process, for any number of
/// ranks, resumed or not (a run's rows do not depend on the batch it ran in; the table is
/// formatted in the single-process batches). Interruption (callbacks.should_stop, polled on each
/// rank) and failure of a rank (an exception in its share) lose only the configurations not
/// finished: the others stay in the shard checkpoints, the result lists what was lost, and a
/// call with output.resume runs only that. A rank killed outright makes the launcher abort the
/// job; the finished configurations are on disk already. Collective over `comm`; every rank
/// passes the same objective and spec. The shard checkpoints must be on a file system that
/// every rank sees.
ZO_MPI_API ShardedSweepResult run_sweep_sharded(const Objective& objective, const SweepSpec& spec,
                                                const ShardedSweepOutput& output, MPI_Comm comm,
                                                const SweepCallbacks& callbacks = {});

// ---------------------------------------------------------------------------------------------
// Data-parallel ZO.

/// One objective over data split into chunks of rows: f(x) = Σ_c w_c f_c(x), where chunk c's
/// objective f_c (e.g. a LinearModel of rows [c·R, (c+1)·R)) lives on the rank that owns the
/// chunk. evaluate() evaluates the local chunks, exchanges the per-chunk values of the batch
/// (one MPI_Allgatherv of 8 bytes × points × local chunks: for a ZO step of K runs, 16·K·q bytes
/// per chunk) and adds w_c f_c in chunk order on every rank. The chunk boundaries do not depend
/// on the number of ranks, so the values — and with the same seed every rank's ZO update — are
/// bit-identical for any number of ranks, and the parameter copies never need to be sent.
///
/// Gradients (for GD baselines) are exchanged per chunk as floats (4·d bytes per chunk and
/// point) and added in chunk order in double; metrics m combine as Σ_c metric_weights[m][c] ·
/// metric_c. The exact trace combines with the value weights. Every call is collective: all
/// ranks must evaluate the same number of points in the same order (RunBatch, minimize() and the
/// Stepper do when every rank runs the same specs and seeds).
class ZO_MPI_API DataParallelObjective final : public Objective {
 public:
  /// How the ranks' values are added.
  enum class Combine {
    /// Every chunk's value is exchanged and the chunks are added in chunk order on every rank:
    /// bit-identical for any number of ranks; 8 bytes per point per chunk (16·q·C/N bytes per
    /// rank for a ZO step with C chunks on N ranks).
    per_chunk,
    /// Each rank adds its own chunks first and one value per point and rank is exchanged, added
    /// in rank order: 16·q bytes per rank per ZO step whatever the chunks; bit-identical from
    /// run to run for a fixed number of ranks, equal to rounding (the order of the double sums)
    /// across numbers of ranks.
    per_rank,
  };

  /// `local`: the objectives of the chunks this rank owns, `local_chunks` their global indices
  /// (increasing); `weights`: w_c for every chunk (same on every rank); `metric_weights`: one
  /// weight vector per metric of the chunk objectives (empty: the value weights). All chunk
  /// objectives have the same dim() and metric_names().
  DataParallelObjective(std::vector<std::shared_ptr<const Objective>> local,
                        std::vector<std::size_t> local_chunks, std::vector<double> weights,
                        std::vector<std::vector<double>> metric_weights, MPI_Comm comm);
  ~DataParallelObjective() override;

  std::size_t dim() const override { return dim_; }
  std::string name() const override;
  bool accepts(MemorySpace space) const override { return space == MemorySpace::host; }
  void evaluate(const PointBatch& points, double* values) const override;
  bool has_gradient() const override;
  void gradient(const PointBatch& points, float* grads, std::size_t grad_stride) const override;
  bool has_exact_trace() const override;
  void exact_trace(const PointBatch& points, double* traces) const override;
  std::vector<std::string> metric_names() const override { return metric_names_; }
  void metrics(const PointBatch& points, double* out) const override;

  /// Chooses the exchange (default per_chunk); the same on every rank, before the first call.
  void set_combine(Combine combine) { combine_ = combine; }
  Combine combine_mode() const { return combine_; }

  /// Every `calls`-th evaluate() (default 64; 0 = never) first verifies with check_replicas()
  /// that every rank evaluates the same points — that the parameter copies are still identical.
  void set_replica_check(std::uint64_t calls) { check_every_ = calls; }

  /// Bytes this rank has sent in exchanges so far (values, gradients, metrics).
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  /// Number of exchanges (collective calls) so far.
  std::uint64_t exchanges() const { return exchanges_; }

 private:
  /// Gathers `per_chunk` values (local chunks × n, chunk-major) from every rank and returns
  /// Σ_c weight[c] · value[c][i] for i < n, added in chunk order.
  std::vector<double> combine(const std::vector<double>& per_chunk, std::size_t n,
                              const std::vector<double>& weight) const;
  /// The same with a weight per value: weight_of(c, i) for chunk c and value i < n.
  template <typename WeightOf>
  std::vector<double> combine_with(const std::vector<double>& per_chunk, std::size_t n,
                                   WeightOf weight_of) const;

  std::vector<std::shared_ptr<const Objective>> local_;
  std::vector<std::size_t> local_chunks_;
  std::vector<double> weights_;
  std::vector<std::vector<double>> metric_weights_;
  std::vector<std::string> metric_names_;
  std::vector<int> chunks_of_rank_;       // number of chunks each rank owns
  std::vector<std::size_t> chunk_order_;  // global chunk index of each gathered slot
  MPI_Comm comm_;
  std::size_t dim_ = 0;
  std::uint64_t check_every_ = 64;
  Combine combine_ = Combine::per_chunk;
  mutable std::uint64_t bytes_sent_ = 0, exchanges_ = 0, evaluations_ = 0;
};

/// The rank that owns chunk c of `chunks` spread over `ranks` in contiguous blocks (rank r owns
/// chunks [r·C/N, (r+1)·C/N)).
ZO_MPI_API int chunk_owner(std::size_t chunk, std::size_t chunks, int ranks);

/// Rows [begin, end) of a data set (dense or CSR), as a data set of their own.
ZO_MPI_API BinaryDataset row_range(const BinaryDataset& data, std::size_t begin, std::size_t end);

/// The LinearModel of `train` (and `test`, may be null) split into `chunks` chunks of rows — chunk
/// c holds train rows [c·n/C, (c+1)·n/C) and the same share of the test rows — of which this
/// rank builds those it owns (chunk_owner). Weights: the chunk's share of the train rows for
/// the loss, the trace and train_accuracy, of the test rows for the test_* metrics. The values
/// are bit-identical for any number of ranks ≤ chunks (and differ from one LinearModel of all
/// rows only by the order of the double sums). Collective over `comm`.
ZO_MPI_API std::shared_ptr<DataParallelObjective> make_data_parallel_linear_model(
    LinearLoss loss, const BinaryDataset& train, const BinaryDataset* test, std::size_t chunks,
    MPI_Comm comm, LinearModelOptions options = {});

/// A 64-bit checksum of a parameter vector (FNV-1a over its bytes).
ZO_MPI_API std::uint64_t parameter_checksum(const float* x, std::size_t n);

/// Verifies that every rank of `comm` holds the same parameters (collective: one allgather of 8
/// bytes). Throws zo::mpi::MpiError naming the ranks whose copy differs from rank 0's, with
/// `what` (e.g. "step 1200"), when they do not. Call it every N steps of a data-parallel run.
ZO_MPI_API void check_replicas(const float* x, std::size_t n, MPI_Comm comm,
                               const std::string& what);

}  // namespace mpi
}  // namespace zo
