// rewire — umbrella header: everything a C++ pipeline needs.
#pragma once

#include "rewire/atlas.hpp"
#include "rewire/butterworth.hpp"
#include "rewire/confounds.hpp"
#include "rewire/connectivity.hpp"
#include "rewire/covariance.hpp"
#include "rewire/error.hpp"
#include "rewire/estimate.hpp"
#include "rewire/extract.hpp"
#include "rewire/geometry.hpp"
#include "rewire/interpolate.hpp"
#include "rewire/nifti.hpp"
#include "rewire/signal.hpp"
#include "rewire/stats.hpp"
#include "rewire/tangent.hpp"
#include "rewire/types.hpp"
#include "rewire/version.hpp"
