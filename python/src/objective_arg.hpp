// Arguments that name an objective: a zo.Objective, or a plain Python function of a batch of
// points (wrapped in a CallbackObjective of the given dimension).
#pragma once

#include <nanobind/nanobind.h>

#include <string>
#include <zo/objective.hpp>

namespace zo_py {

namespace nb = nanobind;

/// The objective an argument names, and the Python object that keeps it alive.
struct ObjectiveArg {
  const zo::Objective* objective = nullptr;
  nb::object keep;
};

/// `obj` as an objective of dimension `dim` (0: any). A callable becomes a CallbackObjective.
/// TypeError when it is neither; ValueError when its dimension is not `dim`.
ObjectiveArg objective_arg(nb::handle obj, std::size_t dim);

}  // namespace zo_py
