#include "arrays.hpp"

#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace zo_py {
namespace {

std::string object_type_name(nb::handle obj) {
  return nb::cast<std::string>(nb::type_name(obj.type()));
}

std::string dtype_name(nb::dlpack::dtype dt) {
  using nb::dlpack::dtype_code;
  std::string base;
  switch (static_cast<dtype_code>(dt.code)) {
    case dtype_code::Int:
      base = "int";
      break;
    case dtype_code::UInt:
      base = "uint";
      break;
    case dtype_code::Float:
      base = "float";
      break;
    case dtype_code::Bfloat:
      base = "bfloat";
      break;
    case dtype_code::Complex:
      base = "complex";
      break;
    case dtype_code::Bool:
      return "bool";
    default:
      base = "dtype code " + std::to_string(dt.code) + " of ";
  }
  std::string name = base + std::to_string(dt.bits);
  if (dt.lanes != 1) name += "x" + std::to_string(dt.lanes);
  return name;
}

[[noreturn]] void type_error(const std::string& message) { throw nb::type_error(message.c_str()); }

[[noreturn]] void value_error(const std::string& message) {
  throw nb::value_error(message.c_str());
}

}  // namespace

std::string ArrayRef::device_name() const {
  return on_device ? "cuda:" + std::to_string(device_id) : "cpu";
}

ArrayRef import_array(nb::handle obj, const std::string& name, Access access, bool allow_bf16,
                      bool allow_device) {
  ArrayRef ref;
  ref.source = nb::borrow(obj);
  nb::object view = ref.source;
  // JAX arrays are immutable (XLA may share or reuse their buffers) but their DLPack export does
  // not say so: never write into one.
  if (access == Access::write) {
    const std::string module = nb::cast<std::string>(obj.type().attr("__module__"));
    if (module.rfind("jax", 0) == 0) {
      value_error(name + " is a JAX array, which is immutable, but zo updates it in place (pass " +
                  "a numpy or torch array, e.g. np.array(x))");
    }
  }
  // torch refuses to export tensors that require grad; detach() shares their memory.
  if (nb::hasattr(obj, "requires_grad") && nb::hasattr(obj, "detach") &&
      nb::cast<bool>(obj.attr("requires_grad"))) {
    view = obj.attr("detach")();
  }
  const bool imported = access == Access::write
                            ? nb::try_cast<nb::ndarray<>>(view, ref.array, /*convert=*/false)
                            : false;
  if (!imported) {
    nb::ndarray<nb::ro> readonly;
    if (!nb::try_cast<nb::ndarray<nb::ro>>(view, readonly, /*convert=*/false)) {
      type_error(name +
                 " must be an array with DLPack or the buffer protocol (numpy, torch, "
                 "jax, cupy), got " +
                 object_type_name(obj));
    }
    if (access == Access::write) {
      value_error(name + " is read-only, but zo updates it in place (pass a writable array)");
    }
    // Read access: the const view is enough; keep it through an unconstrained handle.
    ref.array = nb::ndarray<>(readonly.handle());
  }
  const nb::ndarray<>& a = ref.array;

  const nb::dlpack::dtype dt = a.dtype();
  if (dt == nb::dtype<float>()) {
    ref.dtype = zo::DType::f32;
  } else if (dt.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Bfloat) &&
             dt.bits == 16 && dt.lanes == 1) {
    if (!allow_bf16) type_error(name + " has dtype bfloat16; expected float32");
    ref.dtype = zo::DType::bf16;
  } else {
    type_error(name + " has dtype " + dtype_name(dt) + "; expected float32" +
               (allow_bf16 ? " or bfloat16" : ""));
  }

  std::int64_t expected = 1;
  for (std::size_t i = a.ndim(); i-- > 0;) {
    if (a.shape(i) != 1 && a.stride(i) != expected) {
      value_error(name +
                  " is not contiguous (C order); pass a contiguous array (e.g. "
                  "x.contiguous() or numpy.ascontiguousarray(x))");
    }
    expected *= static_cast<std::int64_t>(a.shape(i));
  }
  ref.count = static_cast<std::uint64_t>(a.size());
  for (std::size_t i = 0; i < a.ndim(); ++i)
    ref.shape.push_back(static_cast<std::int64_t>(a.shape(i)));

  const int device = a.device_type();
  if (device == nb::device::cpu::value || device == nb::device::cuda_host::value ||
      device == nb::device::cuda_managed::value) {
    ref.on_device = false;
  } else if (device == nb::device::cuda::value) {
    if (!allow_device)
      value_error(name + " is CUDA device memory; this function needs host memory");
    ref.on_device = true;
  } else {
    value_error(name + " lives on DLPack device type " + std::to_string(device) +
                "; zo takes host memory or CUDA device memory");
  }
  ref.device_id = a.device_id();
  ref.data = a.data();
  return ref;
}

zo::StreamView caller_stream(const std::vector<ArrayRef>& arrays, nb::handle stream) {
  if (stream.is_valid() && !stream.is_none()) {
    if (nb::hasattr(stream, "cuda_stream")) {  // a torch.cuda.Stream
      return zo::StreamView(
          reinterpret_cast<void*>(nb::cast<std::uintptr_t>(stream.attr("cuda_stream"))));
    }
    if (nb::hasattr(stream, "ptr")) {  // a cupy.cuda.Stream
      return zo::StreamView(reinterpret_cast<void*>(nb::cast<std::uintptr_t>(stream.attr("ptr"))));
    }
    return zo::StreamView(reinterpret_cast<void*>(nb::cast<std::uintptr_t>(stream)));
  }
  for (const ArrayRef& a : arrays) {
    if (!a.on_device) continue;
    nb::handle type = a.source.type();
    const std::string module = nb::cast<std::string>(type.attr("__module__"));
    if (module.rfind("torch", 0) == 0) {
      nb::object torch = nb::module_::import_("torch");
      nb::object current = torch.attr("cuda").attr("current_stream")(a.source.attr("device"));
      return zo::StreamView(
          reinterpret_cast<void*>(nb::cast<std::uintptr_t>(current.attr("cuda_stream"))));
    }
  }
  return zo::StreamView();
}

void check_no_overlap(const std::vector<ArrayRef>& arrays, const std::string& name) {
  struct Range {
    std::uintptr_t begin, end;
    std::size_t index;
  };
  std::vector<Range> ranges;
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    const auto begin = reinterpret_cast<std::uintptr_t>(arrays[i].data);
    ranges.push_back({begin, begin + arrays[i].count * zo::dtype_size(arrays[i].dtype), i});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end && ranges[i].end > ranges[i].begin &&
        arrays[ranges[i].index].on_device == arrays[ranges[i - 1].index].on_device) {
      const std::size_t a = std::min(ranges[i].index, ranges[i - 1].index);
      const std::size_t b = std::max(ranges[i].index, ranges[i - 1].index);
      value_error(name + "[" + std::to_string(a) + "] and " + name + "[" + std::to_string(b) +
                  "] share memory; each coordinate must appear once");
    }
  }
}

nb::object numpy_matrix(const float* data, std::size_t rows, std::size_t cols, std::size_t stride) {
  float* copy = new float[rows * cols > 0 ? rows * cols : 1];
  for (std::size_t r = 0; r < rows; ++r)
    std::memcpy(copy + r * cols, data + r * stride, cols * sizeof(float));
  nb::capsule owner(copy, [](void* p) noexcept { delete[] static_cast<float*>(p); });
  std::size_t shape[2] = {rows, cols};
  return nb::cast(nb::ndarray<nb::numpy, float, nb::ndim<2>>(copy, 2, shape, owner));
}

template <typename T>
nb::object numpy_copy(const T* data, std::vector<std::size_t> shape) {
  std::size_t count = 1;
  for (std::size_t s : shape) count *= s;
  T* copy = new T[count > 0 ? count : 1];
  if (count > 0) std::memcpy(copy, data, count * sizeof(T));
  nb::capsule owner(copy, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nb::cast(nb::ndarray<nb::numpy, T>(copy, shape.size(), shape.data(), owner));
}

template nb::object numpy_copy<float>(const float*, std::vector<std::size_t>);
template nb::object numpy_copy<double>(const double*, std::vector<std::size_t>);
template nb::object numpy_copy<std::uint64_t>(const std::uint64_t*, std::vector<std::size_t>);
template nb::object numpy_copy<std::uint8_t>(const std::uint8_t*, std::vector<std::size_t>);
template nb::object numpy_copy<bool>(const bool*, std::vector<std::size_t>);

}  // namespace zo_py
