# The inventory benchmark: a generated data centre (generate + index + topology) at 1k, 10k and 100k
# nodes, and loading scenario files, generated and explicit (Google Benchmark, milliseconds).
topoplace_bench(generate_bench ${CMAKE_CURRENT_SOURCE_DIR}/generate_bench.cc)
target_compile_definitions(generate_bench PRIVATE TOPOPLACE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
