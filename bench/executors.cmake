# The bare-metal execution benchmark: one cluster carried out by `topoplace serve --executors` on
# the end-to-end tests' lab of real peers (tests/executors/baremetal_lab.h); prints Markdown tables
# (see the README). Needs root and the peers of scripts/install-deps.sh. The lab reports through
# the test harness, hence GoogleTest (no test main).
find_package(GTest REQUIRED)
pkg_check_modules(BENCH_EXECUTORS_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
set(TOPOPLACE_LAB_DIR ${PROJECT_SOURCE_DIR}/tests/executors)
add_executable(executors_bench ${CMAKE_CURRENT_SOURCE_DIR}/executors_bench.cc
               ${TOPOPLACE_LAB_DIR}/baremetal_lab.cc ${TOPOPLACE_LAB_DIR}/fabric_peer.cc
               ${TOPOPLACE_LAB_DIR}/bmc_peers.cc)
target_include_directories(executors_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(executors_bench PRIVATE GTest::gtest topoplace_api topoplace_executors
                      PkgConfig::BENCH_EXECUTORS_HTTPLIB topoplace_warnings)
target_compile_definitions(executors_bench PRIVATE
  TOPOPLACE_SOURCE_DIR_DEFAULT="${PROJECT_SOURCE_DIR}"
  TOPOPLACE_BIN_DEFAULT="$<TARGET_FILE:topoplace>")
add_dependencies(executors_bench topoplace)
