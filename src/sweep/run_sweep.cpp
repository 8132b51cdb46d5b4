// run_sweep(): the file driver of a sweep — table, summary, checkpoints and resume.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/sweep.hpp"

namespace zo {

namespace {

namespace fs = std::filesystem;

const char kFileMagic[8] = {'Z', 'O', 'C', 'K', 'P', 'T', '0', '1'};

/// Writes `path` atomically: a temporary file in the same directory, flushed to disk, renamed.
void write_checkpoint(const std::string& path, std::uint64_t table_bytes, const Sweep& sweep) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) ZO_FAIL(Error, "cannot write the checkpoint '" + tmp + "'");
    out.write(kFileMagic, sizeof kFileMagic);
    out.write(reinterpret_cast<const char*>(&table_bytes), sizeof table_bytes);
    sweep.save(out);
    out.flush();
    if (!out) ZO_FAIL(Error, "writing the checkpoint '" + tmp + "' failed");
  }
  // Make the bytes durable before the rename publishes them.
  if (FILE* f = std::fopen(tmp.c_str(), "rb")) {
    ::fsync(fileno(f));
    std::fclose(f);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) ZO_FAIL(Error, "cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
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

  std::uint64_t table_bytes = 0;
  bool resumed = false;
  if (output.resume && fs::exists(output.checkpoint_path)) {
    table_bytes = read_checkpoint(output.checkpoint_path, sweep);
    std::error_code ec;
    const auto size = fs::file_size(output.table_path, ec);
    if (ec || size < table_bytes)
      ZO_FAIL(Error,
              "cannot resume: the table '" + output.table_path + "' is missing or shorter (" +
                  (ec ? ec.message() : std::to_string(size) + " bytes") +
                  ") than the checkpoint recorded (" + std::to_string(table_bytes) + " bytes)");
    fs::resize_file(output.table_path, table_bytes, ec);  // drop rows written after it
    if (ec) ZO_FAIL(Error, "cannot truncate '" + output.table_path + "': " + ec.message());
    resumed = true;
  } else if (output.resume) {
    log_line("zo sweep: no checkpoint at '" + output.checkpoint_path +
             "'; starting from the beginning");
  }

  const bool append = resumed || output.append;
  if (output.append) {
    std::error_code ec;
    table_bytes = fs::exists(output.table_path, ec) ? fs::file_size(output.table_path, ec) : 0;
  }
  std::ofstream table(output.table_path, append ? (std::ios::binary | std::ios::app)
                                                : (std::ios::binary | std::ios::trunc));
  if (!table) ZO_FAIL(Error, "cannot write the table '" + output.table_path + "'");
  if (!append) {
    const std::string header = header_of(sweep) + "\n";
    table.write(header.data(), static_cast<std::streamsize>(header.size()));
    table.flush();
    table_bytes = header.size();
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
      table.flush();
      checkpoint();
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
    if (completed.size() > 0) {
      const std::string text = rows_of(sweep, completed);
      table.write(text.data(), static_cast<std::streamsize>(text.size()));
      table.flush();
      if (!table) ZO_FAIL(Error, "writing the table '" + output.table_path + "' failed");
      table_bytes += text.size();
    }
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
  if (!table) ZO_FAIL(Error, "writing the table '" + output.table_path + "' failed");
  if (!output.summary_path.empty()) {
    std::ofstream summary(output.summary_path, std::ios::binary | std::ios::trunc);
    summary << format_sweep_summary(sweep, summarize(sweep));
    summary.close();
    if (!summary) ZO_FAIL(Error, "writing the summary '" + output.summary_path + "' failed");
  }
  if (checkpoints) {
    std::error_code ec;
    fs::remove(output.checkpoint_path, ec);
  }
  return SweepStatus::completed;
}

}  // namespace zo
