# zo_add_test(<name> SOURCES <files...> [GPU] [LABELS <labels...>] [LIBS <targets...>])
# Builds one GoogleTest executable and registers it with CTest. GPU tests get the label `gpu`
# (they skip themselves with GTEST_SKIP when no CUDA device is usable).
function(zo_add_test name)
  cmake_parse_arguments(ARG "GPU" "" "SOURCES;LABELS;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE zo::zo zo_test_support GTest::gtest_main ${ARG_LIBS})
  target_compile_options(${name} PRIVATE -ffp-contract=off)
  add_test(NAME ${name} COMMAND ${name})
  set(labels ${ARG_LABELS})
  if(ARG_GPU)
    list(APPEND labels gpu)
  else()
    list(APPEND labels cpu)
  endif()
  # Passive OpenMP waits: the tests run many short parallel regions, and on shared,
  # oversubscribed CI cores spinning threads starve their peers (30x slower runs were seen).
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 900
                                          ENVIRONMENT OMP_WAIT_POLICY=PASSIVE)
endfunction()
