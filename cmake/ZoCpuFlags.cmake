# ZO_CPU_FMA = AUTO/ON/OFF: compile libzo's host code with -mfma -mavx2.
# The CPU backend calls std::fma for every rounding-critical step (the direction transforms and
# the updates); without -mfma each one is a libm call, and the CPU backend runs 2.3x slower
# (measured on the fused Example 2.1 sweep path). Results are bit-identical either way: fma is
# correctly rounded in hardware and in libm, and -ffp-contract=off stays in force. AUTO enables
# the flags when the compiler accepts them and the build machine's CPU supports FMA and AVX2 (a
# library built this way needs such a CPU: x86-64 from 2013 on).
set(ZO_CPU_FMA AUTO CACHE STRING "Build host code with -mfma -mavx2: AUTO, ON or OFF")
set_property(CACHE ZO_CPU_FMA PROPERTY STRINGS AUTO ON OFF)
set(ZO_CPU_FMA_FLAGS "")
if(ZO_CPU_FMA STREQUAL "ON")
  set(ZO_CPU_FMA_FLAGS -mfma -mavx2)
elseif(ZO_CPU_FMA STREQUAL "AUTO" AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  include(CheckCXXSourceRuns)
  set(CMAKE_REQUIRED_FLAGS "-mfma -mavx2")
  check_cxx_source_runs("int main() { __builtin_cpu_init(); return __builtin_cpu_supports(\"fma\") && __builtin_cpu_supports(\"avx2\") ? 0 : 1; }"
                        ZO_HOST_HAS_FMA_AVX2)
  unset(CMAKE_REQUIRED_FLAGS)
  if(ZO_HOST_HAS_FMA_AVX2)
    set(ZO_CPU_FMA_FLAGS -mfma -mavx2)
  endif()
endif()
message(STATUS "zo: host code flags for the CPU backend: ${ZO_CPU_FMA_FLAGS}")
