# Installs headers, the static library and a CMake package so that C++ pipelines can
#   find_package(rewire) and link rewire::rewire.
include(CMakePackageConfigHelpers)
install(TARGETS rewire EXPORT rewireTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/rewire DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT rewireTargets NAMESPACE rewire:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rewire)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rewireConfig.cmake.in
  ${PROJECT_BINARY_DIR}/rewireConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rewire)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rewireConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rewireConfig.cmake ${PROJECT_BINARY_DIR}/rewireConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/FindISAL.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rewire)
