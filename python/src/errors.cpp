// zo.Error and its subclasses mirror zo::Error (include/zo/error.hpp). Each also derives from
// the built-in exception a Python caller would expect (InvalidArgument is a ValueError,
// NotSupported a NotImplementedError), so `except ValueError` keeps working. The message is
// zo's what(); ObjectiveError carries .step and .run.
#include <Python.h>

#include <zo/error.hpp>

#include "bindings.hpp"

namespace zo_py {
namespace {

PyObject* g_error = nullptr;
PyObject* g_invalid_argument = nullptr;
PyObject* g_not_supported = nullptr;
PyObject* g_not_compiled = nullptr;
PyObject* g_device_unavailable = nullptr;
PyObject* g_cuda_error = nullptr;
PyObject* g_data_error = nullptr;
PyObject* g_objective_error = nullptr;

PyObject* new_exception(nb::module_& m, const char* name, const char* doc, nb::handle base1,
                        nb::handle base2 = nb::handle()) {
  nb::object bases = base2.is_valid() ? nb::object(nb::make_tuple(base1, base2))
                                      : nb::object(nb::make_tuple(base1));
  const std::string qualified = std::string("zo.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!type) throw nb::python_error();
  m.attr(name) = nb::handle(type);
  return type;  // the module holds a reference as well; this one is never released
}

void raise(PyObject* type, const std::exception& e) { PyErr_SetString(type, e.what()); }

}  // namespace

void bind_errors(nb::module_& m) {
  g_error =
      new_exception(m, "Error", "Base class of every exception zo raises.", PyExc_RuntimeError);
  g_invalid_argument =
      new_exception(m, "InvalidArgument", "An invalid argument (a bad value, size or order).",
                    g_error, PyExc_ValueError);
  g_not_supported = new_exception(m, "NotSupported", "The objective lacks what the method needs.",
                                  g_error, PyExc_NotImplementedError);
  g_not_compiled = new_exception(
      m, "NotCompiled", "The feature needs the CUDA backend, which this build lacks.", g_error);
  g_device_unavailable = new_exception(
      m, "DeviceUnavailable", "A GPU was requested but no usable CUDA device is present.", g_error);
  g_cuda_error = new_exception(m, "CudaError", "A CUDA call failed.", g_error);
  g_data_error = new_exception(m, "DataError", "A malformed data file (file:line:column).", g_error,
                               PyExc_ValueError);
  g_objective_error = new_exception(
      m, "ObjectiveError",
      "The objective failed or returned NaN/Inf at a step; .step and .run say where. The "
      "optimiser state is left at the last completed step.",
      g_error);

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const zo::ObjectiveError& e) {
      nb::object exc = nb::borrow(g_objective_error)(e.what());
      exc.attr("step") = e.step();
      exc.attr("run") = e.run();
      PyErr_SetObject(g_objective_error, exc.ptr());
    } catch (const zo::InvalidArgument& e) {
      raise(g_invalid_argument, e);
    } catch (const zo::NotSupported& e) {
      raise(g_not_supported, e);
    } catch (const zo::NotCompiled& e) {
      raise(g_not_compiled, e);
    } catch (const zo::DeviceUnavailable& e) {
      raise(g_device_unavailable, e);
    } catch (const zo::CudaError& e) {
      raise(g_cuda_error, e);
    } catch (const zo::DataError& e) {
      raise(g_data_error, e);
    } catch (const zo::Error& e) {
      raise(g_error, e);
    }
  });
}

}  // namespace zo_py
