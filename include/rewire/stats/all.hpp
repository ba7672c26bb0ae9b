// rewire — group statistics on connectivity: GLM, FDR, and permutation inference (max-T, NBS, TFNBS).
#pragma once

#include "rewire/stats/design.hpp"
#include "rewire/stats/distributions.hpp"
#include "rewire/stats/enhancer.hpp"
#include "rewire/stats/fdr.hpp"
#include "rewire/stats/glm.hpp"
#include "rewire/stats/maxt.hpp"
#include "rewire/stats/nbs.hpp"
#include "rewire/stats/permutation.hpp"
#include "rewire/stats/shuffle.hpp"
#include "rewire/stats/tfnbs.hpp"
