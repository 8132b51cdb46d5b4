// run_sweep_sharded(): a sweep split by configuration over the ranks of a communicator, with
// per-rank checkpoints keyed by configuration and one writer (rank 0).
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "mpi/mpi_check.hpp"
#include "sweep/checkpoint_io.hpp"
#include "zo/atomic_file.hpp"
#include "zo/mpi.hpp"

namespace zo {
namespace mpi {

namespace {

namespace fs = std::filesystem;
using zo::detail::get;
using zo::detail::get_rows;
using zo::detail::get_str;
using zo::detail::get_vec;
using zo::detail::put;
using zo::detail::put_rows;
using zo::detail::put_str;
using zo::detail::put_vec;

const char kShardMagic[8] = {'Z', 'O', 'S', 'H', 'A', 'R', 'D', '1'};

/// Everything that determines the table's bytes: the fingerprint a fresh zo::Sweep of the whole
/// grid writes into its checkpoints (objective, grid, seeds, steps, log schedule, engine...).
std::string sweep_fingerprint(const Sweep& sweep) {
  std::ostringstream out;
  sweep.save(out);
  std::istringstream in(out.str());
  in.ignore(sizeof zo::detail::kCheckpointMagic);
  return get_str(in);
}

/// The rows of the configurations a rank holds, by configuration index.
using HeldRows = std::map<std::size_t, SweepRows>;

void write_shard(const std::string& path, const std::string& fingerprint, const HeldRows& held) {
  const std::string tmp = temporary_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) ZO_FAIL(Error, "cannot write the shard checkpoint '" + tmp + "'");
    out.write(kShardMagic, sizeof kShardMagic);
    put_str(out, fingerprint);
    put<std::uint64_t>(out, held.size());
    for (const auto& [config, rows] : held) {
      put<std::uint64_t>(out, config);
      put_rows(out, rows);
    }
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      ZO_FAIL(Error, "writing the shard checkpoint '" + tmp + "' failed (disk full?)");
    }
  }
  publish_file(tmp, path);
}

/// Reads a shard checkpoint, checking it belongs to this sweep and holds whole configurations.
HeldRows read_shard(const std::string& path, const std::string& fingerprint, const Sweep& sweep) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ZO_FAIL(Error, "cannot read the shard checkpoint '" + path + "'");
  char magic[sizeof kShardMagic];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kShardMagic, sizeof magic) != 0)
    ZO_FAIL(InvalidArgument, "'" + path + "' is not a zo shard checkpoint");
  try {
    const std::string fp = get_str(in);
    if (fp != fingerprint)
      ZO_FAIL(InvalidArgument,
              "'" + path +
                  "' belongs to a different sweep (objective, grid, seeds, steps, log "
                  "schedule, engine or batch size differ)");
    const std::size_t configs = sweep.spec().configs.size();
    const std::size_t seeds = sweep.spec().seeds.size();
    const std::size_t logged = sweep.spec().log_iterations.size();
    const auto n = get<std::uint64_t>(in);
    if (n > configs) ZO_FAIL(InvalidArgument, "checkpoint is corrupt (too many configurations)");
    HeldRows held;
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto config = get<std::uint64_t>(in);
      SweepRows rows = get_rows(in);
      if (config >= configs || rows.size() != seeds * logged ||
          rows.metric_count != sweep.metric_names().size())
        ZO_FAIL(InvalidArgument, "checkpoint is corrupt (configuration rows)");
      for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows.run[r] != config * seeds + r / logged ||
            rows.iteration[r] != sweep.spec().log_iterations[r % logged])
          ZO_FAIL(InvalidArgument, "checkpoint is corrupt (row order)");
      }
      held.emplace(static_cast<std::size_t>(config), std::move(rows));
    }
    return held;
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    if (what.find(path) != std::string::npos) throw;
    throw InvalidArgument("'" + path + "': " + what);
  }
}

/// A rank's report to rank 0 at the end of its share.
struct RankReport {
  ShardStatus status = ShardStatus::completed;
  std::string failure;
  std::vector<std::uint64_t> lost;
  /// The configurations' rows: all of them, or with `text` only the final row of each run.
  HeldRows held;
  /// The table lines of each configuration, formatted by the rank that holds it (zo's long
  /// format, whose lines do not depend on the batches), so rank 0 only concatenates them.
  std::map<std::size_t, std::string> text;
};

void put_text(std::ostream& out, const std::string& text) {
  put<std::uint64_t>(out, text.size());
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string get_text(std::istream& in) {
  const auto n = get<std::uint64_t>(in);
  if (n > (std::uint64_t{1} << 31)) ZO_FAIL(InvalidArgument, "corrupt report (text size)");
  std::string text(static_cast<std::size_t>(n), '\0');
  in.read(&text[0], static_cast<std::streamsize>(n));
  if (!in) ZO_FAIL(InvalidArgument, "corrupt report (truncated text)");
  return text;
}

/// The final row of each run of one configuration's rows (its last logged iteration).
SweepRows finals_of(const SweepRows& rows, std::size_t seeds) {
  SweepRows finals;
  finals.metric_count = rows.metric_count;
  const std::size_t per_run = rows.size() / seeds;
  for (std::size_t i = per_run - 1; i < rows.size(); i += per_run) finals.append_row(rows, i);
  return finals;
}

std::string serialise(const RankReport& r) {
  std::ostringstream out;
  put<std::uint8_t>(out, static_cast<std::uint8_t>(r.status));
  put_str(out, r.failure);
  put_vec(out, r.lost);
  put<std::uint64_t>(out, r.held.size());
  for (const auto& [config, rows] : r.held) {
    put<std::uint64_t>(out, config);
    put_rows(out, rows);
  }
  put<std::uint64_t>(out, r.text.size());
  for (const auto& [config, text] : r.text) {
    put<std::uint64_t>(out, config);
    put_text(out, text);
  }
  return out.str();
}

RankReport deserialise(const std::string& bytes) {
  std::istringstream in(bytes);
  RankReport r;
  r.status = static_cast<ShardStatus>(get<std::uint8_t>(in));
  r.failure = get_str(in);
  r.lost = get_vec<std::uint64_t>(in, std::uint64_t{1} << 40);
  const auto n = get<std::uint64_t>(in);
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto config = get<std::uint64_t>(in);
    r.held.emplace(static_cast<std::size_t>(config), get_rows(in));
  }
  const auto texts = get<std::uint64_t>(in);
  for (std::uint64_t i = 0; i < texts; ++i) {
    const auto config = get<std::uint64_t>(in);
    r.text.emplace(static_cast<std::size_t>(config), get_text(in));
  }
  return r;
}

/// Gathers each rank's bytes on rank 0 (empty elsewhere).
std::vector<std::string> gather_bytes(const std::string& mine, MPI_Comm comm, int rank, int size) {
  if (mine.size() > static_cast<std::size_t>(INT_MAX))
    ZO_FAIL(MpiError, "a rank's results exceed 2 GiB; split the sweep");
  const int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), offsets(counts.size());
  ZO_MPI_TRY(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm));
  std::vector<char> all;
  if (rank == 0) {
    long long total = 0;
    for (int r = 0; r < size; ++r) {
      offsets[static_cast<std::size_t>(r)] = static_cast<int>(total);
      total += counts[static_cast<std::size_t>(r)];
    }
    if (total > INT_MAX) ZO_FAIL(MpiError, "the sweep's results exceed 2 GiB; split the sweep");
    all.resize(static_cast<std::size_t>(total));
  }
  ZO_MPI_TRY(MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), offsets.data(),
                         MPI_CHAR, 0, comm));
  std::vector<std::string> out;
  if (rank == 0) {
    for (int r = 0; r < size; ++r)
      out.emplace_back(all.data() + offsets[static_cast<std::size_t>(r)],
                       static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]));
  }
  return out;
}

/// Broadcasts rank 0's bytes.
std::string broadcast_bytes(std::string bytes, MPI_Comm comm, int rank) {
  unsigned long long n = bytes.size();
  ZO_MPI_TRY(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, comm));
  if (rank != 0) bytes.assign(static_cast<std::size_t>(n), '\0');
  if (n > 0) ZO_MPI_TRY(MPI_Bcast(&bytes[0], static_cast<int>(n), MPI_CHAR, 0, comm));
  return bytes;
}

/// Runs the configurations `share` (global indices) as one sweep — batched together like the
/// single-process sweep, so a GPU gets as many runs at once — and calls done(config, rows) with
/// the rows (global run indices, sorted by run and iteration) of each configuration as soon as
/// all its seeds are finished. Returns false when should_stop asked to stop first.
template <typename Done>
bool run_share(const Objective& objective, const SweepSpec& spec, Engine engine,
               const std::vector<std::size_t>& share, const SweepCallbacks& callbacks,
               SweepProgress& progress, Done done) {
  if (share.empty()) return true;
  SweepSpec sub = spec;
  sub.configs.clear();
  for (std::size_t c : share) sub.configs.push_back(spec.configs[c]);
  sub.engine = engine;  // the whole grid's engine, whatever this subset would pick
  Sweep sweep(objective, std::move(sub));
  const std::size_t seeds = spec.seeds.size();
  const std::size_t rows_per_config = seeds * sweep.spec().log_iterations.size();
  std::vector<SweepRows> partial(share.size());  // rows of configurations not finished yet
  using clock = std::chrono::steady_clock;
  std::uint64_t chunk = callbacks.max_steps_per_advance ? callbacks.max_steps_per_advance : 1;
  SweepRows completed;
  while (!sweep.done()) {
    if (callbacks.should_stop && callbacks.should_stop(progress)) return false;
    const auto t0 = clock::now();
    completed.clear();
    sweep.advance(chunk, &completed);
    const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
    progress.config_steps_done = sweep.progress().config_steps_done;
    progress.runs_done = sweep.progress().runs_done;
    if (!callbacks.max_steps_per_advance) {  // aim at ~0.25 s per advance, as run_sweep does
      const double factor = elapsed > 0 ? std::min(4.0, std::max(0.25, 0.25 / elapsed)) : 4.0;
      chunk = std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(static_cast<double>(chunk) * factor));
    }
    for (std::size_t i = 0; i < completed.size(); ++i) {
      const std::size_t local = completed.run[i] / seeds;
      SweepRows& rows = partial[local];
      rows.metric_count = completed.metric_count;
      rows.append_row(completed, i);
      rows.run.back() = share[local] * seeds + completed.run[i] % seeds;
      if (rows.size() == rows_per_config) {
        done(share[local], std::move(rows));
        rows = SweepRows{};
      }
    }
    if (callbacks.on_progress) callbacks.on_progress(progress);
  }
  return true;
}

}  // namespace

double config_cost(const SweepConfig& config, std::uint64_t steps, std::size_t dim,
                   std::size_t seeds) {
  double per_step = 2.0;  // gd: a value and a gradient
  if (config.method == Method::zo) per_step = 2.0 * config.q;
  if (config.method == Method::zo_limit) per_step = 2.0 + config.q;
  return static_cast<double>(seeds) * static_cast<double>(steps) * static_cast<double>(dim) *
         per_step;
}

std::vector<int> assign_configs(const std::vector<double>& cost, const std::vector<bool>& todo,
                                int ranks) {
  ZO_EXPECTS(ranks >= 1, "assign_configs: ranks must be at least 1");
  ZO_EXPECTS(todo.size() == cost.size(), "assign_configs: cost and todo differ in length");
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < cost.size(); ++c)
    if (todo[c]) order.push_back(c);
  std::stable_sort(order.begin(), order.end(),
                   [&cost](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
  std::vector<int> owner(cost.size(), -1);
  for (std::size_t c : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    owner[c] = static_cast<int>(least);
    load[static_cast<std::size_t>(least)] += cost[c];
  }
  return owner;
}

std::string shard_checkpoint_path(const std::string& prefix, int rank) {
  return prefix + ".shard" + std::to_string(rank) + ".ckpt";
}

std::vector<std::string> existing_shard_checkpoints(const std::string& prefix) {
  const fs::path p(prefix);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string stem = p.filename().string() + ".shard";
  std::vector<std::pair<long, std::string>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= stem.size() + 5 || name.compare(0, stem.size(), stem) != 0 ||
        name.compare(name.size() - 5, 5, ".ckpt") != 0)
      continue;
    const std::string digits = name.substr(stem.size(), name.size() - stem.size() - 5);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    found.emplace_back(std::stol(digits), shard_checkpoint_path(prefix, std::stoi(digits)));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

ShardedSweepResult run_sweep_sharded(const Objective& objective, const SweepSpec& spec,
                                     const ShardedSweepOutput& output, MPI_Comm comm,
                                     const SweepCallbacks& callbacks) {
  ZO_EXPECTS(!output.table_path.empty(), "run_sweep_sharded: table_path is empty");
  ZO_EXPECTS(!output.checkpoint_prefix.empty(), "run_sweep_sharded: checkpoint_prefix is empty");
  ZO_MPI_TRY(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  int rank = 0, size = 1;
  ZO_MPI_TRY(MPI_Comm_rank(comm, &rank));
  ZO_MPI_TRY(MPI_Comm_size(comm, &size));

  // The whole grid, as one process would run it: its engine, batches and fingerprint.
  const Sweep global(objective, spec);
  const SweepSpec& full = global.spec();
  const std::string fingerprint = sweep_fingerprint(global);
  const std::size_t configs = full.configs.size();
  const std::size_t seeds = full.seeds.size();

  ShardedSweepResult result;
  result.ranks = size;
  result.configs_total = configs;

  // What is done already: every shard checkpoint, whoever wrote it (any earlier number of
  // ranks). Each rank keeps the rows of its own file (it rewrites that file); rank 0 also those
  // of files beyond this run's ranks.
  const std::vector<std::string> files = existing_shard_checkpoints(output.checkpoint_prefix);
  if (!output.resume && !files.empty())
    ZO_FAIL(InvalidArgument, "shard checkpoints of an unfinished sweep exist ('" + files[0] +
                                 "'...): resume them, or remove them to start over");
  std::vector<bool> todo(configs, true);
  HeldRows mine, extra;
  for (const auto& file : files) {
    HeldRows rows = read_shard(file, fingerprint, global);
    for (const auto& entry : rows) todo[entry.first] = false;
    if (file == shard_checkpoint_path(output.checkpoint_prefix, rank)) {
      mine = std::move(rows);
    } else if (rank == 0) {
      bool beyond = true;
      for (int r = 0; r < size; ++r)
        if (file == shard_checkpoint_path(output.checkpoint_prefix, r)) beyond = false;
      if (beyond) extra.merge(rows);
    }
  }
  result.configs_resumed = static_cast<std::size_t>(std::count(todo.begin(), todo.end(), false));
  // Nobody writes a shard file before every rank has read them all.
  ZO_MPI_TRY(MPI_Barrier(comm));

  std::vector<double> cost(configs);
  for (std::size_t c = 0; c < configs; ++c)
    cost[c] = config_cost(full.configs[c], full.steps, objective.dim(), seeds);
  result.owner = assign_configs(cost, todo, size);

  // This rank's share, longest first.
  std::vector<std::size_t> share;
  for (std::size_t c = 0; c < configs; ++c)
    if (result.owner[c] == rank) share.push_back(c);
  std::stable_sort(share.begin(), share.end(),
                   [&cost](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  RankReport report;
  SweepProgress progress;
  progress.runs_total = share.size() * seeds;
  progress.config_steps_total = static_cast<std::uint64_t>(share.size() * seeds) * full.steps;
  const std::string my_file = shard_checkpoint_path(output.checkpoint_prefix, rank);
  try {
    const bool completed =
        run_share(objective, full, global.engine(), share, callbacks, progress,
                  [&](std::size_t config, SweepRows&& rows) {
                    mine.emplace(config, std::move(rows));
                    write_shard(my_file, fingerprint, mine);  // a finished configuration is kept
                  });
    if (!completed) report.status = ShardStatus::interrupted;
  } catch (const std::exception& e) {
    report.status = ShardStatus::failed;
    report.failure = "rank " + std::to_string(rank) + ": " + e.what();
  }
  for (std::size_t c : share)
    if (!mine.count(c)) report.lost.push_back(c);
  report.held = std::move(mine);
  // zo's long format: each rank formats the lines of its configurations (in parallel) and sends
  // them with the final rows only; other formats order rows within a batch, so rank 0 formats.
  const bool preformat = !output.format.rows && report.status == ShardStatus::completed;
  if (preformat) {
    for (auto& [config, rows] : report.held) {
      report.text.emplace(config, format_sweep_rows(global, rows));
      rows = finals_of(rows, seeds);
    }
  }

  // Rank 0 gathers every rank's rows and status, writes the files and tells everyone the outcome.
  const std::vector<std::string> reports = gather_bytes(serialise(report), comm, rank, size);
  std::string outcome;
  if (rank == 0) {
    ShardStatus status = ShardStatus::completed;
    std::vector<std::uint64_t> lost;
    std::vector<std::string> failures;
    HeldRows all = std::move(extra);
    std::map<std::size_t, std::string> texts;
    for (const auto& bytes : reports) {
      RankReport r = deserialise(bytes);
      if (r.status == ShardStatus::failed) status = ShardStatus::failed;
      if (r.status == ShardStatus::interrupted && status == ShardStatus::completed)
        status = ShardStatus::interrupted;
      if (!r.failure.empty()) failures.push_back(r.failure);
      lost.insert(lost.end(), r.lost.begin(), r.lost.end());
      all.merge(r.held);
      texts.merge(r.text);
    }
    std::sort(lost.begin(), lost.end());
    std::uint64_t done = all.size();
    if (status == ShardStatus::completed && all.size() != configs) {
      status = ShardStatus::failed;
      failures.push_back("rank 0: results of " + std::to_string(configs - all.size()) +
                         " configurations are missing");
      for (std::size_t c = 0; c < configs; ++c)
        if (!all.count(c)) lost.push_back(c);
    }
    if (status == ShardStatus::completed) {
      try {
        // The table in the single-process layout: header, then the rows of each batch of
        // batch_size() runs (the formatter of zo toy / zo linear orders rows within a batch).
        const auto header =
            output.format.header ? output.format.header(global) : sweep_table_header(global);
        const auto rows_of = [&output, &global](const SweepRows& r) {
          return output.format.rows ? output.format.rows(global, r) : format_sweep_rows(global, r);
        };
        std::string table = header + "\n";
        const std::size_t runs_per_batch = global.batch_size();
        const std::size_t logged = full.log_iterations.size();
        SweepRows batch, finals;
        batch.metric_count = finals.metric_count = global.metric_names().size();
        for (std::size_t c = 0; c < configs; ++c) {
          const SweepRows& rows = all.at(c);
          const SweepRows last = finals_of(rows, seeds);
          for (std::size_t i = 0; i < last.size(); ++i) finals.append_row(last, i);
          const auto formatted = texts.find(c);
          if (formatted != texts.end()) {  // the long format, formatted by the rank that ran it
            table += formatted->second;
            continue;
          }
          if (!output.format.rows) {  // the long format of a configuration resumed from a file
            table += format_sweep_rows(global, rows);
            continue;
          }
          for (std::size_t i = 0; i < rows.size(); ++i) {
            batch.append_row(rows, i);
            const bool batch_end =
                (i + 1) % logged == 0 &&
                ((rows.run[i] + 1) % runs_per_batch == 0 || rows.run[i] + 1 == configs * seeds);
            if (batch_end) {
              table += rows_of(batch);
              batch.clear();
            }
          }
        }
        if (!output.summary_path.empty())
          write_file_atomically(output.summary_path,
                                format_sweep_summary(global, summarize(global, finals)));
        write_file_atomically(output.table_path, table);
        for (const auto& file : existing_shard_checkpoints(output.checkpoint_prefix)) {
          std::error_code ec;
          fs::remove(file, ec);
        }
        result.finals = std::move(finals);
      } catch (const std::exception& e) {
        status = ShardStatus::failed;
        failures.push_back(std::string("rank 0: writing the results: ") + e.what());
      }
    }
    std::ostringstream out;
    put<std::uint8_t>(out, static_cast<std::uint8_t>(status));
    put<std::uint64_t>(out, done);
    put_vec(out, lost);
    put<std::uint64_t>(out, failures.size());
    for (const auto& f : failures) put_str(out, f);
    outcome = out.str();
  }
  outcome = broadcast_bytes(outcome, comm, rank);
  std::istringstream in(outcome);
  result.status = static_cast<ShardStatus>(get<std::uint8_t>(in));
  result.configs_done = static_cast<std::size_t>(get<std::uint64_t>(in));
  for (auto c : get_vec<std::uint64_t>(in, std::uint64_t{1} << 40))
    result.lost.push_back(static_cast<std::size_t>(c));
  const auto n_failures = get<std::uint64_t>(in);
  for (std::uint64_t i = 0; i < n_failures; ++i) result.failures.push_back(get_str(in));
  return result;
}

}  // namespace mpi
}  // namespace zo
