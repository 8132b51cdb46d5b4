// run_sweep(): the file driver of a sweep — table, summary, checkpoints and resume.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "zo/atomic_file.hpp"
#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/sweep.hpp"

namespace zo {

namespace {

namespace fs = std::filesystem;

const char kFileMagic[8] = {'Z', 'O', 'C', 'K', 'P', 'T', '0', '1'};

/// Writes the checkpoint atomically (temporary file beside it, flushed to disk, renamed).
void write_checkpoint(const std::string& path, std::uint64_t table_bytes, const Sweep& sweep) {
  const std::string tmp = temporary_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) ZO_FAIL(Error, "cannot write the checkpoint '" + tmp + "'");
    out.write(kFileMagic, sizeof kFileMagic);
    out.write(reinterpret_cast<const char*>(&table_bytes), sizeof table_bytes);
    sweep.save(out);
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      ZO_FAIL(Error, "writing the checkpoint '" + tmp + "' failed (disk full?)");
    }
  }
  publish_file(tmp, path);
}

std::uint64_t read_checkpoint(const std::string& path, Sweep& sweep) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ZO_FAIL(Error, "cannot read the checkpoint '" + path + "'");
  char magic[sizeof kFileMagic];
  in.read(magic, sizeof magic);
  if (!in || std::memcmp(magic, kFileMagic, sizeof magic) != 0)
    ZO_FAIL(InvalidArgument, "'" + path + "' is not a zo sweep checkpoint");
  std::uint64_t table_bytes = 0;
  in.read(reinterpret_cast<char*>(&table_bytes), sizeof table_bytes);
  if (!in) ZO_FAIL(InvalidArgument, "'" + path + "' is truncated");
  sweep.load(in);
  return table_bytes;
}

void make_parent(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
}

}  // namespace

std::string sweep_part_path(const std::string& table_path) { return table_path + ".part"; }

std::string sweep_partial_path(const std::string& table_path) {
  const fs::path p(table_path);
  fs::path partial = p;
  partial.replace_filename(p.stem().string() + ".partial" + p.extension().string());
  return partial.string();
}

SweepStatus run_sweep(Sweep& sweep, const SweepOutput& output, const SweepCallbacks& callbacks) {
  ZO_EXPECTS(!output.table_path.empty(), "run_sweep: table_path is empty");
  ZO_EXPECTS(!output.resume || !output.checkpoint_path.empty(),
             "run_sweep: resume needs a checkpoint path");
  ZO_EXPECTS(!output.append || (output.checkpoint_path.empty() && !output.resume),
             "run_sweep: append is for sweeps without checkpoints");
  const auto header_of = [&output](const Sweep& s) {
    return output.format.header ? output.format.header(s) : sweep_table_header(s);
  };
  const auto rows_of = [&output](const Sweep& s, const SweepRows& r) {
    return output.format.rows ? output.format.rows(s, r) : format_sweep_rows(s, r);
  };
  make_parent(output.table_path);
  if (!output.summary_path.empty()) make_parent(output.summary_path);
  if (!output.checkpoint_path.empty()) make_parent(output.checkpoint_path);
  // The table grows in the part file beside it and replaces table_path only when complete.
  const std::string part = sweep_part_path(output.table_path);

  std::uint64_t table_bytes = 0;
  bool resumed = false;
  if (output.resume && fs::exists(output.checkpoint_path)) {
    table_bytes = read_checkpoint(output.checkpoint_path, sweep);
    std::error_code ec;
    const auto size = fs::file_size(part, ec);
    if (ec || size < table_bytes)
      ZO_FAIL(Error, "cannot resume: the partial table '" + part + "' is missing or shorter (" +
                         (ec ? ec.message() : std::to_string(size) + " bytes") +
                         ") than the checkpoint recorded (" + std::to_string(table_bytes) +
                         " bytes)");
    fs::resize_file(part, table_bytes, ec);  // drop rows written after it
    if (ec) ZO_FAIL(Error, "cannot truncate '" + part + "': " + ec.message());
    resumed = true;
  } else if (output.resume) {
    log_line("zo sweep: no checkpoint at '" + output.checkpoint_path +
             "'; starting from the beginning");
  }

  const bool append = resumed || output.append;
  if (output.append) {
    std::error_code ec;
    table_bytes = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
  }
  std::ofstream table(
      part, append ? (std::ios::binary | std::ios::app) : (std::ios::binary | std::ios::trunc));
  if (!table) ZO_FAIL(Error, "cannot write the table '" + part + "'");
  const auto write_text = [&](const std::string& text) {
    table.write(text.data(), static_cast<std::streamsize>(text.size()));
    table.flush();
    if (!table) ZO_FAIL(Error, "writing the table '" + part + "' failed (disk full?)");
    table_bytes += text.size();
  };
  if (!append) {
    table_bytes = 0;
    write_text(header_of(sweep) + "\n");
  }

  using clock = std::chrono::steady_clock;
  auto last_checkpoint = clock::now();
  std::uint64_t steps_since_checkpoint = 0;
  const bool checkpoints = !output.checkpoint_path.empty();
  auto checkpoint = [&] {
    if (!checkpoints) return;
    write_checkpoint(output.checkpoint_path, table_bytes, sweep);
    last_checkpoint = clock::now();
    steps_since_checkpoint = 0;
  };

  std::uint64_t chunk = callbacks.max_steps_per_advance ? callbacks.max_steps_per_advance : 1;
  SweepRows completed;
  while (!sweep.done()) {
    if (callbacks.should_stop && callbacks.should_stop(sweep.progress())) {
      if (checkpoints) {
        table.flush();
        checkpoint();
        return SweepStatus::interrupted;
      }
      // No checkpoint to resume from: keep every complete row, including those of the batch in
      // progress, in a table named as partial; table_path stays untouched.
      if (sweep.pending().size() > 0) write_text(rows_of(sweep, sweep.pending()));
      table.close();
      publish_file(part, sweep_partial_path(output.table_path));
      return SweepStatus::interrupted;
    }
    std::uint64_t limit = chunk;
    if (output.checkpoint_steps && checkpoints)
      limit = std::min(
          limit, std::max<std::uint64_t>(1, output.checkpoint_steps - steps_since_checkpoint));
    const auto t0 = clock::now();
    completed.clear();
    const std::uint64_t taken = sweep.advance(limit, &completed);
    const double elapsed = std::chrono::duration<double>(clock::now() - t0).count();
    steps_since_checkpoint += taken;
    if (completed.size() > 0) write_text(rows_of(sweep, completed));
    if (!callbacks.max_steps_per_advance) {  // aim at ~0.25 s per advance
      const double factor = elapsed > 0 ? std::min(4.0, std::max(0.25, 0.25 / elapsed)) : 4.0;
      chunk = std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(static_cast<double>(chunk) * factor));
    }
    if (callbacks.on_progress) callbacks.on_progress(sweep.progress());
    const bool by_time = output.checkpoint_seconds > 0 &&
                         std::chrono::duration<double>(clock::now() - last_checkpoint).count() >=
                             output.checkpoint_seconds;
    const bool by_steps =
        output.checkpoint_steps && steps_since_checkpoint >= output.checkpoint_steps;
    if (!sweep.done() && (by_time || by_steps || completed.size() > 0)) checkpoint();
  }
  table.close();
  if (!table) ZO_FAIL(Error, "writing the table '" + part + "' failed (disk full?)");
  if (!output.summary_path.empty()) {
    write_file_atomically(output.summary_path, format_sweep_summary(sweep, summarize(sweep)));
  }
  if (output.finish_table) publish_file(part, output.table_path);
  if (checkpoints) {
    std::error_code ec;
    fs::remove(output.checkpoint_path, ec);
  }
  return SweepStatus::completed;
}

}  // namespace zo
