# Tests of the linear models: LIBSVM reader and its fuzz loop, data sets and the
# feature pipeline, the linear losses, user-defined objectives, the examples and `zo linear`.
# Included from tests/CMakeLists.txt.
zo_add_test(test_libsvm SOURCES test_libsvm.cpp LIBS OpenMP::OpenMP_CXX)
zo_add_test(test_libsvm_fuzz SOURCES test_libsvm_fuzz.cpp)
zo_add_test(test_linear_model SOURCES test_linear_model.cpp LIBS OpenMP::OpenMP_CXX)
zo_add_test(test_classification_data SOURCES test_classification_data.cpp LIBS OpenMP::OpenMP_CXX)
zo_add_test(test_callback_objective SOURCES test_callback_objective.cpp)

# `zo linear`: option and data-file errors, CSV shape, both engines, file pairs, the plot.
if(TARGET zo_cli)
  add_test(NAME cli_linear COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_linear_test.sh $<TARGET_FILE:zo_cli>
                                   ${CMAKE_CURRENT_BINARY_DIR}/cli_linear_work)
  set_tests_properties(cli_linear PROPERTIES LABELS "cpu;cli" TIMEOUT 300)
endif()

# GPU: LinearModel on the CUDA backend vs the CPU reference (skips without a device).
zo_add_test(test_linear_model_cuda SOURCES test_linear_model_cuda.cpp GPU)

# nvcc users' objectives: device functors (zo/device_objective.cuh) and device callbacks. The
# host-path tests run everywhere this builds; the device-path tests skip without a GPU.
if(ZO_HAVE_CUDA)
  add_executable(test_device_objective test_device_objective.cu)
  target_link_libraries(test_device_objective PRIVATE zo::zo zo_test_support GTest::gtest_main)
  add_test(NAME test_device_objective COMMAND test_device_objective)
  set_tests_properties(test_device_objective PROPERTIES LABELS "gpu" TIMEOUT 900)
endif()

# Every project in examples/ (consumer, callback, device_functor) builds against an installed copy
# of zo, found with find_package(zo), and runs.
add_test(NAME examples_find_package
         COMMAND ${CMAKE_COMMAND} -DZO_BUILD_DIR=${PROJECT_BINARY_DIR} -DZO_SOURCE_DIR=${PROJECT_SOURCE_DIR}
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/examples_work -DGENERATOR=${CMAKE_GENERATOR}
                 -DWITH_CUDA=${ZO_HAVE_CUDA} -DWITH_MPI=${ZO_HAVE_MPI} -DCUDA_COMPILER=${CMAKE_CUDA_COMPILER}
                 "-DCUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES}"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/examples_test.cmake)
set_tests_properties(examples_find_package PROPERTIES LABELS "cpu;packaging" TIMEOUT 900)

# Optional libFuzzer target of the LIBSVM reader (clang only), see tests/fuzz/libsvm_fuzzer.cpp.
option(ZO_BUILD_FUZZERS "Build the libFuzzer target of the LIBSVM reader (clang only)" OFF)
if(ZO_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ZO_BUILD_FUZZERS needs clang (configure with CXX=clang++)")
  endif()
  add_executable(libsvm_fuzzer fuzz/libsvm_fuzzer.cpp ${PROJECT_SOURCE_DIR}/src/libsvm.cpp
                               ${PROJECT_SOURCE_DIR}/src/feature_matrix.cpp ${PROJECT_SOURCE_DIR}/src/error.cpp)
  target_include_directories(libsvm_fuzzer PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(libsvm_fuzzer PRIVATE -g -fsanitize=fuzzer,address,undefined)
  target_link_options(libsvm_fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
