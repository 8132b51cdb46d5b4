// The sweep's tables: the long format, the per-configuration summary and its statistics.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "zo/sweep.hpp"

namespace zo {

// ---------------------------------------------------------------------------------------------
// Tables.

namespace {

std::string fmt_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// The shortest decimal that reads back as the same float (0.01f prints as 0.01).
std::string fmt_float(float v) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

std::string config_columns(const SweepConfig& c) {
  return std::string(to_string(c.method)) + ',' + fmt_float(c.lambda) + ',' + fmt_float(c.eta) +
         ',' + std::to_string(c.q) + ',' + to_string(c.distribution);
}

}  // namespace

std::string sweep_table_header(const Sweep& sweep) {
  std::string h = "run,config,seed,method,lambda,eta,q,distribution,iteration,loss,trace";
  for (const auto& m : sweep.metric_names()) h += "," + m;
  return h + ",status,diverged_at";
}

std::string format_sweep_rows(const Sweep& sweep, const SweepRows& rows) {
  const auto& spec = sweep.spec();
  std::string out;
  out.reserve(rows.size() * 160);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::size_t run = rows.run[i];
    const std::size_t config = sweep.config_of(run);
    out += std::to_string(run) + ',' + std::to_string(config) + ',' +
           std::to_string(spec.seeds[run % spec.seeds.size()]) + ',' +
           config_columns(spec.configs[config]) + ',' + std::to_string(rows.iteration[i]) + ',' +
           fmt_double(rows.loss[i]) + ',' + fmt_double(rows.trace[i]);
    for (std::size_t m = 0; m < rows.metric_count; ++m)
      out += ',' + fmt_double(rows.metrics[i * rows.metric_count + m]);
    out += rows.diverged[i] ? ",diverged," + std::to_string(rows.diverged_at[i]) : ",ok,";
    out += '\n';
  }
  return out;
}

std::vector<SweepSummaryRow> summarize(const Sweep& sweep) {
  return summarize(sweep, sweep.finals());
}

std::vector<SweepSummaryRow> summarize(const Sweep& sweep, const SweepRows& f) {
  const std::size_t configs = sweep.spec().configs.size();
  const std::size_t M = sweep.metric_names().size();
  std::vector<std::vector<std::size_t>> members(configs);
  std::vector<SweepSummaryRow> out(configs);
  for (std::size_t c = 0; c < configs; ++c) out[c].config = c;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const std::size_t c = sweep.config_of(f.run[i]);
    out[c].seeds += 1;
    // A run counts as diverged if it was frozen at any point (its final row says so).
    if (f.diverged[i]) {
      out[c].diverged += 1;
    } else {
      members[c].push_back(i);
    }
  }
  auto stats = [](std::vector<double> v, double* mean, double* se, double* median) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (v.empty()) {
      *mean = *se = nan;
      if (median) *median = nan;
      return;
    }
    double sum = 0.0;
    for (double x : v) sum += x;
    *mean = sum / static_cast<double>(v.size());
    if (v.size() >= 2) {
      double ss = 0.0;
      for (double x : v) ss += (x - *mean) * (x - *mean);
      *se = std::sqrt(ss / static_cast<double>(v.size() - 1)) /
            std::sqrt(static_cast<double>(v.size()));
    } else {
      *se = nan;
    }
    if (median) {
      std::sort(v.begin(), v.end());
      const std::size_t n = v.size();
      *median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }
  };
  for (std::size_t c = 0; c < configs; ++c) {
    std::vector<double> loss, trace;
    for (std::size_t i : members[c]) {
      loss.push_back(f.loss[i]);
      trace.push_back(f.trace[i]);
    }
    stats(loss, &out[c].loss_mean, &out[c].loss_se, &out[c].loss_median);
    stats(trace, &out[c].trace_mean, &out[c].trace_se, &out[c].trace_median);
    out[c].metric_mean.resize(M);
    out[c].metric_se.resize(M);
    for (std::size_t m = 0; m < M; ++m) {
      std::vector<double> v;
      for (std::size_t i : members[c]) v.push_back(f.metrics[i * M + m]);
      stats(v, &out[c].metric_mean[m], &out[c].metric_se[m], nullptr);
    }
  }
  return out;
}

std::string format_sweep_summary(const Sweep& sweep, const std::vector<SweepSummaryRow>& rows) {
  std::string out =
      "config,method,lambda,eta,q,distribution,seeds,diverged,iteration,loss_mean,loss_se,"
      "loss_median,trace_mean,trace_se,trace_median";
  for (const auto& m : sweep.metric_names()) out += "," + m + "_mean," + m + "_se";
  out += '\n';
  for (const auto& r : rows) {
    out += std::to_string(r.config) + ',' + config_columns(sweep.spec().configs[r.config]) + ',' +
           std::to_string(r.seeds) + ',' + std::to_string(r.diverged) + ',' +
           std::to_string(sweep.spec().steps) + ',' + fmt_double(r.loss_mean) + ',' +
           fmt_double(r.loss_se) + ',' + fmt_double(r.loss_median) + ',' +
           fmt_double(r.trace_mean) + ',' + fmt_double(r.trace_se) + ',' +
           fmt_double(r.trace_median);
    for (std::size_t m = 0; m < r.metric_mean.size(); ++m)
      out += ',' + fmt_double(r.metric_mean[m]) + ',' + fmt_double(r.metric_se[m]);
    out += '\n';
  }
  return out;
}

}  // namespace zo
