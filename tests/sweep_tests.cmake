# Tests of sweeps: the fused Example 2.1 engine, zo::Sweep / run_sweep and `zo sweep`.
# The *_cuda tests carry the label gpu and skip themselves without a device.
# Included from tests/CMakeLists.txt.
find_package(Threads REQUIRED)
zo_add_test(test_fused_example21 SOURCES test_fused_example21.cpp LIBS OpenMP::OpenMP_CXX)
# The GPU decomposition (G lanes per run) simulated with threads on the CPU.
zo_add_test(test_fused_groups SOURCES test_fused_groups.cpp LIBS Threads::Threads)
zo_add_test(test_fused_example21_cuda SOURCES test_fused_example21_cuda.cpp GPU)
zo_add_test(test_sweep SOURCES test_sweep.cpp)
# The checkpoint reader under a seeded mutation loop (as test_libsvm_fuzz does for LIBSVM).
zo_add_test(test_checkpoint_fuzz SOURCES test_checkpoint_fuzz.cpp)
zo_add_test(test_sweep_cuda SOURCES test_sweep_cuda.cpp GPU)
if(TARGET zo_cli)
  add_test(NAME cli_sweep COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_sweep_test.sh
                                  $<TARGET_FILE:zo_cli> ${CMAKE_CURRENT_BINARY_DIR}/cli_sweep_work)
  set_tests_properties(cli_sweep PROPERTIES LABELS "cpu;cli" TIMEOUT 600)
endif()
# Many short OpenMP regions (RunBatch steps): no spin-waiting on shared, oversubscribed CI cores
# (the zo_add_test tests get this from zo_add_test).
if(TARGET zo_cli)
  set_tests_properties(cli_sweep PROPERTIES ENVIRONMENT OMP_WAIT_POLICY=PASSIVE)
endif()
