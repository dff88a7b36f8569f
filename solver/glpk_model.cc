// The GLPK problem wrapper (glpk_model.h).
#include "solver/glpk_model.h"

#include <glpk.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

namespace topoplace {

namespace {

using Clock = std::chrono::steady_clock;

glp_prob* Prob(const std::unique_ptr<void, GlpkModel::ProblemDeleter>& p) {
  return static_cast<glp_prob*>(p.get());
}

int MillisecondsLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 1, INT_MAX / 2));
}

struct CallbackState {
  const std::vector<double>* warm = nullptr;
  bool warm_offered = false;
  std::optional<double> stop_at;
  std::optional<double> bound;
};

void Callback(glp_tree* tree, void* info) {
  auto* state = static_cast<CallbackState*>(info);
  if (glp_ios_reason(tree) == GLP_IHEUR && state->warm != nullptr && !state->warm_offered) {
    state->warm_offered = true;
    glp_ios_heur_sol(tree, state->warm->data());
  }
  const int best = glp_ios_best_node(tree);
  if (best != 0) {
    const double b = glp_ios_node_bound(tree, best);
    if (!state->bound || b > *state->bound) state->bound = b;
  }
  if (state->stop_at) {
    glp_prob* prob = glp_ios_get_prob(tree);
    const double at = *state->stop_at + 1e-9 * std::max(1.0, std::abs(*state->stop_at));
    if (glp_mip_status(prob) == GLP_FEAS && glp_mip_obj_val(prob) <= at) glp_ios_terminate(tree);
  }
}

}  // namespace

void GlpkModel::ProblemDeleter::operator()(void* p) const {
  glp_delete_prob(static_cast<glp_prob*>(p));
}

GlpkModel::GlpkModel() : prob_(glp_create_prob()) {
  glp_set_obj_dir(Prob(prob_), GLP_MIN);
  ia_.assign(1, 0);
  ja_.assign(1, 0);
  ar_.assign(1, 0.0);
}

GlpkModel::~GlpkModel() = default;

int GlpkModel::AddColumn(ColumnKind kind, double lo, double hi, double objective) {
  glp_prob* prob = Prob(prob_);
  const int j = glp_add_cols(prob, 1);
  if (kind == ColumnKind::kBinary) {
    lo = 0;
    hi = 1;
    glp_set_col_kind(prob, j, GLP_BV);
  } else {
    glp_set_col_kind(prob, j, kind == ColumnKind::kInteger ? GLP_IV : GLP_CV);
    if (hi < lo) {  // GLPK would reject the call; the model has no solution
      contradictory_ = true;
      hi = lo;
    }
    glp_set_col_bnds(prob, j, lo == hi ? GLP_FX : GLP_DB, lo, hi);
  }
  glp_set_obj_coef(prob, j, objective);
  columns_.push_back({lo, hi, true, true});
  return j;
}

int GlpkModel::AddRow(std::span<const std::pair<int, double>> entries, std::optional<double> lo,
                      std::optional<double> hi) {
  const int row = static_cast<int>(rows_.size()) + 1;
  for (const auto& [column, coefficient] : entries) {
    if (coefficient == 0) continue;
    ia_.push_back(row);
    ja_.push_back(column);
    ar_.push_back(coefficient);
  }
  rows_.push_back({lo.value_or(0), hi.value_or(0), lo.has_value(), hi.has_value()});
  if (lo && hi && *hi < *lo) contradictory_ = true;
  loaded_ = false;
  return row;
}

bool GlpkModel::Satisfies(std::span<const double> x, double tolerance) const {
  if (x.size() < columns_.size() + 1) return false;
  for (size_t j = 0; j < columns_.size(); ++j) {
    if (x[j + 1] < columns_[j].lo - 1e-9 || x[j + 1] > columns_[j].hi + 1e-9) return false;
  }
  std::vector<double> activity(rows_.size(), 0.0);
  for (size_t e = 1; e < ia_.size(); ++e) activity[ia_[e] - 1] += ar_[e] * x[ja_[e]];
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].has_lo && activity[i] < rows_[i].lo - tolerance) return false;
    if (rows_[i].has_hi && activity[i] > rows_[i].hi + tolerance) return false;
  }
  return true;
}

void GlpkModel::Load() {
  if (loaded_) return;
  glp_prob* prob = Prob(prob_);
  const int have = glp_get_num_rows(prob);
  const int m = static_cast<int>(rows_.size());
  if (m > have) glp_add_rows(prob, m - have);
  for (int i = 0; i < m; ++i) {
    const Bounds& b = rows_[i];
    int type = GLP_FR;
    if (b.has_lo && b.has_hi) {
      type = b.lo == b.hi ? GLP_FX : GLP_DB;
    } else if (b.has_lo) {
      type = GLP_LO;
    } else if (b.has_hi) {
      type = GLP_UP;
    }
    // Crossed bounds are Contradictory(); GLPK would reject them, so they are never passed on.
    const double hi = (type == GLP_DB && b.hi < b.lo) ? b.lo : b.hi;
    glp_set_row_bnds(prob, i + 1, type, b.lo, hi);
  }
  const int nonzeros = static_cast<int>(ia_.size()) - 1;
  if (nonzeros > 0) glp_load_matrix(prob, nonzeros, ia_.data(), ja_.data(), ar_.data());
  loaded_ = true;
}

MipOutcome GlpkModel::Solve(const MipParams& params) {
  MipOutcome out;
  if (contradictory_) {
    out.kind = MipOutcome::Kind::kInfeasible;
    return out;
  }
  Load();
  glp_prob* prob = Prob(prob_);
  glp_term_out(GLP_OFF);
  CallbackState state;
  state.warm = params.warm;
  state.stop_at = params.stop_at;

  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.mip_gap = params.relative_gap;
  parm.cb_func = Callback;
  parm.cb_info = &state;
  if (params.warm == nullptr) {
    // The presolver transforms the problem the callback would see, so it is used only when no
    // point has to be handed over in the original columns.
    parm.presolve = GLP_ON;
  } else {
    glp_smcp lp;
    glp_init_smcp(&lp);
    lp.msg_lev = GLP_MSG_OFF;
    lp.tm_lim = MillisecondsLeft(params.deadline);
    const int rc = glp_simplex(prob, &lp);
    if (rc == 0 && glp_get_status(prob) == GLP_NOFEAS) {
      out.kind = MipOutcome::Kind::kInfeasible;
      return out;
    }
    if (rc == GLP_ETMLIM) {
      out.kind = MipOutcome::Kind::kTimeLimit;
      return out;
    }
    if (rc != 0 || glp_get_status(prob) != GLP_OPT) return out;
    state.bound = glp_get_obj_val(prob);  // the LP relaxation bounds the integer optimum
  }
  parm.tm_lim = MillisecondsLeft(params.deadline);
  const int rc = glp_intopt(prob, &parm);
  const int status = glp_mip_status(prob);
  if (rc == GLP_ENOPFS || (rc == 0 && status == GLP_NOFEAS)) {
    out.kind = MipOutcome::Kind::kInfeasible;
    return out;
  }
  if (status != GLP_OPT && status != GLP_FEAS) {
    out.kind = rc == GLP_ETMLIM ? MipOutcome::Kind::kTimeLimit : MipOutcome::Kind::kNoSolution;
    out.bound = state.bound;
    return out;
  }
  const int n = glp_get_num_cols(prob);
  out.values.assign(n + 1, 0.0);
  for (int j = 1; j <= n; ++j) out.values[j] = glp_mip_col_val(prob, j);
  out.objective = glp_mip_obj_val(prob);
  // GLP_OPT with a gap allowed is optimal only within that gap, and a search stopped at
  // params.stop_at proves nothing itself: then the bound is the tree's.
  const bool proven = rc == 0 && status == GLP_OPT && params.relative_gap == 0;
  out.kind = proven ? MipOutcome::Kind::kOptimal : MipOutcome::Kind::kFeasible;
  out.bound = proven ? out.objective : state.bound;
  return out;
}

}  // namespace topoplace
