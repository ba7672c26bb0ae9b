# Dependency discovery. Every package comes from Debian (see scripts/setup).
include(GNUInstallDirs)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(ISAL REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
# JsonCpp (libjsoncpp-dev): the confounds JSON sidecars. Its CMake package defines JsonCpp::JsonCpp.
find_package(jsoncpp 1.9 CONFIG REQUIRED)
