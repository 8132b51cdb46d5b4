# Installs the build tree into a scratch prefix, then configures, builds and runs the standalone
# consumer project in examples/consumer against it with find_package(zo).
# Variables: ZO_BUILD_DIR, ZO_SOURCE_DIR, WORK_DIR, GENERATOR.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${ZO_BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(example consumer)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${ZO_SOURCE_DIR}/examples/${example}
                          -B ${WORK_DIR}/${example} -G ${GENERATOR}
                          -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
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
