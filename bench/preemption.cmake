# The preemption benchmark: requests needing evictions on a 10,240-node data centre at ~90%
# allocated; the proven-minimal eviction set against the greedy baseline (see
# bench/preemption_bench.cc for what each column means).
topoplace_bench(preemption_bench ${CMAKE_CURRENT_SOURCE_DIR}/preemption_bench.cc)
