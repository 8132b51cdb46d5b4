// Declarations shared by the translation units of zo._zo, the nanobind extension behind
// `import zo`: each bind_*() adds one part of the C++ API to the module.
#pragma once

#include <nanobind/nanobind.h>

namespace zo_py {

namespace nb = nanobind;

/// zo.Error and its subclasses, and the translation of zo::Error exceptions into them.
void bind_errors(nb::module_& m);
/// zo.Stepper and the direction generators.
void bind_stepper(nb::module_& m);
/// Objectives, zo.minimize, zo.RunBatch and the trace estimators.
void bind_optimize(nb::module_& m);
/// zo.sweep_grid, zo.Sweep, zo.run_sweep and zo.summarize.
void bind_sweep(nb::module_& m);

}  // namespace zo_py
