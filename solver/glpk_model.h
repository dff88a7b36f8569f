// Private to solver/: the one wrapper of a GLPK problem, for every integer program the solver
// builds (the "ilp" backend's placement model, capacity's joint copies model).
//
// A model is built column by column and row by row; rows are collected and loaded into GLPK at the
// first solve, so a row whose bounds contradict each other is caught here (Contradictory()) and no
// GLPK call ever sees arrays or bounds that were not checked first (GLPK aborts the process on
// misuse). A solve runs until a deadline and maps GLPK's return codes and statuses to one
// MipOutcome: what was proven, the values found, and the best bound known.
//
// Thread safety: one model per thread; GLPK's terminal output is switched off once per process.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace topoplace {

enum class ColumnKind { kContinuous, kInteger, kBinary };

struct MipOutcome {
  enum class Kind {
    kOptimal,     // proven optimal: values and bound (== objective) set
    kFeasible,    // the deadline stopped the search with a solution: values set, bound if known
    kInfeasible,  // proven to have no integer solution
    kTimeLimit,   // the deadline stopped the search before any solution
    kNoSolution,  // GLPK gave up for another reason (numerical trouble): nothing proven
  } kind = Kind::kNoSolution;
  std::vector<double> values;  // 1-based like GLPK's columns; values[0] unused
  std::optional<double> objective;
  std::optional<double> bound;  // a proven lower bound on the objective (minimisation)
};

struct MipParams {
  std::chrono::steady_clock::time_point deadline;
  // A point (1-based column values) handed to the search as its first incumbent; the caller has
  // checked it against the rows (Satisfies()), since GLPK does not.
  const std::vector<double>* warm = nullptr;
  double relative_gap = 0.0;  // stop once the incumbent is proven within this of the optimum
  // A lower bound on the optimum proven elsewhere: the search stops as soon as an incumbent
  // reaches it, since nothing better exists (the outcome is then kFeasible; the caller knows why).
  std::optional<double> stop_at;
};

class GlpkModel {
 public:
  GlpkModel();  // minimisation
  ~GlpkModel();
  GlpkModel(const GlpkModel&) = delete;
  GlpkModel& operator=(const GlpkModel&) = delete;

  // A column with bounds lo <= x <= hi (binary columns: [0, 1]) and objective coefficient;
  // returns its 1-based index.
  int AddColumn(ColumnKind kind, double lo, double hi, double objective = 0.0);
  // A row lo <= sum(coefficient * column) <= hi (either bound may be absent); zero coefficients
  // are dropped. Returns its 1-based index.
  int AddRow(std::span<const std::pair<int, double>> entries, std::optional<double> lo,
             std::optional<double> hi);
  int AddRow(std::initializer_list<std::pair<int, double>> entries, std::optional<double> lo,
             std::optional<double> hi) {
    return AddRow(std::span<const std::pair<int, double>>(entries.begin(), entries.size()), lo, hi);
  }

  int columns() const { return static_cast<int>(columns_.size()); }
  double ColumnLower(int column) const { return columns_[column - 1].lo; }
  double ColumnUpper(int column) const { return columns_[column - 1].hi; }
  // True when a row's or a column's bounds contradict each other: no solve needed.
  bool Contradictory() const { return contradictory_; }
  // True when `x` (1-based) lies within every column's bounds (1e-9) and row's (`tolerance`).
  bool Satisfies(std::span<const double> x, double tolerance) const;

  // Branch and bound until params.deadline. Without a warm start GLPK's presolver runs; with one,
  // the LP relaxation is solved first (its value is the first bound) and the point is offered to
  // the search as it starts.
  MipOutcome Solve(const MipParams& params);

  // Deletes the GLPK problem (the type stays out of this header).
  struct ProblemDeleter {
    void operator()(void* p) const;
  };

 private:
  struct Bounds {
    double lo = 0, hi = 0;
    bool has_lo = false, has_hi = false;
  };
  void Load();

  std::unique_ptr<void, ProblemDeleter> prob_;  // glp_prob, kept out of this header
  std::vector<Bounds> columns_;
  std::vector<Bounds> rows_;
  std::vector<int> ia_, ja_;  // 1-based triplets, GLPK's layout
  std::vector<double> ar_;
  bool loaded_ = false;
  bool contradictory_ = false;
};

}  // namespace topoplace
