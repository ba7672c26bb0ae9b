# Installs rewire from BUILD_DIR into a scratch prefix, builds the out-of-tree example that does
# find_package(rewire) and links rewire::rewire, and runs it.
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/run")
function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "step failed (${status}): ${ARGN}\n${output}")
  endif()
  message(STATUS "${output}")
endfunction()
run_step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}" --component development)
run_step(${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/cpp/find_package" -B "${WORK_DIR}/build"
         -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run_step(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run_step("${WORK_DIR}/build/pipeline" "${WORK_DIR}/run")
# The floating-point contraction rule reaches consumers: the exported target carries -ffp-contract=off,
# so rewire's inline header code rounds in a consumer's build as in the library's own.
file(GLOB_RECURSE targets_file "${prefix}/*/rewireTargets.cmake")
file(READ "${targets_file}" exported)
string(FIND "${exported}" "-ffp-contract=off" found)
if(found EQUAL -1)
  message(FATAL_ERROR "${targets_file}: the exported rewire::rewire target does not carry -ffp-contract=off")
endif()
# Eigen's own threading is off for consumers too (rewire's thread budget is the only one).
string(FIND "${exported}" "EIGEN_DONT_PARALLELIZE" found)
if(found EQUAL -1)
  message(FATAL_ERROR "${targets_file}: the exported rewire::rewire target does not define EIGEN_DONT_PARALLELIZE")
endif()
