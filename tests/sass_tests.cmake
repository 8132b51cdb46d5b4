# Static SASS instruction budgets (tests/sass/: probes.cu, budgets.json, README.md): compiles the
# generator probes and the Stepper/direction/RunBatch kernels for sm_90 with libzo's device flags,
# disassembles them and checks instructions per coordinate and local-memory use against
# tests/sass/budgets.json. Label `sass`; skips (exit 77) without nvcc, or without cuobjdump/nvdisasm
# when they cannot be pip-installed into <build>/sass_tools. Runs in CPU-only builds too.
find_program(ZO_PYTHON3 NAMES python3 python)
if(NOT ZO_PYTHON3)
  message(STATUS "zo: python3 not found; the sass_budgets test is not registered")
  return()
endif()
set(_zo_sass_args --source-dir ${PROJECT_SOURCE_DIR} --work-dir ${CMAKE_CURRENT_BINARY_DIR}/sass_work
                  --tools-dir ${CMAKE_BINARY_DIR}/sass_tools
                  --report ${CMAKE_CURRENT_BINARY_DIR}/sass_work/sass_report.json)
if(CMAKE_CUDA_COMPILER)
  list(APPEND _zo_sass_args --nvcc ${CMAKE_CUDA_COMPILER})
endif()
add_test(NAME sass_budgets COMMAND ${ZO_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/sass/check_sass.py
                                   ${_zo_sass_args})
set_tests_properties(sass_budgets PROPERTIES LABELS "sass" SKIP_RETURN_CODE 77 TIMEOUT 900)
