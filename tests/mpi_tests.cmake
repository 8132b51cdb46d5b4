# zo::mpi under mpirun (label mpi): the library test (data-parallel, model-parallel, shard plan)
# and the CLI (sharded zo sweep: byte-identical to one process, resume with another number of
# ranks, a failed and a killed rank; data-parallel zo linear), each with 1, 2 and 4 ranks,
# oversubscribed on small machines. Without MPI one test says why they are skipped.
# Included from tests/CMakeLists.txt.
if(NOT ZO_HAVE_MPI)
  add_test(NAME mpi_skipped COMMAND bash -c "echo 'zo::mpi is not built (-DZO_WITH_MPI=OFF, or no MPI found: apt install libopenmpi-dev openmpi-bin): MPI tests skipped'; exit 77")
  set_tests_properties(mpi_skipped PROPERTIES LABELS "mpi" SKIP_RETURN_CODE 77 TIMEOUT 10)
  return()
endif()

# Open MPI refuses more ranks than cores, and root, unless told; other MPIs need neither.
set(zo_mpiexec_flags)
set(zo_mpi_env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1)
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE zo_mpiexec_version
                ERROR_QUIET TIMEOUT 20)
if(zo_mpiexec_version MATCHES "Open MPI|OpenRTE")
  # --noprefix: started by absolute path, Open MPI would put its own bin/ first in the ranks'
  # PATH (another python3 than the user's for the figures).
  set(zo_mpiexec_flags --oversubscribe --noprefix)
  list(APPEND zo_mpi_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
       OMPI_MCA_rmaps_base_oversubscribe=1)
endif()

add_executable(test_mpi test_mpi.cpp)
target_link_libraries(test_mpi PRIVATE zo::mpi zo_test_support GTest::gtest)
target_compile_options(test_mpi PRIVATE -ffp-contract=off)
foreach(np 1 2 4)
  add_test(NAME mpi_library_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${zo_mpiexec_flags}
                   $<TARGET_FILE:test_mpi>)
  set_tests_properties(mpi_library_np${np} PROPERTIES LABELS "mpi;cpu" TIMEOUT 180
                                                      ENVIRONMENT "${zo_mpi_env}")
endforeach()

if(TARGET zo_cli)
  list(JOIN zo_mpiexec_flags " " zo_mpiexec_flags_text)
  add_test(NAME cli_mpi
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_mpi_test.sh $<TARGET_FILE:zo_cli>
                   ${CMAKE_CURRENT_BINARY_DIR}/cli_mpi_work ${MPIEXEC_EXECUTABLE}
                   "${MPIEXEC_NUMPROC_FLAG}" "${zo_mpiexec_flags_text}")
  set_tests_properties(cli_mpi PROPERTIES LABELS "mpi;cli" TIMEOUT 600
                                          ENVIRONMENT "${zo_mpi_env}")
endif()
