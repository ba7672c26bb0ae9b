// Helpers shared by the store tests: a small header and deterministic runs, and a reader of float64
// datasets that uses the HDF5 C API alone (no rewire code), to check the layout docs/cohort-store.md gives.
#pragma once

#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "rewire/connectivity/correlation.hpp"
#include "rewire/io/cohort_store.hpp"

namespace rewire::test {

inline StoreHeader make_header() {
    StoreHeader header;
    header.atlas = "atlas.nii.gz";
    header.atlas_checksum = "crc32:1234";
    header.values = {1, 2, 5, 9};
    header.names = {"Amygdala_L", "Amygdala_R", "Frontal_Med_Orb_L", "Frontal_Med_Orb_R"};
    header.coordinates = Eigen::MatrixXd::Random(4, 3);
    header.options = R"({"kind": ["correlation"]})";
    return header;
}

inline RunRecord make_run(const std::string& subject, const std::string& session, double seed) {
    RunRecord run;
    run.subject = subject;
    run.session = session;
    run.fingerprint = subject + session + "v1";
    run.inputs = R"({"bold": "x.nii.gz"})";
    run.checksums = R"({"bold": "crc32:1"})";
    run.timeseries.resize(30, 4);  // deterministic in `seed`, so a run can be rebuilt for comparison
    for (int t = 0; t < 30; ++t)
        for (int j = 0; j < 4; ++j)
            run.timeseries(t, j) = std::sin(seed * (t + 1) * (j + 1.7)) + 0.1 * seed;
    for (std::int64_t t = 0; t < 30; ++t)
        run.sample_mask.push_back(t);
    run.coverage = Eigen::VectorXd::Ones(4);
    run.tr = 2.0;
    run.mean_fd = 0.1 * seed;
    run.frames_total = 30;
    run.measures["correlation"] = correlation(run.timeseries);
    return run;
}

/// A float64 dataset read with the HDF5 C API alone (no rewire code): row-major, as the layout says.
inline Eigen::MatrixXd read_hdf5_matrix(const std::string& path, const std::string& dataset) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    const hid_t data = H5Dopen2(file, dataset.c_str(), H5P_DEFAULT);
    REQUIRE(data >= 0);
    const hid_t space = H5Dget_space(data);
    hsize_t dims[2] = {1, 1};
    const int rank = H5Sget_simple_extent_ndims(space);
    REQUIRE((rank == 1 || rank == 2));
    H5Sget_simple_extent_dims(space, dims, nullptr);
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> values(dims[0],
                                                                                  rank == 2 ? dims[1] : 1);
    REQUIRE(H5Dread(data, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
    H5Sclose(space);
    H5Dclose(data);
    H5Fclose(file);
    return values;
}

}  // namespace rewire::test
