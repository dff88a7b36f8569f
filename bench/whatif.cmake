# The what-if benchmark: a power-domain failure with repairs, capacity counts and trace replay on
# the 10k and 100k generated data centres; prints plain tables (see bench/whatif_bench.cc).
topoplace_bench(whatif_bench ${CMAKE_CURRENT_SOURCE_DIR}/whatif_bench.cc)
target_compile_definitions(whatif_bench PRIVATE TOPOPLACE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
