// Garbage-collector support for bound classes that hold Python objects: a Python callable that
// refers back to the zo object that holds it (through module globals, say) forms a reference
// cycle, which Python can only collect if the bound class reports what it holds.
#pragma once

#include <Python.h>
#include <nanobind/nanobind.h>

namespace zo_py {

namespace nb = nanobind;

/// tp_traverse of a bound class T with `int T::traverse(visitproc, void*) const`.
template <typename T>
int traverse_slot(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  if (!nb::inst_ready(self)) return 0;
  return nb::inst_ptr<T>(self)->traverse(visit, arg);
}

/// tp_clear of a bound class T with `void T::clear()`.
template <typename T>
int clear_slot(PyObject* self) {
  if (nb::inst_ready(self)) nb::inst_ptr<T>(self)->clear();
  return 0;
}

/// The slots to pass as nb::type_slots(gc_slots<T>()).
template <typename T>
PyType_Slot* gc_slots() {
  static PyType_Slot slots[] = {{Py_tp_traverse, reinterpret_cast<void*>(&traverse_slot<T>)},
                                {Py_tp_clear, reinterpret_cast<void*>(&clear_slot<T>)},
                                {0, nullptr}};
  return slots;
}

}  // namespace zo_py
