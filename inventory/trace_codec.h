// Traces of cluster requests over time, as CSV, for `topoplace replay` and capacity forecasts.
//
// The first line (after comments) is a header naming the columns; order is free, names are fixed:
//   time        arrival, hours from the start (a number >= 0)             required
//   name        unique per trace                                           required
//   tenant      a tenant of the scenario                                   required
//   nodes|gpus  the count; a trace needs at least one of the two columns and each row exactly one
//   duration    hours the cluster is held (> 0)                            required
//   class       node classes, A|B                                          optional
//   select      more per-node predicates, KEY=VALUE;KEY=VALUE (the short request form's gpuModel,
//               gpuCount, memoryGiB, cpuCores, storageGiB, label.KEY)     optional
//   locality    LEVEL[:required|preferred][:MAXDOMAINS]                   optional
//   spread      LEVEL:FRACTION | LEVEL:max=N | LEVEL:min=N (joined by :)   optional
//   compliance  hipaa|gdpr                                                 optional
//   exclusive, roce, maxCostPerHour, priority, purpose                     optional
// Lines starting with # are comments and blank lines are skipped; fields may be double-quoted
// ("" inside for a quote). Loading is strict: every error names FILE:LINE:COLUMN and the column,
// says what is wrong and what was expected, and all errors of a file are reported. With a scenario,
// tenants, classes and compliance are checked against it too.
//
// Thread safety: stateless.
#pragma once

#include <string>
#include <string_view>

#include "model/scenario.h"
#include "model/status.h"
#include "solver/replay.h"

namespace topoplace {

Result<Trace> LoadTraceFile(const std::string& path, const Scenario* scenario = nullptr);
Result<Trace> LoadTraceString(std::string_view csv, std::string_view source,
                              const Scenario* scenario = nullptr);

// Writes a trace with the columns it needs, so LoadTraceString reads it back.
std::string DumpTrace(const Trace& trace);

}  // namespace topoplace
