// zo._zo: the C++ library in Python. The package zo (python/zo/__init__.py) re-exports it.
#include <nanobind/stl/string.h>

#include <cstdio>
#include <zo/backend.hpp>
#include <zo/version.hpp>

#include "bindings.hpp"

NB_MODULE(_zo, m) {
  namespace nb = nanobind;
  m.doc() = "zo: zeroth-order optimisation kernels for CUDA and C++ (the compiled core)";
  m.attr("__version__") = zo::version();
  m.def("version", &zo::version, "The version of the linked libzo (equal to zo.__version__).");
  m.def("build_summary", &zo::build_summary,
        "One line on how the linked libzo was built (CUDA architectures, CPU copy).");
  m.def("cuda_compiled", &zo::cuda_compiled, "Whether this libzo contains the CUDA backend.");
  m.def("cuda_available", &zo::cuda_available,
        "Whether the CUDA backend is compiled in and a usable device is present.");
  m.def("cuda_device_description", &zo::cuda_device_description,
        "The CUDA device zo would use, or why none is usable.");
  m.def(
      "set_log_quiet",
      [](bool quiet) {
        if (quiet) {
          zo::set_log_sink({});
        } else {
          zo::set_log_sink(
              [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
        }
      },
      nb::arg("quiet") = true,
      "Silences zo's one-line log messages (backend choice, restore fallbacks), or restores "
      "them on stderr.");
  zo_py::bind_errors(m);
  zo_py::bind_stepper(m);
  zo_py::bind_optimize(m);
  zo_py::bind_sweep(m);
}
