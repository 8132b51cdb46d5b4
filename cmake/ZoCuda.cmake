# Decides whether the CUDA backend is built (ZO_WITH_CUDA = AUTO/ON/OFF) and enables CUDA.
include(CheckLanguage)
set(ZO_HAVE_CUDA OFF)
if(NOT ZO_WITH_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # One architecture keeps CI builds lean; H100/H200 are sm_90. Override on the command line
      # (e.g. -DCMAKE_CUDA_ARCHITECTURES="80;90") for other GPUs.
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(ZO_HAVE_CUDA ON)
  elseif(ZO_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ZO_WITH_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()
message(STATUS "zo: CUDA backend ${ZO_HAVE_CUDA}")
