// rewire — umbrella header: everything a C++ pipeline needs, layer by layer (docs/architecture.md).
#pragma once

// core: the data layout, errors, checked sizes, threads, kernel variant, provenance, version.
#include "rewire/core/build_info.hpp"
#include "rewire/core/checked.hpp"
#include "rewire/core/error.hpp"
#include "rewire/core/kernel_variant.hpp"
#include "rewire/core/parallel.hpp"
#include "rewire/core/types.hpp"
#include "rewire/core/version.hpp"

// maths: signals, connectivity, statistics. No files.
#include "rewire/signal/butterworth.hpp"
#include "rewire/signal/clean.hpp"
#include "rewire/signal/cosine_drift.hpp"
#include "rewire/signal/detrend.hpp"
#include "rewire/signal/interpolate.hpp"
#include "rewire/signal/motion.hpp"
#include "rewire/signal/sosfiltfilt.hpp"
#include "rewire/connectivity/correlation.hpp"
#include "rewire/connectivity/covariance.hpp"
#include "rewire/connectivity/delta.hpp"
#include "rewire/connectivity/edge_zscores.hpp"
#include "rewire/connectivity/edges.hpp"
#include "rewire/connectivity/estimate.hpp"
#include "rewire/connectivity/matrix_functions.hpp"
#include "rewire/connectivity/tangent.hpp"
#include "rewire/stats/all.hpp"

// io: NIfTI, atlases, extraction, confounds, the cohort store and result files.
#include "rewire/io/atlas.hpp"
#include "rewire/io/cohort_store.hpp"
#include "rewire/io/confounds.hpp"
#include "rewire/io/extract.hpp"
#include "rewire/io/geometry.hpp"
#include "rewire/io/image3d.hpp"
#include "rewire/io/nifti.hpp"
#include "rewire/io/resample.hpp"
#include "rewire/io/result_files.hpp"
#include "rewire/io/store_delta.hpp"
#include "rewire/io/transform.hpp"
#include "rewire/io/warp.hpp"
