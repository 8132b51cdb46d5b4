# install() rules and the CMake package config that makes find_package(zo) work.
include(CMakePackageConfigHelpers)

install(TARGETS zo EXPORT zoTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The x86-64-v3 copy (cmake/ZoCpuDispatch.cmake): not part of the exported targets; the loader
# picks it by its folder.
if(TARGET zo_x86_64_v3)
  install(TARGETS zo_x86_64_v3 LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/glibc-hwcaps/x86-64-v3
                               NAMELINK_SKIP)
endif()
if(ZO_HAVE_MPI)
  install(DIRECTORY include/zo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
else()
  install(DIRECTORY include/zo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} PATTERN mpi.hpp EXCLUDE)
endif()
# zo::mpi in an export set of its own, loaded by find_package(zo COMPONENTS mpi) only, so that
# consumers of zo::zo never need MPI.
if(TARGET zo_mpi)
  install(TARGETS zo_mpi EXPORT zoMpiTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT zoMpiTargets NAMESPACE zo:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/zo)
endif()
install(EXPORT zoTargets NAMESPACE zo:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/zo)

configure_package_config_file(cmake/zoConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/zoConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/zo)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/zoConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/zoConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/zoConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/zo)
