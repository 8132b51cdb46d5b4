# Decides whether the CUDA backend is built (ZO_WITH_CUDA = AUTO/ON/OFF) and enables CUDA.
#
# GPU architectures: CMAKE_CUDA_ARCHITECTURES, default "90" when neither it nor the CUDAARCHS
# environment variable is set. CMake spells "90" as sm_90 machine code (SASS: H100, H200) plus
# compute_90 PTX, which the driver JIT-compiles for newer GPUs (Blackwell and on; the first launch
# of each kernel then pays the compilation, cached by the driver). Set it for other GPUs, e.g.
# -DCMAKE_CUDA_ARCHITECTURES="80;90" (adds A100 SASS and PTX) or "native" (the GPUs of this machine).
# The list compiled in is passed to libzo as ZO_CUDA_ARCHITECTURES (src/core/cuda_arch.hpp):
# backend selection reports a GPU that none of it can run as unavailable, with the reason, instead
# of failing at the first kernel launch.
include(CheckLanguage)
set(ZO_HAVE_CUDA OFF)
set(ZO_CUDA_DEFINITIONS "")
if(NOT ZO_WITH_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING
          "CUDA architectures to compile for (zo's default 90: sm_90 SASS + compute_90 PTX)")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(ZO_HAVE_CUDA ON)

    # The architectures actually compiled: CMake's keywords expanded to its lists of entries.
    set(zo_archs "${CMAKE_CUDA_ARCHITECTURES}")
    if(zo_archs STREQUAL "all")
      set(zo_archs "${CMAKE_CUDA_ARCHITECTURES_ALL}")
    elseif(zo_archs STREQUAL "all-major")
      set(zo_archs "${CMAKE_CUDA_ARCHITECTURES_ALL_MAJOR}")
    elseif(zo_archs STREQUAL "native")
      set(zo_archs "${CMAKE_CUDA_ARCHITECTURES_NATIVE}")
    elseif(NOT zo_archs)  # OFF: nvcc's own default, not known here (no check at run time)
      set(zo_archs "")
    endif()
    # ',' for ';' so that each list is one compile definition.
    string(REPLACE ";" "," zo_archs "${zo_archs}")
    string(REPLACE ";" "," zo_setting "${CMAKE_CUDA_ARCHITECTURES}")
    set(ZO_CUDA_DEFINITIONS "ZO_CUDA_ARCHITECTURES=\"${zo_archs}\""
                            "ZO_CUDA_ARCHITECTURES_SETTING=\"${zo_setting}\"")
    message(STATUS "zo: CUDA architectures ${CMAKE_CUDA_ARCHITECTURES}")
  elseif(ZO_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ZO_WITH_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()
message(STATUS "zo: CUDA backend ${ZO_HAVE_CUDA}")
