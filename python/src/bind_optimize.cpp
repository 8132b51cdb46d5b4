// Objectives, zo.minimize, zo.RunBatch and the trace estimators.
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>
#include <zo/example21.hpp>
#include <zo/run_batch.hpp>
#include <zo/trace.hpp>

#include "arrays.hpp"
#include "bindings.hpp"
#include "gc_slots.hpp"
#include "objective_arg.hpp"
#include "py_objective.hpp"

namespace zo_py {

ObjectiveArg objective_arg(nb::handle obj, std::size_t dim) {
  ObjectiveArg arg;
  zo::Objective* native = nullptr;
  if (nb::try_cast<zo::Objective*>(obj, native, false) && native) {
    arg.objective = native;
    arg.keep = nb::borrow(obj);
  } else if (PyCallable_Check(obj.ptr())) {
    if (dim == 0)
      throw nb::type_error(
          "objective: a plain function needs a zo.CallbackObjective (its dimension is unknown "
          "here)");
    nb::object wrapped = nb::type<CallbackObjective>()(dim, nb::borrow(obj));
    arg.objective = nb::cast<zo::Objective*>(wrapped);
    arg.keep = wrapped;
  } else {
    throw nb::type_error(("objective must be a zo.Objective or a function of a (points, dim) "
                          "array, got " +
                          nb::cast<std::string>(nb::type_name(obj.type())))
                             .c_str());
  }
  if (dim != 0 && arg.objective->dim() != dim) {
    throw nb::value_error(("the objective has dimension " + std::to_string(arg.objective->dim()) +
                           " but the point has " + std::to_string(dim) + " coordinates")
                              .c_str());
  }
  return arg;
}

namespace {

zo::NonFinitePolicy policy(const std::string& text) {
  if (text == "error") return zo::NonFinitePolicy::error;
  if (text == "skip") return zo::NonFinitePolicy::skip;
  if (text == "mark_diverged" || text == "diverged") return zo::NonFinitePolicy::mark_diverged;
  throw nb::value_error(
      ("on_non_finite must be 'error', 'skip' or 'mark_diverged', got '" + text + "'").c_str());
}

/// A host float32 array of `count` coordinates (any shape), read or written by zo.
ArrayRef host_points(nb::handle obj, const char* name, Access access) {
  return import_array(obj, name, access, /*allow_bf16=*/false, /*allow_device=*/false);
}

std::vector<std::size_t> dims_of(const ArrayRef& a) { return {a.shape.begin(), a.shape.end()}; }

/// A RunBatch plus the objective it reads.
class PyRunBatch {
 public:
  PyRunBatch(nb::handle objective, std::vector<zo::RunSpec> runs, nb::handle x0,
             const std::string& backend, const std::string& engine,
             const std::string& on_non_finite, std::uint64_t start_step) {
    ArrayRef x = host_points(x0, "x0", Access::read);
    if (runs.empty()) throw nb::value_error("runs is empty");
    if (x.count % runs.size() != 0) {
      throw nb::value_error(("x0 has " + std::to_string(x.count) + " floats, not a multiple of " +
                             std::to_string(runs.size()) + " runs")
                                .c_str());
    }
    objective_ = objective_arg(objective, x.count / runs.size());
    zo::BatchOptions o;
    o.backend = zo::parse_backend(backend);
    o.engine = zo::parse_engine(engine);
    o.on_non_finite = policy(on_non_finite);
    o.start_step = start_step;
    const float* data = static_cast<const float*>(x.data);
    batch_ = without_gil(objective_.objective, [&] {
      return std::make_unique<zo::RunBatch>(*objective_.objective, std::move(runs), data, o);
    });
  }

  zo::RunBatch& get() { return *batch_; }
  const zo::RunBatch& get() const { return *batch_; }
  const zo::Objective* objective() const { return objective_.objective; }
  /// Garbage collector: the objective is held (it cannot be dropped while the C++ object
  /// refers to it; a cycle is broken at the objective's callables).
  int traverse(visitproc visit, void* arg) const {
    Py_VISIT(objective_.keep.ptr());
    return 0;
  }
  void clear() {}
  nb::object objective_object() const { return objective_.keep; }

 private:
  ObjectiveArg objective_;
  std::unique_ptr<zo::RunBatch> batch_;
};

nb::dict status_dict(const zo::RunStatus& s) {
  nb::dict d;
  d["diverged"] = s.diverged;
  d["diverged_at"] = s.diverged_at;
  d["skipped_steps"] = s.skipped_steps;
  return d;
}

zo::TraceOptions trace_options(const std::string& backend, const std::string& distribution,
                               double epsilon, double value_precision, const std::string& hessian) {
  zo::TraceOptions o;
  o.backend = zo::parse_backend(backend);
  if (distribution != "auto") {
    o.automatic_distribution = false;
    o.distribution = zo::parse_distribution(distribution);
  }
  o.epsilon = epsilon;
  o.value_precision = value_precision;
  if (hessian == "auto") {
    o.hessian = zo::HessianSource::automatic;
  } else if (hessian == "hvp") {
    o.hessian = zo::HessianSource::hvp;
  } else if (hessian == "gradient") {
    o.hessian = zo::HessianSource::gradient;
  } else {
    throw nb::value_error(
        ("hessian must be 'auto', 'hvp' or 'gradient', got '" + hessian + "'").c_str());
  }
  return o;
}

}  // namespace

void bind_optimize(nb::module_& m) {
  nb::class_<zo::Objective>(
      m, "Objective",
      "A function f: R^dim → R evaluated on batches of points (zo.CallbackObjective for Python "
      "functions, zo.Example21 built in).")
      .def_prop_ro("dim", &zo::Objective::dim)
      .def_prop_ro("name", &zo::Objective::name)
      .def_prop_ro("has_gradient", &zo::Objective::has_gradient)
      .def_prop_ro("has_hvp", &zo::Objective::has_hvp)
      .def_prop_ro("has_exact_trace", &zo::Objective::has_exact_trace)
      .def(
          "__call__",
          [](const zo::Objective& f, nb::handle points) {
            ArrayRef x = host_points(points, "points", Access::read);
            if (x.count % f.dim() != 0) {
              throw nb::value_error(("points has " + std::to_string(x.count) +
                                     " floats, not a multiple of dim = " + std::to_string(f.dim()))
                                        .c_str());
            }
            const std::size_t count = x.count / f.dim();
            std::vector<double> values(count);
            zo::PointBatch batch{static_cast<const float*>(x.data), count, f.dim(), f.dim()};
            without_gil(&f, [&] { f.evaluate(batch, values.data()); });
            return numpy_copy(values.data(), {count});
          },
          nb::arg("points"), "f at each row of `points` (a (points, dim) float32 array).");

  nb::class_<CallbackObjective, zo::Objective>(
      m, "CallbackObjective", nb::type_slots(gc_slots<CallbackObjective>()),
      "An objective from Python functions of a whole batch: fun(points) → values, with points a "
      "fresh float32 array of shape (P, dim) and values P numbers. Optional: gradient(points) → "
      "(P, dim), hvp(points, vectors) → (P, dim), exact_trace(points) → (P,). An exception "
      "raised by one of them propagates unchanged (with a note naming the step) and leaves the "
      "optimiser's state as it was.")
      .def(nb::init<std::size_t, nb::object, nb::object, nb::object, nb::object, std::string>(),
           nb::arg("dim"), nb::arg("fun"), nb::arg("gradient") = nb::none(),
           nb::arg("hvp") = nb::none(), nb::arg("exact_trace") = nb::none(),
           nb::arg("name") = "python");

  nb::class_<zo::Example21, zo::Objective>(
      m, "Example21",
      "Example 2.1 of the paper: h(y, z) = (yᵀz − 1)²/2 on R^(2d), with gradient, HVP and exact "
      "trace ‖y‖² + ‖z‖².")
      .def(nb::init<std::size_t>(), nb::arg("d"));

  nb::class_<zo::RunSpec>(m, "RunSpec", "Hyper-parameters of one run of Algorithm 1.")
      .def(
          "__init__",
          [](zo::RunSpec* s, const std::string& method, float lam, float eta, std::uint32_t q,
             std::uint64_t seed, const std::string& distribution) {
            new (s) zo::RunSpec{
                zo::parse_method(method), lam, eta, q, seed, zo::parse_distribution(distribution)};
          },
          nb::kw_only(), nb::arg("method") = "zo", nb::arg("lam") = 0.1f, nb::arg("eta") = 1e-3f,
          nb::arg("q") = 1, nb::arg("seed") = 0, nb::arg("distribution") = "gaussian")
      .def_prop_rw(
          "method", [](const zo::RunSpec& s) { return zo::to_string(s.method); },
          [](zo::RunSpec& s, const std::string& t) { s.method = zo::parse_method(t); })
      .def_rw("lam", &zo::RunSpec::lambda)
      .def_rw("eta", &zo::RunSpec::eta)
      .def_rw("q", &zo::RunSpec::q)
      .def_rw("seed", &zo::RunSpec::seed)
      .def_prop_rw(
          "distribution", [](const zo::RunSpec& s) { return zo::to_string(s.distribution); },
          [](zo::RunSpec& s, const std::string& t) { s.distribution = zo::parse_distribution(t); })
      .def("__repr__", [](const zo::RunSpec& s) {
        return "RunSpec(method='" + std::string(zo::to_string(s.method)) +
               "', lam=" + std::to_string(s.lambda) + ", eta=" + std::to_string(s.eta) +
               ", q=" + std::to_string(s.q) + ", seed=" + std::to_string(s.seed) +
               ", distribution='" + zo::to_string(s.distribution) + "')";
      });

  m.def(
      "minimize",
      [](nb::handle objective, nb::handle x, std::uint64_t steps, const std::string& method,
         float lam, float eta, std::uint32_t q, std::uint64_t seed, const std::string& distribution,
         const std::string& backend, const std::string& on_non_finite) {
        ArrayRef xa = host_points(x, "x", Access::write);
        ObjectiveArg f = objective_arg(objective, xa.count);
        zo::RunSpec spec{
            zo::parse_method(method), lam, eta, q, seed, zo::parse_distribution(distribution)};
        zo::BatchOptions o;
        o.backend = zo::parse_backend(backend);
        o.on_non_finite = policy(on_non_finite);
        float* data = static_cast<float*>(xa.data);
        return without_gil(f.objective,
                           [&] { return zo::minimize(*f.objective, data, spec, steps, o); });
      },
      nb::arg("objective"), nb::arg("x"), nb::arg("steps"), nb::kw_only(), nb::arg("method") = "zo",
      nb::arg("lam") = 0.1f, nb::arg("eta") = 1e-3f, nb::arg("q") = 1, nb::arg("seed") = 0,
      nb::arg("distribution") = "gaussian", nb::arg("backend") = "auto",
      nb::arg("on_non_finite") = "error",
      "Minimises `objective` from x (float32, host, updated in place) for `steps` steps of "
      "Algorithm 1 (method 'zo'), GD ('gd') or ZO with λ → 0 ('zo0'); returns the final f(x). "
      "`objective` is a zo.Objective or a function of a (points, dim) array returning the "
      "values. On an error x is left unchanged (an objective's exception) or at the last "
      "iterate (a diverged run, zo.ObjectiveError).");

  nb::class_<PyRunBatch>(
      m, "RunBatch", nb::type_slots(gc_slots<PyRunBatch>()),
      "K independent runs advancing together: each step evaluates all 2·K·q perturbed points in "
      "one batched objective call. x0: (K, dim) float32 host array (copied).")
      .def(nb::init<nb::handle, std::vector<zo::RunSpec>, nb::handle, const std::string&,
                    const std::string&, const std::string&, std::uint64_t>(),
           nb::arg("objective"), nb::arg("runs"), nb::arg("x0"), nb::kw_only(),
           nb::arg("backend") = "auto", nb::arg("engine") = "auto",
           nb::arg("on_non_finite") = "error", nb::arg("start_step") = 0)
      .def_prop_ro("size", [](const PyRunBatch& b) { return b.get().size(); })
      .def_prop_ro("dim", [](const PyRunBatch& b) { return b.get().dim(); })
      .def_prop_ro("next_step", [](const PyRunBatch& b) { return b.get().next_step(); })
      .def_prop_ro("backend", [](const PyRunBatch& b) { return zo::to_string(b.get().backend()); })
      .def_prop_ro("engine", [](const PyRunBatch& b) { return zo::to_string(b.get().engine()); })
      .def_prop_ro("runs", [](const PyRunBatch& b) { return b.get().runs(); })
      .def_prop_ro("objective", &PyRunBatch::objective_object)
      .def_prop_ro("statuses",
                   [](const PyRunBatch& b) {
                     nb::list out;
                     for (const zo::RunStatus& s : b.get().statuses()) out.append(status_dict(s));
                     return out;
                   })
      .def(
          "run",
          [](PyRunBatch& b, std::uint64_t steps, nb::object log_iterations) -> nb::object {
            if (log_iterations.is_none()) {
              without_gil(b.objective(), [&] { b.get().run(steps); });
              return nb::none();
            }
            std::vector<std::uint64_t> its = nb::cast<std::vector<std::uint64_t>>(log_iterations);
            const std::size_t width = 2 + b.objective()->metric_names().size();
            std::vector<double> values(its.size() * b.get().size() * width);
            without_gil(b.objective(), [&] { b.get().run(steps, its, values.data()); });
            return numpy_copy(values.data(), {its.size(), b.get().size(), width});
          },
          nb::arg("steps"), nb::arg("log_iterations") = nb::none(),
          "Advances every run by `steps` steps. With log_iterations (sorted, within the steps "
          "run), returns an array (len(log_iterations), K, 2 + metrics) of f, the exact trace "
          "(NaN when none) and the metrics at those iterations. On an error the batch stays at "
          "its last completed step.")
      .def(
          "points",
          [](const PyRunBatch& b) {
            std::vector<float> x(b.get().size() * b.get().dim());
            {
              nb::gil_scoped_release r;
              b.get().copy_points(x.data());
            }
            return numpy_copy(x.data(), {b.get().size(), b.get().dim()});
          },
          "A copy of the K iterates, shape (K, dim).")
      .def(
          "measure",
          [](const PyRunBatch& b) {
            const std::size_t k = b.get().size();
            const std::size_t nm = b.objective()->metric_names().size();
            std::vector<double> loss(k), trace(k), metrics(k * nm);
            without_gil(b.objective(),
                        [&] { b.get().measure(loss.data(), trace.data(), metrics.data()); });
            nb::dict d;
            d["loss"] = numpy_copy(loss.data(), {k});
            d["trace"] = numpy_copy(trace.data(), {k});
            d["metrics"] = numpy_copy(metrics.data(), {k, nm});
            return d;
          },
          "f, the exact trace (NaN when none) and the metrics at the current iterates.")
      .def(
          "restore",
          [](PyRunBatch& b, nb::handle x, std::uint64_t next_step) {
            ArrayRef xa = host_points(x, "x", Access::read);
            if (xa.count != b.get().size() * b.get().dim()) {
              throw nb::value_error("x must hold K × dim floats");
            }
            const std::vector<zo::RunStatus> statuses(b.get().size());
            nb::gil_scoped_release r;
            b.get().restore(static_cast<const float*>(xa.data), next_step, statuses);
          },
          nb::arg("x"), nb::arg("next_step"),
          "Replaces the iterates and the next step (resuming from saved points).");

  nb::class_<zo::TraceEstimate>(m, "TraceEstimate",
                                "An estimate of tr ∇²f with its standard error and cost.")
      .def_prop_ro("estimator",
                   [](const zo::TraceEstimate& e) { return zo::to_string(e.estimator); })
      .def_ro("estimate", &zo::TraceEstimate::estimate)
      .def_ro("std_error", &zo::TraceEstimate::std_error)
      .def_ro("value_evaluations", &zo::TraceEstimate::value_evaluations)
      .def_ro("gradient_evaluations", &zo::TraceEstimate::gradient_evaluations)
      .def_ro("hvp_evaluations", &zo::TraceEstimate::hvp_evaluations)
      .def_ro("probes", &zo::TraceEstimate::probes)
      .def_ro("epsilon", &zo::TraceEstimate::epsilon)
      .def_ro("rounding_error", &zo::TraceEstimate::rounding_error)
      .def_prop_ro("backend", [](const zo::TraceEstimate& e) { return zo::to_string(e.backend); })
      .def("__repr__", [](const zo::TraceEstimate& e) { return zo::to_string(e); });

  m.def(
      "estimate_traces",
      [](nb::handle objective, nb::handle points, const std::string& estimator,
         std::uint32_t probes, std::uint64_t seed, double epsilon, const std::string& distribution,
         const std::string& hessian, double value_precision, const std::string& backend) {
        ArrayRef x = host_points(points, "points", Access::read);
        const std::size_t dim =
            x.shape.size() >= 2 ? static_cast<std::size_t>(x.shape.back()) : x.count;
        ObjectiveArg f = objective_arg(objective, dim);
        const zo::TraceOptions o =
            trace_options(backend, distribution, epsilon, value_precision, hessian);
        const zo::TraceEstimator which = zo::parse_trace_estimator(estimator);
        const float* data = static_cast<const float*>(x.data);
        const std::size_t count = x.count / dim;
        return without_gil(f.objective, [&] {
          return zo::estimate_traces(which, *f.objective, data, count, probes, seed, o);
        });
      },
      nb::arg("objective"), nb::arg("points"), nb::arg("estimator") = "hutchinson",
      nb::arg("probes") = 100, nb::arg("seed") = 0, nb::kw_only(), nb::arg("epsilon") = 0.0,
      nb::arg("distribution") = "auto", nb::arg("hessian") = "auto",
      nb::arg("value_precision") = 0x1p-24, nb::arg("backend") = "auto",
      "Estimates tr ∇²f at each row of `points` (P, dim) with the same probes (all points in "
      "one batched call). estimator: 'exact', 'hutchinson', 'zo', 'sharpness' or 'hutch++' "
      "(the choices of `zo trace`); distribution 'auto', 'gaussian' or 'rademacher'; hessian "
      "'auto', 'hvp' or 'gradient'. Returns a list of zo.TraceEstimate.");
  m.def(
      "estimate_trace",
      [](nb::handle objective, nb::handle x, const std::string& estimator, std::uint32_t probes,
         std::uint64_t seed, double epsilon, const std::string& distribution,
         const std::string& hessian, double value_precision, const std::string& backend) {
        ArrayRef xa = host_points(x, "x", Access::read);
        ObjectiveArg f = objective_arg(objective, xa.count);
        const zo::TraceOptions o =
            trace_options(backend, distribution, epsilon, value_precision, hessian);
        const zo::TraceEstimator which = zo::parse_trace_estimator(estimator);
        const float* data = static_cast<const float*>(xa.data);
        return without_gil(f.objective, [&] {
          return zo::estimate_trace(which, *f.objective, data, probes, seed, o);
        });
      },
      nb::arg("objective"), nb::arg("x"), nb::arg("estimator") = "hutchinson",
      nb::arg("probes") = 100, nb::arg("seed") = 0, nb::kw_only(), nb::arg("epsilon") = 0.0,
      nb::arg("distribution") = "auto", nb::arg("hessian") = "auto",
      nb::arg("value_precision") = 0x1p-24, nb::arg("backend") = "auto",
      "estimate_traces() at one point x (float32, dim coordinates); returns a zo.TraceEstimate.");
  m.def("trace_seed", &zo::trace_seed, nb::arg("run_seed"), nb::arg("step"),
        "A seed for fresh probes at `step` of a run with seed `run_seed`.");
}

}  // namespace zo_py
