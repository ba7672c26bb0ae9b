// A minimal C++ pipeline on rewire: write a small BOLD image and atlas, stream the BOLD through the
// atlas, correlate the region signals and print the connectome.
//   usage: pipeline OUTPUT_DIR
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <rewire/rewire.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    const std::string out = argv[1];
    try {
        // A 3-region atlas (slabs along x) and 60 volumes in which regions 1 and 2 share a signal.
        rewire::ImageGeometry grid;
        grid.dims = {6, 4, 4};
        grid.volumes = 60;
        grid.tr = 2.0;
        grid.affine << -3, 0, 0, 9, 0, 3, 0, -6, 0, 0, 3, -6, 0, 0, 0, 1;
        rewire::ImageGeometry atlas_grid = grid;
        atlas_grid.volumes = 1;
        std::vector<double> labels(static_cast<std::size_t>(grid.voxels()));
        for (std::int64_t v = 0; v < grid.voxels(); ++v) labels[v] = double(1 + (v % 6) / 2);
        rewire::NiftiWriteOptions label_options;
        label_options.datatype = rewire::NiftiDataType::uint8;
        rewire::NiftiWriter atlas_writer(out + "/atlas.nii.gz", atlas_grid, label_options);
        atlas_writer.write(labels.data());
        atlas_writer.close();

        rewire::NiftiWriter bold_writer(out + "/bold.nii.gz", grid);
        std::vector<double> volume(static_cast<std::size_t>(grid.voxels()));
        for (std::int64_t t = 0; t < grid.volumes; ++t) {
            const double shared = std::sin(0.4 * double(t));
            const double own = std::cos(1.3 * double(t) + 0.5);
            for (std::int64_t v = 0; v < grid.voxels(); ++v) {
                const int region = static_cast<int>(labels[v]);
                volume[v] = 100.0 + (region == 3 ? own : shared) + 0.01 * double((v * 31 + t * 17) % 7);
            }
            bold_writer.write(volume.data());
        }
        bold_writer.close();

        const rewire::Atlas atlas = rewire::Atlas::from_labels(out + "/atlas.nii.gz");
        const rewire::Extraction extraction = rewire::extract(out + "/bold.nii.gz", atlas);
        const rewire::Connectome r = rewire::correlation(extraction.signals);
        std::printf("rewire %s: %lld volumes x %lld regions\n", rewire::version,
                    static_cast<long long>(extraction.signals.rows()),
                    static_cast<long long>(extraction.signals.cols()));
        for (Eigen::Index i = 0; i < r.rows(); ++i) {
            for (Eigen::Index j = 0; j < r.cols(); ++j) std::printf(" %7.4f", r(i, j));
            std::printf("\n");
        }
        return r(0, 1) > 0.99 ? 0 : 1;  // regions 1 and 2 carry the same signal
    } catch (const rewire::Error& error) {
        std::fprintf(stderr, "pipeline: %s\n", error.what());
        return 1;
    }
}
