# ZO_CPU_DISPATCH = AUTO/ON/OFF: a second copy of libzo for x86-64-v3 CPUs, chosen at load time.
#
# The CPU backend calls std::fma at every rounding-critical step (direction transforms, updates).
# Compiled for baseline x86-64 each call goes to libm; compiled with -mfma it is one instruction,
# and `zo toy` needs 1.9x less CPU time (2.2 s vs 4.4 s with OMP_NUM_THREADS=1 on this project's
# 2-core AMD EPYC machine, 2026-12-02). But a library compiled with -mavx2 -mfma dies with
# SIGILL on a CPU without them, so libzo is built twice:
#   <libdir>/libzo.so.<v>                           baseline x86-64: runs on every x86-64 CPU
#   <libdir>/glibc-hwcaps/x86-64-v3/libzo.so.<v>    the C++ sources again, with -mavx2 -mfma
# The dynamic loader (glibc 2.33 and newer) loads the second one on CPUs of the x86-64-v3 level
# (AVX2, FMA, BMI1/2, ...: Intel Haswell, AMD Zen and newer) and the first one everywhere else
# (also with an older glibc, which ignores glibc-hwcaps/). The choice is made once, when libzo is
# loaded, for the whole library; zo::build_summary() (`zo --version`) names the copy running. The
# build tree has the same layout, so the tests and the CLI run the copy the build CPU selects.
# GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2 forces the baseline copy (the cpu_dispatch test does).
#
# Both copies compute the same bits: -ffp-contract=off stays on (the compiler forms no fma the
# source did not write) and std::fma is correctly rounded, as an instruction or in glibc.
# Only the C++ translation units are compiled twice; the CUDA objects (whose host code is
# baseline) are linked into both copies.
#
# AUTO: build the second copy on x86-64 Linux when the compiler takes the flags and the C library
# is glibc >= 2.33. ON: require it. OFF: the baseline copy only.
set(ZO_CPU_DISPATCH AUTO CACHE STRING
    "Also build an x86-64-v3 copy of libzo (-mavx2 -mfma) that glibc loads on CPUs that have it: AUTO, ON or OFF")
set_property(CACHE ZO_CPU_DISPATCH PROPERTY STRINGS AUTO ON OFF)
if(DEFINED ZO_CPU_FMA)
  if(NOT ZO_CPU_FMA STREQUAL "AUTO")
    message(WARNING "ZO_CPU_FMA=${ZO_CPU_FMA} is no longer used: libzo is portable, and "
                    "ZO_CPU_DISPATCH (AUTO/ON/OFF) adds the -mavx2 -mfma copy (cmake/ZoCpuDispatch.cmake)")
  endif()
  unset(ZO_CPU_FMA CACHE)
endif()

# The name of the baseline copy, and the flags and name of the second one.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(ZO_CPU_BASELINE x86-64)
else()
  set(ZO_CPU_BASELINE ${CMAKE_SYSTEM_PROCESSOR})
endif()
set(ZO_CPU_V3_FLAGS -mavx2 -mfma)
set(ZO_CPU_V3 OFF)

if(NOT ZO_CPU_DISPATCH STREQUAL "OFF")
  set(zo_why "")
  if(NOT ZO_CPU_BASELINE STREQUAL "x86-64" OR NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
    set(zo_why "not x86-64 Linux")
  else()
    include(CheckCXXSourceCompiles)
    list(JOIN ZO_CPU_V3_FLAGS " " CMAKE_REQUIRED_FLAGS)
    check_cxx_source_compiles([[
#include <cstdlib>
#if !defined(__GLIBC__) || __GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 33)
#error "no glibc-hwcaps before glibc 2.33"
#endif
#if !defined(__AVX2__) || !defined(__FMA__)
#error "the compiler ignored -mavx2 -mfma"
#endif
int main() { return 0; }
]] ZO_CPU_HWCAPS_OK)
    unset(CMAKE_REQUIRED_FLAGS)
    if(NOT ZO_CPU_HWCAPS_OK)
      set(zo_why "needs glibc >= 2.33 and a compiler that takes -mavx2 -mfma")
    endif()
  endif()
  if(zo_why STREQUAL "")
    set(ZO_CPU_V3 ON)
  elseif(ZO_CPU_DISPATCH STREQUAL "ON")
    message(FATAL_ERROR "ZO_CPU_DISPATCH=ON: the x86-64-v3 copy of libzo ${zo_why}")
  endif()
endif()
if(ZO_CPU_V3)
  list(JOIN ZO_CPU_V3_FLAGS " " zo_flags)
  message(STATUS "zo: CPU copies of libzo: ${ZO_CPU_BASELINE}, x86-64-v3 (${zo_flags}) in glibc-hwcaps/")
else()
  message(STATUS "zo: CPU copies of libzo: ${ZO_CPU_BASELINE} only")
endif()
