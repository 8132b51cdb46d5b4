# Installs the build tree into a scratch prefix once, then configures, builds and runs each
# standalone project in examples/ against it with find_package(zo): consumer (the minimal
# find_package user), callback (a batched user callback) and, when CUDA is available,
# device_functor (a device functor compiled by the user's nvcc), and with MPI data_parallel
# (find_package(zo COMPONENTS mpi)).
# Variables: ZO_BUILD_DIR, ZO_SOURCE_DIR, WORK_DIR, GENERATOR, WITH_CUDA, WITH_MPI, CUDA_COMPILER,
# CUDA_ARCHITECTURES.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${ZO_BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
set(examples consumer callback)
if(WITH_MPI)
  list(APPEND examples data_parallel)  # find_package(zo COMPONENTS mpi); runs as one MPI process
else()
  message(STATUS "examples/data_parallel skipped: zo::mpi is not built")
endif()
if(WITH_CUDA)
  list(APPEND examples device_functor)
else()
  message(STATUS "examples/device_functor skipped: no CUDA compiler in this build")
endif()
foreach(example ${examples})
  set(extra)
  if(example STREQUAL "device_functor")
    set(extra -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER} -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES})
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${ZO_SOURCE_DIR}/examples/${example}
                          -B ${WORK_DIR}/${example} -G ${GENERATOR}
                          -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix ${extra}
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring examples/${example} failed (${rc})")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/${example} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building examples/${example} failed (${rc})")
  endif()
  execute_process(COMMAND ${WORK_DIR}/${example}/zo_${example} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "running examples/${example} failed (${rc})")
  endif()
endforeach()
