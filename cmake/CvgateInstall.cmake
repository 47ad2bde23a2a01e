# Installs the library, its headers and a CMake package so that another project can
# `find_package(cvgate)` and link `cvgate::cvgate`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS cvgate EXPORT cvgateTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The public headers only (lib/include); lib/src holds the internal ones and is never installed.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/cvgate DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(TARGETS cvgate_server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT cvgateTargets NAMESPACE cvgate:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cvgate)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cvgateConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cvgateConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cvgate)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cvgateConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cvgateConfig.cmake ${PROJECT_BINARY_DIR}/cvgateConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cvgate)
