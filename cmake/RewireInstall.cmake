# Installs headers, the static library and a CMake package so that C++ pipelines can
#   find_package(rewire) and link rewire::rewire.
include(CMakePackageConfigHelpers)
# Everything here is the "development" component; the Python wheel installs only "python".
install(TARGETS rewire EXPORT rewireTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/rewire DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
install(EXPORT rewireTargets NAMESPACE rewire:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rewire COMPONENT development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rewireConfig.cmake.in
  ${PROJECT_BINARY_DIR}/rewireConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rewire)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rewireConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rewireConfig.cmake ${PROJECT_BINARY_DIR}/rewireConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/FindISAL.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rewire COMPONENT development)
