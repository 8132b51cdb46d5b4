// Whether a pointer that a caller marked MemorySpace::device is memory the current GPU's kernels
// may use: the classification behind zo::require_device_pointer (zo/device.hpp) and the checks of
// zo/device_objective.cuh. It is a pure function of what cudaPointerGetAttributes reported (the
// callers map its struct to PointerFacts), so it is plain C++ and tested without a GPU. A host
// pointer passed to a kernel faults and leaves the CUDA context unusable for the rest of the
// process; the check turns that into a zo::InvalidArgument naming the argument.
#pragma once

#include <string>

namespace zo {
namespace detail {

/// What kind of memory a pointer is, as cudaPointerGetAttributes sees it.
enum class PointerMemory {
  unregistered,  ///< unknown to CUDA: plain host memory (malloc, new, the stack)
  host,          ///< page-locked host memory (cudaMallocHost, cudaHostRegister)
  device,        ///< cudaMalloc / cudaMallocAsync memory
  managed,       ///< cudaMallocManaged memory
};

/// What cudaPointerGetAttributes reported (`query_failed`: it returned an error).
struct PointerFacts {
  bool query_failed = false;
  PointerMemory memory = PointerMemory::unregistered;
  int device = 0;  ///< owning device (device memory)
};

/// "" when kernels on `current_device` may use the memory; else why not, naming `what`.
inline std::string device_pointer_problem(const PointerFacts& facts, int current_device,
                                          const std::string& what) {
  if (facts.query_failed) {
    return what + " is marked MemorySpace::device but CUDA does not know the pointer";
  }
  switch (facts.memory) {
    case PointerMemory::unregistered:
      return what + " is marked MemorySpace::device but is host memory (not allocated by CUDA)";
    case PointerMemory::host:
      return what + " is marked MemorySpace::device but is page-locked host memory";
    case PointerMemory::managed:
      return "";
    case PointerMemory::device:
      if (facts.device != current_device) {
        return what + " is device memory of CUDA device " + std::to_string(facts.device) +
               ", not of the current device " + std::to_string(current_device);
      }
      return "";
  }
  return what + " has an unknown CUDA memory type";
}

}  // namespace detail
}  // namespace zo
