# The solver benchmark: generated data centres of 1k, 10k and 100k nodes, three request shapes,
# every backend; prints a plain table (see bench/solver_bench.cc for what each column means).
topoplace_bench(solver_bench ${CMAKE_CURRENT_SOURCE_DIR}/solver_bench.cc)
