// Inventory benchmark: how long a data centre takes to exist in memory.
//
//   GenerateIndexTopology/N  Generate() of N nodes (60% allocated, 10% HIPAA racks, a four-class
//                            mix, 8 nodes per rack), then Inventory::BuildIndex() and
//                            Topology::Build(): what a what-if run pays before solving. The
//                            counters split the time into the three phases (ms per iteration).
//   LoadScenarioFile/F       LoadScenarioFile() of scenarios/F: parse, expand `generate:`, check
//                            every reference, index.
//   LoadExplicitYaml/dc-10k  The dc-10k data centre dumped as explicit YAML (about 2.5 MB) and
//                            loaded back: the cost of a large hand-written or exported inventory,
//                            dominated by the YAML parser.
//
// Run: generate_bench [--benchmark_filter=...]; the whole run takes about 20 s in a Release build.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "inventory/generator.h"
#include "inventory/scenario_codec.h"
#include "model/topology.h"

namespace topoplace {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

GenerateSpec SpecOfSize(int nodes) {
  GenerateSpec spec;
  spec.name = "bench";
  spec.nodes_per_rack = 8;
  spec.racks_per_pod = nodes >= 10000 ? 125 : 25;
  spec.pods = nodes / (spec.nodes_per_rack * spec.racks_per_pod);
  spec.racks_per_row = 10;
  spec.class_mix = {{"h100x8", 4}, {"a100x8", 3}, {"l40sx4", 1}, {"cpu", 2}};
  spec.hipaa_racks = 0.1;
  spec.allocated = 0.6;
  spec.maintenance = 0.01;
  spec.leaf_vendors = {"arista", "nvidia"};
  spec.seed = 42;
  return spec;
}

void GenerateIndexTopology(benchmark::State& state) {
  const GenerateSpec spec = SpecOfSize(static_cast<int>(state.range(0)));
  double generate_ms = 0, index_ms = 0, topology_ms = 0;
  size_t nodes = 0;
  for (auto _ : state) {
    Scenario s;
    Clock::time_point t = Clock::now();
    if (!Generate(spec, s).ok()) state.SkipWithError("Generate failed");
    generate_ms += MsSince(t);
    t = Clock::now();
    if (!s.inventory.BuildIndex().ok()) state.SkipWithError("BuildIndex failed");
    index_ms += MsSince(t);
    t = Clock::now();
    Result<Topology> topology = Topology::Build(s.inventory);
    if (!topology.ok()) state.SkipWithError("Topology::Build failed");
    topology_ms += MsSince(t);
    nodes = s.inventory.nodes.size();
    benchmark::DoNotOptimize(topology);
  }
  state.counters["nodes"] = static_cast<double>(nodes);
  state.counters["generate_ms"] =
      benchmark::Counter(generate_ms, benchmark::Counter::kAvgIterations);
  state.counters["index_ms"] = benchmark::Counter(index_ms, benchmark::Counter::kAvgIterations);
  state.counters["topology_ms"] =
      benchmark::Counter(topology_ms, benchmark::Counter::kAvgIterations);
}
BENCHMARK(GenerateIndexTopology)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
// At 100k one iteration takes long enough to time alone, but the first pays for fresh pages.
BENCHMARK(GenerateIndexTopology)->Arg(100000)->Unit(benchmark::kMillisecond)->Iterations(4);

void LoadScenario(benchmark::State& state, const std::string& file) {
  const std::string path = std::string(TOPOPLACE_SOURCE_DIR) + "/scenarios/" + file;
  size_t nodes = 0;
  for (auto _ : state) {
    Result<Scenario> s = LoadScenarioFile(path);
    if (!s.ok()) {
      state.SkipWithError(s.status().message().c_str());
      break;
    }
    nodes = s->inventory.nodes.size();
  }
  state.counters["nodes"] = static_cast<double>(nodes);
}
BENCHMARK_CAPTURE(LoadScenario, dc_10k, std::string("dc-10k.yaml"))
    ->Name("LoadScenarioFile/dc-10k")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(LoadScenario, dc_100k, std::string("dc-100k.yaml"))
    ->Name("LoadScenarioFile/dc-100k")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

void LoadExplicitYaml(benchmark::State& state) {
  Result<Scenario> s =
      LoadScenarioFile(std::string(TOPOPLACE_SOURCE_DIR) + "/scenarios/dc-10k.yaml");
  if (!s.ok()) {
    state.SkipWithError(s.status().message().c_str());
    return;
  }
  const std::string yaml = DumpScenario(*s);
  for (auto _ : state) {
    Result<Scenario> again = LoadScenarioString(yaml, "dc-10k (explicit)");
    if (!again.ok()) state.SkipWithError("reload failed");
  }
  state.counters["MB"] = static_cast<double>(yaml.size()) / 1e6;
}
BENCHMARK(LoadExplicitYaml)
    ->Name("LoadExplicitYaml/dc-10k")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace topoplace

BENCHMARK_MAIN();
