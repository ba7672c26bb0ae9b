// rewire — umbrella header: everything a C++ pipeline needs.
#pragma once

#include "rewire/atlas.hpp"
#include "rewire/connectivity.hpp"
#include "rewire/error.hpp"
#include "rewire/extract.hpp"
#include "rewire/geometry.hpp"
#include "rewire/nifti.hpp"
#include "rewire/types.hpp"
#include "rewire/version.hpp"
