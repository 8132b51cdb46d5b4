// zo.Stepper (in-place ZO steps on the caller's tensors) and the direction generators.
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>
#include <zo/device.hpp>
#include <zo/directions.hpp>
#include <zo/run_batch.hpp>
#include <zo/stepper.hpp>

#include "arrays.hpp"
#include "bindings.hpp"

namespace zo_py {
namespace {

zo::RestoreMode parse_restore(const std::string& text) {
  if (text == "exact") return zo::RestoreMode::residual;  // bit-exact at d/4 bytes
  return zo::parse_restore_mode(text);
}

zo::NonFinitePolicy parse_policy(const std::string& text) {
  if (text == "error") return zo::NonFinitePolicy::error;
  if (text == "skip") return zo::NonFinitePolicy::skip;
  if (text == "mark_diverged" || text == "diverged") return zo::NonFinitePolicy::mark_diverged;
  throw nb::value_error(
      ("on_non_finite must be 'error', 'skip' or 'mark_diverged', got '" + text + "'").c_str());
}

zo::DirectionKey make_key(std::uint64_t seed, std::uint64_t step, std::uint32_t substream) {
  if (step > std::numeric_limits<std::uint32_t>::max()) {
    throw nb::value_error(("step must be < 2^32, got " + std::to_string(step)).c_str());
  }
  return zo::DirectionKey{seed, static_cast<std::uint32_t>(step), substream};
}

/// The Python zo.Stepper: the C++ Stepper plus the references that keep its tensors alive.
class PyStepper {
 public:
  PyStepper(nb::iterable params, float lam, float eta, std::uint32_t q, std::uint64_t seed,
            const std::string& distribution, const std::string& restore, bool merge,
            const std::string& on_non_finite, const std::string& backend, nb::object stream,
            std::uint64_t start_step, std::uint64_t coordinate_offset, double max_escape_fraction,
            const std::string& residual_check) {
    std::size_t i = 0;
    for (nb::handle p : params) {
      arrays_.push_back(import_array(p, "params[" + std::to_string(i) + "]", Access::write,
                                     /*allow_bf16=*/true, /*allow_device=*/true));
      ++i;
    }
    if (arrays_.empty()) throw nb::value_error("params is empty");
    for (std::size_t k = 1; k < arrays_.size(); ++k) {
      if (arrays_[k].on_device != arrays_[0].on_device ||
          arrays_[k].device_id != arrays_[0].device_id) {
        throw nb::value_error(("params[" + std::to_string(k) + "] is on " +
                               arrays_[k].device_name() + " but params[0] is on " +
                               arrays_[0].device_name() +
                               "; the tensors of one Stepper must share a device")
                                  .c_str());
      }
    }
    check_no_overlap(arrays_, "params");
    std::vector<zo::ParamTensor> tensors;
    for (const ArrayRef& a : arrays_) {
      tensors.push_back(zo::ParamTensor{
          a.data, a.count, a.dtype, a.on_device ? zo::MemorySpace::device : zo::MemorySpace::host});
    }
    zo::StepperOptions o;
    o.lambda = lam;
    o.eta = eta;
    o.q = q;
    o.seed = seed;
    o.distribution = zo::parse_distribution(distribution);
    o.restore = parse_restore(restore);
    o.merge_next_perturbation = merge;
    o.on_non_finite = parse_policy(on_non_finite);
    o.backend = zo::parse_backend(backend);
    o.stream = caller_stream(arrays_, stream);
    o.start_step = start_step;
    o.coordinate_offset = coordinate_offset;
    o.max_escape_fraction = max_escape_fraction;
    o.residual_check = zo::parse_residual_check(residual_check);
    nb::gil_scoped_release release;
    stepper_.emplace(std::move(tensors), o);
  }

  zo::Stepper& get() { return *stepper_; }
  const zo::Stepper& get() const { return *stepper_; }
  nb::list params() const {
    nb::list out;
    for (const ArrayRef& a : arrays_) out.append(a.source);
    return out;
  }

 private:
  std::vector<ArrayRef> arrays_;  // declared first: destroyed after the stepper
  std::optional<zo::Stepper> stepper_;
};

nb::object direction_array(std::uint64_t seed, std::uint64_t step, std::uint64_t dim,
                           std::uint32_t substream, const std::string& distribution) {
  const zo::Distribution dist = zo::parse_distribution(distribution);
  const zo::DirectionKey key = make_key(seed, step, substream);
  std::vector<float> out(dim);
  {
    nb::gil_scoped_release release;
    zo::fill_direction(dist, key, dim, out.data());
  }
  return numpy_copy(out.data(), {static_cast<std::size_t>(dim)});
}

}  // namespace

void bind_stepper(nb::module_& m) {
  nb::class_<PyStepper>(
      m, "Stepper",
      "In-place zeroth-order steps (MeZO's perturb / evaluate / restore / update) on the "
      "caller's tensors, treated as one vector (their concatenation in list order).\n\n"
      "    s = zo.Stepper([w, b], lam=1e-3, eta=1e-6, restore='exact')\n"
      "    s.perturb(); fp = loss(); s.flip(); fm = loss(); s.update(fp, fm)\n\n"
      "params: float32 or bfloat16 C-contiguous writable arrays (numpy, torch, cupy, jax...), all "
      "on the CPU or all on one CUDA device; they are kept alive by the stepper and modified in "
      "place, never copied. restore: 'arithmetic' (MeZO's x+λu, −2λu, +λu), 'exact' (= "
      "'residual': bit-exact, d/4 bytes) or 'copy'. residual_check: 'per_pass' (the exact "
      "record's exception count is read after every pass, so perturb() and flip() wait on the "
      "GPU) or 'at_update' (read in update(), which may then return 'retry'). Device tensors are "
      "updated on `stream` "
      "(default: torch's current stream for torch tensors, else the legacy default stream); the "
      "calls are then asynchronous. The step-t directions are zo.direction(seed, t, j, d).")
      .def(nb::init<nb::iterable, float, float, std::uint32_t, std::uint64_t, const std::string&,
                    const std::string&, bool, const std::string&, const std::string&, nb::object,
                    std::uint64_t, std::uint64_t, double, const std::string&>(),
           nb::arg("params"), nb::kw_only(), nb::arg("lam"), nb::arg("eta"), nb::arg("q") = 1,
           nb::arg("seed") = 0, nb::arg("distribution") = "gaussian",
           nb::arg("restore") = "arithmetic", nb::arg("merge_next_perturbation") = false,
           nb::arg("on_non_finite") = "error", nb::arg("backend") = "auto",
           nb::arg("stream") = nb::none(), nb::arg("start_step") = 0,
           nb::arg("coordinate_offset") = 0, nb::arg("max_escape_fraction") = 1.0 / 16.0,
           nb::arg("residual_check") = "per_pass")
      .def(
          "perturb",
          [](PyStepper& s) {
            nb::gil_scoped_release r;
            s.get().perturb();
          },
          "x ← x_t + λu_j.")
      .def(
          "flip",
          [](PyStepper& s) {
            nb::gil_scoped_release r;
            s.get().flip();
          },
          "x_t + λu_j → x_t − λu_j.")
      .def(
          "update",
          [](PyStepper& s, double f_plus, double f_minus) {
            zo::UpdateResult result;
            {
              nb::gil_scoped_release r;
              result = s.get().update(f_plus, f_minus);
            }
            return zo::to_string(result);
          },
          nb::arg("f_plus"), nb::arg("f_minus"),
          "Records f(x_t + λu_j), f(x_t − λu_j); after the q-th pair, restores and applies the "
          "step. Returns 'recorded', 'applied', 'skipped' or, with residual_check='at_update', "
          "'retry' (the exception list overflowed during this pair: the parameters hold x_t "
          "again; call perturb() and evaluate the pair again).")
      .def(
          "restore",
          [](PyStepper& s) {
            nb::gil_scoped_release r;
            s.get().restore();
          },
          "Brings the parameters back to x_t from any phase (exactly unless 'arithmetic').")
      .def(
          "synchronize",
          [](const PyStepper& s) {
            nb::gil_scoped_release r;
            s.get().synchronize();
          },
          "Waits for the stepper's device work.")
      .def_prop_ro("step", [](const PyStepper& s) { return s.get().step(); })
      .def_prop_ro("direction", [](const PyStepper& s) { return s.get().direction(); })
      .def_prop_ro("phase", [](const PyStepper& s) { return zo::to_string(s.get().phase()); })
      .def_prop_ro("backend", [](const PyStepper& s) { return zo::to_string(s.get().backend()); })
      .def_prop_ro("restore_mode",
                   [](const PyStepper& s) { return zo::to_string(s.get().restore_mode()); })
      .def_prop_ro("dimension", [](const PyStepper& s) { return s.get().dimension(); })
      .def_prop_ro("skipped_steps", [](const PyStepper& s) { return s.get().skipped_steps(); })
      .def_prop_ro("record_bytes", [](const PyStepper& s) { return s.get().record_bytes(); })
      .def_prop_ro(
          "residual_check",
          [](const PyStepper& s) { return zo::to_string(s.get().options().residual_check); })
      .def_prop_ro("projected_gradients",
                   [](const PyStepper& s) { return s.get().projected_gradients(); })
      .def_prop_ro("params", &PyStepper::params, "The tensors, as passed.");

  m.def("direction", &direction_array, nb::arg("seed"), nb::arg("step"), nb::arg("dim"),
        nb::arg("substream") = 0, nb::arg("distribution") = "gaussian",
        "Coordinates [0, dim) of the direction with key (seed, step, substream) as a float32 numpy "
        "array, bit-identical to the library (a Stepper or RunBatch run with this seed uses "
        "substream j = 0..q-1 at step t).");
  m.def(
      "fill_direction",
      [](nb::handle out, std::uint64_t seed, std::uint64_t step, std::uint32_t substream,
         const std::string& distribution, nb::object stream) {
        ArrayRef a = import_array(out, "out", Access::write, false, true);
        const zo::Distribution dist = zo::parse_distribution(distribution);
        const zo::DirectionKey key = make_key(seed, step, substream);
        if (a.on_device) {
          const zo::StreamView view = caller_stream({a}, stream);
          nb::gil_scoped_release r;
          zo::fill_direction_device(dist, key, a.count, static_cast<float*>(a.data), view);
        } else {
          nb::gil_scoped_release r;
          zo::fill_direction(dist, key, a.count, static_cast<float*>(a.data));
        }
      },
      nb::arg("out"), nb::kw_only(), nb::arg("seed"), nb::arg("step"), nb::arg("substream") = 0,
      nb::arg("distribution") = "gaussian", nb::arg("stream") = nb::none(),
      "Writes the direction (seed, step, substream) into `out` (float32, contiguous; host or "
      "CUDA memory, then asynchronously on `stream`, default torch's current stream).");
  m.def(
      "gaussian_fill",
      [](std::uint64_t seed, std::size_t count, std::uint32_t substream) {
        std::vector<float> x(count);
        {
          nb::gil_scoped_release r;
          zo::gaussian_fill(seed, substream, x.data(), count);
        }
        return numpy_copy(x.data(), {count});
      },
      nb::arg("seed"), nb::arg("count"), nb::arg("substream") = 0,
      "N(0, 1) values of zo's initial-point convention (zo.gaussian_fill(seed, d) is the "
      "initial point the tools draw for seed).");
  m.attr("MAX_STEPPER_Q") = zo::kMaxStepperQ;
  m.attr("TRACE_PROBE_SUBSTREAM") = zo::kTraceProbeSubstream;
  m.attr("TRACE_SKETCH_SUBSTREAM") = zo::kTraceSketchSubstream;
}

}  // namespace zo_py
