// Arrays from Python without copies: numpy, PyTorch, JAX, CuPy... through DLPack (or the buffer
// protocol), with the checks that turn a wrong array into a TypeError or ValueError naming the
// argument instead of a crash.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <string>
#include <vector>
#include <zo/stepper.hpp>
#include <zo/stream_view.hpp>

namespace zo_py {

namespace nb = nanobind;

/// Whether zo will write the array (a read-only array is then refused).
enum class Access { read, write };

/// One imported array: its memory, described for zo, and the references that keep it alive.
struct ArrayRef {
  nb::object source;     ///< what the caller passed (a torch tensor stays a torch tensor)
  nb::ndarray<> array;   ///< the DLPack view (holds the producer's memory)
  void* data = nullptr;  ///< first element
  std::uint64_t count = 0;
  zo::DType dtype = zo::DType::f32;
  bool on_device = false;  ///< CUDA device memory (else host memory)
  std::int32_t device_id = 0;
  std::vector<std::int64_t> shape;

  /// "cpu" or "cuda:N".
  std::string device_name() const;
};

/// Imports `obj` without copying. Tensors that require grad are detached first (same memory).
/// Raises TypeError (not an array, wrong dtype) or ValueError (read-only when `access` is write,
/// not C-contiguous, neither host nor CUDA memory), each naming `name`. bf16 is accepted only
/// when `allow_bf16`, device memory only when `allow_device`.
ArrayRef import_array(nb::handle obj, const std::string& name, Access access, bool allow_bf16,
                      bool allow_device);

/// The stream to order device work on for the arrays: `stream` when given (a cudaStream_t as an
/// int), else torch.cuda.current_stream() of the first torch CUDA tensor among them, else the
/// legacy default stream.
zo::StreamView caller_stream(const std::vector<ArrayRef>& arrays, nb::handle stream);

/// Raises ValueError when two of the arrays overlap in memory (zo would update them twice).
void check_no_overlap(const std::vector<ArrayRef>& arrays, const std::string& name);

/// A new numpy float32 array of shape (rows, cols) copied from `data` (rows of `stride` floats).
nb::object numpy_matrix(const float* data, std::size_t rows, std::size_t cols, std::size_t stride);

/// A new numpy array of `count` elements of T copied from `data`, with the given shape.
template <typename T>
nb::object numpy_copy(const T* data, std::vector<std::size_t> shape);

}  // namespace zo_py
