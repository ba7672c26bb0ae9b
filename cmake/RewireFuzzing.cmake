# REWIRE_BUILD_FUZZERS: everything in this build folder (the library included, so that libFuzzer sees
# its coverage) is compiled with clang's fuzzer instrumentation, AddressSanitizer and UBSan; any
# sanitizer report stops the process, so a fuzzer run fails on it.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "REWIRE_BUILD_FUZZERS needs clang (libFuzzer), e.g. -DCMAKE_CXX_COMPILER=clang++-14 "
                      "-DCMAKE_C_COMPILER=clang-14; this build uses ${CMAKE_CXX_COMPILER_ID}")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=address,undefined)
