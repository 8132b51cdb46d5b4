# Compiler warnings of zo's own targets, and ZO_WERROR (warnings are errors; scripts/test.sh, and
# so CI, configures with -DZO_WERROR=ON).
#   zo_target_warnings(<target>)               one target
#   zo_directory_warnings([CXX_FLAGS <flags...>])
#                                              every target defined in the current directory
#                                              (tests, bench), plus extra C++ flags
# C++: -Wall -Wextra. CUDA (nvcc): the host compiler's -Wall -Wextra on the host code, nvcc's own
# --Wreorder (member initialiser order in device code), and -Wno-deprecated-gpu-targets (a
# user's CMAKE_CUDA_ARCHITECTURES may name an architecture the toolkit deprecates: their choice,
# not a defect). With ZO_WERROR: -Werror for C++ and, for CUDA, --Werror=all-warnings (nvcc's
# `-Werror all-warnings`: its own warnings and those of the CUDA front end) plus
# -Xcompiler=-Werror.
option(ZO_WERROR "Treat compiler warnings as errors (C++ and CUDA)" OFF)

set(ZO_CXX_WARNINGS -Wall -Wextra)
set(ZO_CUDA_WARNINGS -Xcompiler=-Wall,-Wextra --Wreorder -Wno-deprecated-gpu-targets)
if(ZO_WERROR)
  list(APPEND ZO_CXX_WARNINGS -Werror)
  list(APPEND ZO_CUDA_WARNINGS --Werror=all-warnings -Xcompiler=-Werror)
endif()

function(zo_target_warnings target)
  foreach(flag IN LISTS ZO_CXX_WARNINGS)
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${flag}>")
  endforeach()
  foreach(flag IN LISTS ZO_CUDA_WARNINGS)
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CUDA>:${flag}>")
  endforeach()
endfunction()

function(zo_directory_warnings)
  cmake_parse_arguments(ARG "" "" "CXX_FLAGS" ${ARGN})
  get_property(targets DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type MATCHES "EXECUTABLE|LIBRARY" AND NOT type STREQUAL "INTERFACE_LIBRARY")
      zo_target_warnings(${target})
      foreach(flag IN LISTS ARG_CXX_FLAGS)
        target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${flag}>")
      endforeach()
    endif()
  endforeach()
endfunction()
