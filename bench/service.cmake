# The service benchmark: real server processes on loopback, both stores, 1/4/16 clients, 1,000 and
# 10,000 nodes; prints a plain table (see the README). Needs the database server package for its
# throwaway instance (scripts/pg-test.sh).
pkg_check_modules(BENCH_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_executable(service_bench ${CMAKE_CURRENT_SOURCE_DIR}/service_bench.cc)
target_link_libraries(service_bench PRIVATE PkgConfig::BENCH_HTTPLIB nlohmann_json::nlohmann_json
                      Threads::Threads topoplace_warnings)
target_compile_definitions(service_bench PRIVATE
  TOPOPLACE_SOURCE_DIR="${PROJECT_SOURCE_DIR}" TOPOPLACE_BIN="$<TARGET_FILE:topoplace>")
add_dependencies(service_bench topoplace)
