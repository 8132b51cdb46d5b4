// The sweep API: grids of runs advanced in batches, logged into one long table, checkpointed.
#include <nanobind/ndarray.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>
#include <zo/sweep.hpp>

#include "arrays.hpp"
#include "bindings.hpp"
#include "gc_slots.hpp"
#include "objective_arg.hpp"
#include "py_objective.hpp"

namespace zo_py {
namespace {

nb::dict rows_dict(const zo::SweepRows& rows) {
  const std::size_t n = rows.size();
  nb::dict d;
  d["run"] = numpy_copy(rows.run.data(), {n});
  d["iteration"] = numpy_copy(rows.iteration.data(), {n});
  d["loss"] = numpy_copy(rows.loss.data(), {n});
  d["trace"] = numpy_copy(rows.trace.data(), {n});
  d["metrics"] = numpy_copy(rows.metrics.data(), {n, rows.metric_count});
  std::vector<std::uint8_t> diverged(rows.diverged.begin(), rows.diverged.end());
  d["diverged"] = numpy_copy(diverged.data(), {n}).attr("astype")("bool");
  d["diverged_at"] = numpy_copy(rows.diverged_at.data(), {n});
  return d;
}

nb::dict progress_dict(const zo::SweepProgress& p) {
  nb::dict d;
  d["runs_done"] = p.runs_done;
  d["runs_total"] = p.runs_total;
  d["config_steps_done"] = p.config_steps_done;
  d["config_steps_total"] = p.config_steps_total;
  d["batch"] = p.batch;
  d["batches"] = p.batches;
  return d;
}

/// A Sweep plus the objective it reads.
class PySweep {
 public:
  PySweep(nb::handle objective, std::vector<zo::SweepConfig> configs,
          std::vector<std::uint64_t> seeds, std::uint64_t steps,
          std::vector<std::uint64_t> log_iterations, float init_scale, nb::object initial_point,
          std::size_t batch_size, const std::string& backend, const std::string& engine,
          const std::string& trace_estimator, std::uint32_t trace_probes,
          std::uint64_t trace_seed) {
    objective_ = objective_arg(objective, 0);
    zo::SweepSpec spec;
    spec.configs = std::move(configs);
    spec.seeds = std::move(seeds);
    spec.steps = steps;
    spec.log_iterations = std::move(log_iterations);
    spec.init_scale = init_scale;
    if (!initial_point.is_none()) {
      ArrayRef x = import_array(initial_point, "initial_point", Access::read, false, false);
      const float* p = static_cast<const float*>(x.data);
      spec.initial_point.assign(p, p + x.count);
    }
    spec.batch_size = batch_size;
    spec.backend = zo::parse_backend(backend);
    spec.engine = zo::parse_engine(engine);
    spec.trace_estimator = zo::parse_trace_estimator(trace_estimator);
    spec.trace_probes = trace_probes;
    spec.trace_seed = trace_seed;
    sweep_ = std::make_unique<zo::Sweep>(*objective_.objective, std::move(spec));
  }
  zo::Sweep& get() { return *sweep_; }
  const zo::Objective* objective() const { return objective_.objective; }
  /// Garbage collector: the objective is held (it cannot be dropped while the C++ object
  /// refers to it; a cycle is broken at the objective's callables).
  int traverse(visitproc visit, void* arg) const {
    Py_VISIT(objective_.keep.ptr());
    return 0;
  }
  void clear() {}

 private:
  ObjectiveArg objective_;
  std::unique_ptr<zo::Sweep> sweep_;
};

}  // namespace

void bind_sweep(nb::module_& m) {
  nb::class_<zo::SweepConfig>(m, "SweepConfig", "One point of a sweep grid (a run minus its seed).")
      .def(
          "__init__",
          [](zo::SweepConfig* c, const std::string& method, float lam, float eta, std::uint32_t q,
             const std::string& distribution) {
            new (c) zo::SweepConfig{zo::parse_method(method), lam, eta, q,
                                    zo::parse_distribution(distribution)};
          },
          nb::kw_only(), nb::arg("method") = "zo", nb::arg("lam") = 0.1f, nb::arg("eta") = 1e-3f,
          nb::arg("q") = 1, nb::arg("distribution") = "gaussian")
      .def_prop_ro("method", [](const zo::SweepConfig& c) { return zo::to_string(c.method); })
      .def_ro("lam", &zo::SweepConfig::lambda)
      .def_ro("eta", &zo::SweepConfig::eta)
      .def_ro("q", &zo::SweepConfig::q)
      .def_prop_ro("distribution",
                   [](const zo::SweepConfig& c) { return zo::to_string(c.distribution); })
      .def("__repr__", [](const zo::SweepConfig& c) {
        return "SweepConfig(method='" + std::string(zo::to_string(c.method)) +
               "', lam=" + std::to_string(c.lambda) + ", eta=" + std::to_string(c.eta) +
               ", q=" + std::to_string(c.q) + ")";
      });

  m.def(
      "sweep_grid",
      [](const std::vector<std::string>& methods, const std::vector<float>& lambdas,
         const std::vector<float>& etas, const std::vector<std::uint32_t>& qs,
         const std::string& distribution) {
        std::vector<zo::Method> ms;
        for (const std::string& t : methods) ms.push_back(zo::parse_method(t));
        return zo::sweep_grid(ms, lambdas, etas, qs, zo::parse_distribution(distribution));
      },
      nb::arg("methods"), nb::arg("lambdas"), nb::arg("etas"),
      nb::arg("qs") = std::vector<std::uint32_t>{1}, nb::arg("distribution") = "gaussian",
      "The Cartesian product methods × λ × η × q (λ for 'zo' only, q for 'zo' and 'zo0').");

  nb::class_<PySweep>(
      m, "Sweep", nb::type_slots(gc_slots<PySweep>()),
      "Runs (configs × seeds) of one objective advanced in batches. Run r uses "
      "configs[r // len(seeds)] and seeds[r % len(seeds)]; it starts at init_scale · "
      "zo.gaussian_fill(seed, dim) unless initial_point is given.")
      .def(nb::init<nb::handle, std::vector<zo::SweepConfig>, std::vector<std::uint64_t>,
                    std::uint64_t, std::vector<std::uint64_t>, float, nb::object, std::size_t,
                    const std::string&, const std::string&, const std::string&, std::uint32_t,
                    std::uint64_t>(),
           nb::arg("objective"), nb::arg("configs"), nb::arg("seeds"), nb::arg("steps"),
           nb::kw_only(), nb::arg("log_iterations") = std::vector<std::uint64_t>{},
           nb::arg("init_scale") = 1.0f, nb::arg("initial_point") = nb::none(),
           nb::arg("batch_size") = 0, nb::arg("backend") = "auto", nb::arg("engine") = "auto",
           nb::arg("trace_estimator") = "exact", nb::arg("trace_probes") = 16,
           nb::arg("trace_seed") = 0)
      .def_prop_ro("num_runs", [](PySweep& s) { return s.get().num_runs(); })
      .def_prop_ro("batch_size", [](PySweep& s) { return s.get().batch_size(); })
      .def_prop_ro("engine", [](PySweep& s) { return zo::to_string(s.get().engine()); })
      .def_prop_ro("metric_names", [](PySweep& s) { return s.get().metric_names(); })
      .def_prop_ro("log_iterations", [](PySweep& s) { return s.get().spec().log_iterations; })
      .def_prop_ro("done", [](PySweep& s) { return s.get().done(); })
      .def_prop_ro("progress", [](PySweep& s) { return progress_dict(s.get().progress()); })
      .def(
          "run_spec", [](PySweep& s, std::size_t r) { return s.get().run_spec(r); }, nb::arg("run"))
      .def(
          "config_of", [](PySweep& s, std::size_t r) { return s.get().config_of(r); },
          nb::arg("run"))
      .def(
          "advance",
          [](PySweep& s, std::uint64_t max_steps) {
            zo::SweepRows rows;
            without_gil(s.objective(), [&] { s.get().advance(max_steps, &rows); });
            return rows_dict(rows);
          },
          nb::arg("max_steps"),
          "Advances the batch in progress by at most max_steps; returns the rows of the batches "
          "completed (a dict of arrays: run, iteration, loss, trace, metrics, diverged, "
          "diverged_at; empty until a batch completes).")
      .def(
          "finals", [](PySweep& s) { return rows_dict(s.get().finals()); },
          "One row per finished run: its values at the last iteration.")
      .def(
          "summarize",
          [](PySweep& s) {
            nb::list out;
            for (const zo::SweepSummaryRow& r : zo::summarize(s.get())) {
              nb::dict d;
              d["config"] = r.config;
              d["seeds"] = r.seeds;
              d["diverged"] = r.diverged;
              d["loss_mean"] = r.loss_mean;
              d["loss_se"] = r.loss_se;
              d["loss_median"] = r.loss_median;
              d["trace_mean"] = r.trace_mean;
              d["trace_se"] = r.trace_se;
              d["trace_median"] = r.trace_median;
              d["metric_mean"] = r.metric_mean;
              d["metric_se"] = r.metric_se;
              out.append(d);
            }
            return out;
          },
          "Mean, standard error and median of each configuration's final values over its seeds.")
      .def(
          "run",
          [](PySweep& s, const std::string& table, const std::string& summary,
             const std::string& checkpoint, bool resume, double checkpoint_seconds,
             nb::object should_stop) {
            zo::SweepOutput out;
            out.table_path = table;
            out.summary_path = summary;
            out.checkpoint_path = checkpoint;
            out.resume = resume;
            out.checkpoint_seconds = checkpoint_seconds;
            zo::SweepCallbacks callbacks;
            // Ctrl-C (a pending Python signal) stops the sweep like should_stop, at a step
            // boundary with the checkpoint written; the KeyboardInterrupt is raised afterwards.
            std::unique_ptr<nb::python_error> signal;
            callbacks.should_stop = [&should_stop, &signal](const zo::SweepProgress& p) {
              nb::gil_scoped_acquire gil;
              if (PyErr_CheckSignals() != 0) {
                signal = std::make_unique<nb::python_error>();
                return true;
              }
              return !should_stop.is_none() && nb::cast<bool>(should_stop(progress_dict(p)));
            };
            const zo::SweepStatus status =
                without_gil(s.objective(), [&] { return zo::run_sweep(s.get(), out, callbacks); });
            if (signal) throw nb::python_error(std::move(*signal));
            return status == zo::SweepStatus::completed ? "completed" : "interrupted";
          },
          nb::arg("table"), nb::kw_only(), nb::arg("summary") = "", nb::arg("checkpoint") = "",
          nb::arg("resume") = false, nb::arg("checkpoint_seconds") = 60.0,
          nb::arg("should_stop") = nb::none(),
          "Runs the sweep to completion, writing the long table (and the summary and checkpoints "
          "when paths are given), each atomically. should_stop(progress) → True interrupts at a "
          "step boundary (checkpoint written; without a checkpoint path the complete rows go to "
          "<stem>.partial.csv). Ctrl-C does the same, then raises KeyboardInterrupt. Returns "
          "'completed' or 'interrupted'.");
}

}  // namespace zo_py
