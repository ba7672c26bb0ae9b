# Dependency discovery. Every package comes from Debian (see scripts/setup).
include(GNUInstallDirs)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(ISAL REQUIRED)
find_package(HDF5 REQUIRED COMPONENTS C)
# JsonCpp (libjsoncpp-dev): the confounds JSON sidecars. Its CMake package defines JsonCpp::JsonCpp.
find_package(jsoncpp 1.9 CONFIG REQUIRED)
# ITK (libinsighttoolkit5-dev): reads every 3D image (atlases, masks, references) through its ImageIO
# classes, resamples them onto the BOLD grid, and reads / applies spatial transforms (ANTs composites,
# ITK text and MATLAB affines) to warp atlases into a subject's space. Private to src/: its headers never
# reach include/.
set(REWIRE_ITK_COMPONENTS ITKCommon ITKIOImageBase ITKIONIFTI ITKIONRRD ITKIOMeta ITKImageGrid ITKImageFunction
    ITKTransform ITKDisplacementField ITKTransformFactory ITKIOTransformBase ITKIOTransformHDF5
    ITKIOTransformInsightLegacy ITKIOTransformMatlab)
find_package(ITK 5.2 REQUIRED COMPONENTS ${REWIRE_ITK_COMPONENTS})
