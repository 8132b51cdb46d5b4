# The zo CLI of an installed prefix runs without LD_LIBRARY_PATH: its RUNPATH is relative to
# itself ($ORIGIN/../lib), `zo --version` exits 0 and prints "zo <version>" and libzo's build
# line, and the loader takes libzo from the prefix (the glibc-hwcaps/x86-64-v3 copy when the line
# says so, the baseline copy when GLIBC_TUNABLES masks AVX2). Uses the prefix that the test
# examples_find_package installs (tests/examples_test.cmake), its fixture setup.
# Variables: PREFIX, BINDIR, LIBDIR, VERSION, READELF, WITH_CUDA, CPU_V3.
set(zo ${PREFIX}/${BINDIR}/zo)
if(NOT EXISTS ${zo})
  message(FATAL_ERROR "${zo} was not installed")
endif()

# RUNPATH: relative to the executable only, nothing from the build tree.
execute_process(COMMAND ${READELF} -d ${zo} OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "readelf -d ${zo} failed (${rc})")
endif()
string(REGEX MATCH "\\((RUNPATH|RPATH)\\)[^\n]*\\[([^]\n]*)\\]" _ "${dyn}")
set(runpath "${CMAKE_MATCH_2}")
file(RELATIVE_PATH expected_rel ${PREFIX}/${BINDIR} ${PREFIX}/${LIBDIR})
if(NOT runpath STREQUAL "$ORIGIN/${expected_rel}")
  message(FATAL_ERROR "${zo}: RUNPATH is '${runpath}', expected '$ORIGIN/${expected_rel}'")
endif()

# zo --version, with no help from the environment.
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${zo} --version
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message(STATUS "zo --version:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "installed zo --version exited ${rc}: ${err}")
endif()
if(WITH_CUDA)
  set(cuda "compiled for [^;]+ \\(CMAKE_CUDA_ARCHITECTURES=[^)]*\\)")
else()
  set(cuda "not compiled")
endif()
string(REPLACE "." "\\." v "${VERSION}")
if(NOT out MATCHES "^zo ${v}\nlibzo ${v}; cuda: ${cuda}; cpu: [^\n]+\n$")
  message(FATAL_ERROR "unexpected zo --version output:\n${out}")
endif()

# Which libzo the loader took (what ldd shows).
function(loaded_libzo out_var)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH LD_TRACE_LOADED_OBJECTS=1
                          ${ARGN} ${zo}
                  OUTPUT_VARIABLE trace RESULT_VARIABLE rc)
  if(rc OR NOT trace MATCHES "libzo\\.so[.0-9]* => ([^ \n]+)")
    message(FATAL_ERROR "could not see which libzo ${zo} loads:\n${trace}")
  endif()
  file(REAL_PATH ${CMAKE_MATCH_1} path)
  set(${out_var} ${path} PARENT_SCOPE)
endfunction()
file(REAL_PATH ${PREFIX}/${LIBDIR} libdir)
loaded_libzo(lib)
if(out MATCHES "cpu: x86-64-v3")
  set(expected_dir ${libdir}/glibc-hwcaps/x86-64-v3)
else()
  set(expected_dir ${libdir})
endif()
get_filename_component(dir ${lib} DIRECTORY)
if(NOT dir STREQUAL expected_dir)
  message(FATAL_ERROR "${zo} loads ${lib}, expected a libzo in ${expected_dir}")
endif()
if(CPU_V3)
  # The installed baseline copy is there too, and is what a CPU without AVX2 gets.
  execute_process(COMMAND ${CMAKE_COMMAND} -E env GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2 ${zo} --version
                  OUTPUT_VARIABLE base RESULT_VARIABLE rc)
  if(rc OR NOT base MATCHES "cpu: x86-64 \\(baseline\\)")
    message(FATAL_ERROR "with AVX2 masked, installed zo --version exited ${rc}:\n${base}")
  endif()
  loaded_libzo(lib GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2)
  get_filename_component(dir ${lib} DIRECTORY)
  if(NOT dir STREQUAL libdir)
    message(FATAL_ERROR "with AVX2 masked, ${zo} loads ${lib}, expected ${libdir}/libzo.so*")
  endif()
endif()
