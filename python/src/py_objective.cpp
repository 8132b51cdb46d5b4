#include "py_objective.hpp"

#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <cstring>
#include <stdexcept>

#include "arrays.hpp"

namespace zo_py {
namespace {

/// Points of a host batch as a fresh (count, dim) numpy array.
nb::object points_array(const zo::PointBatch& points) {
  if (points.space != zo::MemorySpace::host) {
    throw std::logic_error("a Python objective received device points");
  }
  return numpy_matrix(points.data, points.count, points.dim, points.stride);
}

/// `result` as a C-contiguous float64 (or float32) numpy array of exactly `count` elements.
template <typename T>
nb::ndarray<nb::numpy, const T, nb::c_contig> as_array(nb::handle result, std::size_t count,
                                                       const char* what) {
  nb::object numpy = nb::module_::import_("numpy");
  nb::object converted = numpy.attr("ascontiguousarray")(
      result, nb::arg("dtype") = std::is_same_v<T, double> ? "float64" : "float32");
  auto array = nb::cast<nb::ndarray<nb::numpy, const T, nb::c_contig>>(converted);
  if (array.size() != count) {
    // Raised as a Python exception, so that it propagates like one raised by the callback.
    const std::string message = std::string(what) + " returned " + std::to_string(array.size()) +
                                " numbers; expected " + std::to_string(count);
    PyErr_SetString(PyExc_ValueError, message.c_str());
    throw nb::python_error();
  }
  return array;
}

}  // namespace

CallbackObjective::CallbackObjective(std::size_t dim, nb::object fun_in, nb::object gradient_in,
                                     nb::object hvp_in, nb::object exact_trace_in, std::string name)
    : dim_(dim),
      fun_(std::move(fun_in)),
      gradient_(std::move(gradient_in)),
      hvp_(std::move(hvp_in)),
      exact_trace_(std::move(exact_trace_in)),
      name_(std::move(name)) {
  if (dim_ == 0) throw nb::value_error("dim must be at least 1");
  if (!PyCallable_Check(fun_.ptr())) throw nb::type_error("fun must be callable");
}

CallbackObjective::~CallbackObjective() = default;

template <typename F>
void CallbackObjective::call_python(const char* what, F&& body) const {
  nb::gil_scoped_acquire gil;
  try {
    body();
  } catch (nb::python_error& e) {
    if (!kept_) kept_ = std::make_unique<nb::python_error>(std::move(e));
    throw std::runtime_error(std::string("the Python ") + what + " of '" + name_ + "' raised");
  }
}

void CallbackObjective::evaluate(const zo::PointBatch& points, double* values) const {
  call_python("objective", [&] {
    nb::object result = fun_(points_array(points));
    auto array = as_array<double>(result, points.count, "the objective");
    std::memcpy(values, array.data(), points.count * sizeof(double));
  });
}

void CallbackObjective::gradient(const zo::PointBatch& points, float* grads,
                                 std::size_t grad_stride) const {
  if (!has_gradient()) zo::Objective::gradient(points, grads, grad_stride);
  call_python("gradient", [&] {
    nb::object result = gradient_(points_array(points));
    auto array = as_array<float>(result, points.count * points.dim, "the gradient");
    for (std::size_t p = 0; p < points.count; ++p) {
      std::memcpy(grads + p * grad_stride, array.data() + p * points.dim,
                  points.dim * sizeof(float));
    }
  });
}

void CallbackObjective::hvp(const zo::PointBatch& points, const zo::PointBatch& vectors, float* out,
                            std::size_t out_stride) const {
  if (!has_hvp()) zo::Objective::hvp(points, vectors, out, out_stride);
  call_python("hvp", [&] {
    nb::object result = hvp_(points_array(points), points_array(vectors));
    auto array = as_array<float>(result, points.count * points.dim, "hvp");
    for (std::size_t p = 0; p < points.count; ++p) {
      std::memcpy(out + p * out_stride, array.data() + p * points.dim, points.dim * sizeof(float));
    }
  });
}

void CallbackObjective::exact_trace(const zo::PointBatch& points, double* traces) const {
  if (!has_exact_trace()) zo::Objective::exact_trace(points, traces);
  call_python("exact_trace", [&] {
    nb::object result = exact_trace_(points_array(points));
    auto array = as_array<double>(result, points.count, "exact_trace");
    std::memcpy(traces, array.data(), points.count * sizeof(double));
  });
}

void CallbackObjective::reraise_kept_error(const char* zo_message) const {
  if (!kept_) return;
  std::unique_ptr<nb::python_error> error = std::move(kept_);
  nb::handle value = error->value();
  if (nb::hasattr(value, "add_note")) {
    value.attr("add_note")(std::string("(raised inside a zo objective callback; zo: ") +
                           zo_message + ")");
  }
  throw nb::python_error(std::move(*error));
}

void CallbackObjective::clear_kept_error() const { kept_.reset(); }

int CallbackObjective::traverse(visitproc visit, void* arg) const {
  for (const nb::object* o : {&fun_, &gradient_, &hvp_, &exact_trace_}) Py_VISIT(o->ptr());
  return 0;
}

void CallbackObjective::clear() {
  for (nb::object* o : {&fun_, &gradient_, &hvp_, &exact_trace_}) *o = nb::none();
}

}  // namespace zo_py
