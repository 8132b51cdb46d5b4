// zo.CallbackObjective: an objective whose values (and optionally gradients, Hessian-vector
// products and exact trace) come from Python functions of a whole batch of points. A Python
// exception raised by one of them is kept, zo unwinds as for any failing objective (its state
// unchanged), and the binding re-raises the original exception with its traceback.
#pragma once

#include <nanobind/nanobind.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <zo/objective.hpp>

namespace zo_py {

namespace nb = nanobind;

/// A zo::Objective over Python callables. Each callable receives a fresh float32 numpy array of
/// shape (points, dim) that it may keep, and returns array-likes: values (points,), gradients
/// and products (points, dim), traces (points,).
class CallbackObjective final : public zo::Objective {
 public:
  CallbackObjective(std::size_t dim, nb::object fun, nb::object gradient, nb::object hvp,
                    nb::object exact_trace, std::string name);
  ~CallbackObjective() override;

  std::size_t dim() const override { return dim_; }
  std::string name() const override { return name_; }
  void evaluate(const zo::PointBatch& points, double* values) const override;
  bool has_gradient() const override { return gradient_.is_valid() && !gradient_.is_none(); }
  void gradient(const zo::PointBatch& points, float* grads, std::size_t grad_stride) const override;
  bool has_hvp() const override { return hvp_.is_valid() && !hvp_.is_none(); }
  void hvp(const zo::PointBatch& points, const zo::PointBatch& vectors, float* out,
           std::size_t out_stride) const override;
  bool has_exact_trace() const override {
    return exact_trace_.is_valid() && !exact_trace_.is_none();
  }
  void exact_trace(const zo::PointBatch& points, double* traces) const override;

  /// Re-raises the Python exception kept from a callback, if any (GIL held); `zo_message` (the
  /// zo error that unwound, naming the step) is added to it as a note.
  void reraise_kept_error(const char* zo_message) const;
  /// Forgets a kept exception (GIL held).
  void clear_kept_error() const;

  /// Garbage collector: visits the Python callables.
  int traverse(visitproc visit, void* arg) const;
  /// Garbage collector, on an unreachable cycle: drops the callables.
  void clear();

 private:
  template <typename F>
  void call_python(const char* what, F&& body) const;

  std::size_t dim_;
  nb::object fun_, gradient_, hvp_, exact_trace_;
  std::string name_;
  mutable std::unique_ptr<nb::python_error> kept_;  // guarded by the GIL
};

/// Runs `body` with the GIL released; if it throws after a Python callback of `objective` (may
/// be null or not a CallbackObjective) failed, raises that Python exception instead.
template <typename F>
auto without_gil(const zo::Objective* objective, F&& body) -> decltype(body()) {
  const auto* callback = dynamic_cast<const CallbackObjective*>(objective);
  if (callback) callback->clear_kept_error();
  try {
    nb::gil_scoped_release release;
    return body();
  } catch (const std::exception& e) {
    if (callback) callback->reraise_kept_error(e.what());
    throw;
  }
}

}  // namespace zo_py
