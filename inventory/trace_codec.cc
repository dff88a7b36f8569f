#include "inventory/trace_codec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "inventory/short_request.h"
#include "inventory/text_fields.h"
#include "inventory/yaml_reader.h"

namespace topoplace {

namespace {

using text_fields::ParseNumber;
using text_fields::Quoted;
using text_fields::Trim;

struct Cell {
  std::string text;
  int column = 1;  // 1-based, where the field starts
};

// Splits one CSV line; empty on success, else what is wrong (with the column in `bad_column`).
std::string SplitLine(std::string_view line, std::vector<Cell>& cells, int& bad_column) {
  cells.clear();
  size_t i = 0;
  while (true) {
    Cell c;
    c.column = static_cast<int>(i) + 1;
    while (i < line.size() && line[i] == ' ') ++i;
    if (i < line.size() && line[i] == '"') {
      const size_t open = i++;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            c.text += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        c.text += line[i++];
      }
      if (!closed) {
        bad_column = static_cast<int>(open) + 1;
        return "an unterminated quote; expected a closing \"";
      }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\r')) ++i;
      if (i < line.size() && line[i] != ',') {
        bad_column = static_cast<int>(i) + 1;
        return "text after a closing quote; expected a comma";
      }
    } else {
      const size_t start = i;
      while (i < line.size() && line[i] != ',') ++i;
      c.text = std::string(Trim(line.substr(start, i - start)));
    }
    cells.push_back(std::move(c));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return {};
}

constexpr std::string_view kColumns[] = {"time",     "name",           "tenant",     "nodes",
                                         "gpus",     "duration",       "class",      "select",
                                         "locality", "spread",         "compliance", "exclusive",
                                         "roce",     "maxCostPerHour", "priority",   "purpose"};

std::string ColumnList() {
  std::string s;
  for (auto c : kColumns) s += (s.empty() ? "" : ", ") + std::string(c);
  return s;
}

std::string NameList(const std::set<std::string>& names) {
  std::string s;
  int shown = 0;
  for (const auto& n : names) {
    if (shown++ == 12) {
      s += ", ...";
      break;
    }
    s += (s.empty() ? "" : ", ") + n;
  }
  return s;
}

// Requests one trace may hold: a year of a busy cluster, and memory and replay time stay bounded.
constexpr size_t kMaxTraceRequests = 200'000;

}  // namespace

Result<Trace> LoadTraceString(std::string_view csv, std::string_view source,
                              const Scenario* scenario) {
  if (std::optional<yaml_reader::BadByte> bad = yaml_reader::FirstInvalidUtf8(csv)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", bad->byte);
    return InvalidArgumentError(std::string(source) + ":" + std::to_string(bad->pos.line) + ":" +
                                std::to_string(bad->pos.column) + ": invalid UTF-8 (byte " + hex +
                                "); expected UTF-8 text");
  }
  Trace trace;
  trace.source = std::string(source);
  struct Error {
    int line, column;
    std::string text;
  };
  std::vector<Error> errors;  // reported by line and column
  auto error = [&](int line, int column, std::string_view what_column, const std::string& what) {
    errors.push_back({line, column,
                      std::string(source) + ":" + std::to_string(line) + ":" +
                          std::to_string(column) + ": " +
                          (what_column.empty() ? "" : std::string(what_column) + ": ") + what});
  };
  std::set<std::string> tenants, classes;
  if (scenario != nullptr) {
    for (const Tenant& t : scenario->tenants) tenants.insert(t.name);
    for (const NodeClass& c : scenario->inventory.node_classes) classes.insert(c.name);
  }
  std::vector<std::string> header;
  std::map<std::string, int> column_of;  // column name -> index
  std::map<std::string, int> first_line_of_name;
  std::vector<Cell> cells;
  int line_no = 0;
  size_t rows = 0;
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') {
      if (end == csv.size()) break;
      continue;
    }
    int bad_column = 1;
    if (std::string why = SplitLine(line, cells, bad_column); !why.empty()) {
      error(line_no, bad_column, "", why);
      if (end == csv.size()) break;
      continue;
    }
    if (header.empty()) {
      for (size_t i = 0; i < cells.size(); ++i) {
        const std::string& name = cells[i].text;
        if (std::find(std::begin(kColumns), std::end(kColumns), name) == std::end(kColumns)) {
          error(line_no, cells[i].column, "",
                "unknown column " + Quoted(name) + "; expected one of " + ColumnList());
        } else if (!column_of.emplace(name, static_cast<int>(i)).second) {
          error(line_no, cells[i].column, "", "column " + Quoted(name) + " given twice");
        }
        header.push_back(name);
      }
      for (const char* required : {"time", "name", "tenant", "duration"}) {
        if (!column_of.count(required)) {
          error(line_no, 1, "",
                std::string("no ") + required +
                    " column; expected a header with time, name, tenant, nodes or "
                    "gpus, duration");
        }
      }
      if (!column_of.count("nodes") && !column_of.count("gpus")) {
        error(line_no, 1, "", "neither a nodes nor a gpus column; expected at least one");
      }
      if (!errors.empty()) break;  // rows cannot be read without a good header
      if (end == csv.size()) break;
      continue;
    }
    if (++rows > kMaxTraceRequests) {
      error(line_no, 1, "",
            "more than " + std::to_string(kMaxTraceRequests) +
                " requests in one trace; expected a shorter trace (split it by time)");
      break;
    }
    if (cells.size() != header.size()) {
      error(line_no, 1, "",
            std::to_string(cells.size()) + " fields; expected " + std::to_string(header.size()) +
                " as in the header");
      if (end == csv.size()) break;
      continue;
    }
    TraceEntry e;
    e.line = line_no;
    Request& r = e.request;
    auto cell = [&](const char* name) -> const Cell* {
      auto it = column_of.find(name);
      return it == column_of.end() ? nullptr : &cells[it->second];
    };
    const size_t errors_before = errors.size();
    if (const Cell* c = cell("time")) {
      std::optional<double> v = ParseNumber(c->text);
      if (!v || *v < 0 || *v > 1e7) {
        error(line_no, c->column, "time", Quoted(c->text) + " is not a time; expected hours >= 0");
      } else {
        e.time = *v;
      }
    }
    if (const Cell* c = cell("duration")) {
      std::optional<double> v = ParseNumber(c->text);
      if (!v || *v <= 0 || *v > 1e7) {
        error(line_no, c->column, "duration",
              Quoted(c->text) + " is not a duration; expected hours > 0");
      } else {
        e.duration = *v;
      }
    }
    if (const Cell* c = cell("name")) {
      if (c->text.empty()) {
        error(line_no, c->column, "name", "empty; expected a request name");
      } else if (auto [it, fresh] = first_line_of_name.emplace(c->text, line_no); !fresh) {
        error(line_no, c->column, "name",
              Quoted(c->text) + " is already used on line " + std::to_string(it->second) +
                  "; expected names unique in the trace");
      }
      r.name = c->text;
    }
    if (const Cell* c = cell("tenant")) {
      if (c->text.empty()) {
        error(line_no, c->column, "tenant", "empty; expected a tenant name");
      } else if (scenario != nullptr && !tenants.count(c->text)) {
        error(line_no, c->column, "tenant",
              "no tenant named " + Quoted(c->text) + "; expected one of " + NameList(tenants));
      }
      r.tenant = c->text;
    }
    const Cell* nodes = cell("nodes");
    const Cell* gpus = cell("gpus");
    const bool has_nodes = nodes != nullptr && !nodes->text.empty();
    const bool has_gpus = gpus != nullptr && !gpus->text.empty();
    if (has_nodes == has_gpus) {
      error(line_no, has_nodes ? gpus->column : (nodes ? nodes->column : gpus->column),
            has_nodes ? "gpus" : "nodes",
            has_nodes ? "both nodes and gpus; expected exactly one"
                      : "neither nodes nor gpus; expected exactly one");
    } else {
      const Cell* c = has_nodes ? nodes : gpus;
      const std::string why = ApplyShortRequestItem(has_nodes ? "nodes" : "gpus", c->text, r);
      if (!why.empty()) error(line_no, c->column, has_nodes ? "nodes" : "gpus", why);
    }
    for (const char* key : {"class", "locality", "spread", "compliance", "exclusive", "roce",
                            "maxCostPerHour", "priority", "purpose"}) {
      const Cell* c = cell(key);
      if (c == nullptr || c->text.empty()) continue;
      const std::string why = ApplyShortRequestItem(key, c->text, r);
      if (!why.empty()) error(line_no, c->column, key, why);
    }
    if (const Cell* c = cell("select"); c != nullptr && !c->text.empty()) {
      // KEY=VALUE;KEY=VALUE, each reported at its own column.
      size_t start = 0;
      const std::string& text = c->text;
      while (start <= text.size()) {
        size_t stop = text.find(';', start);
        if (stop == std::string::npos) stop = text.size();
        const std::string_view item = Trim(std::string_view(text).substr(start, stop - start));
        const int column = c->column + static_cast<int>(start);
        if (!item.empty()) {
          auto kv = SplitShortItem(item);
          if (!kv) {
            error(line_no, column, "select",
                  Quoted(item) + " has no value; expected KEY=VALUE like memoryGiB>=1024");
          } else if (std::string why = ApplyShortRequestItem(kv->first, kv->second, r, true);
                     !why.empty()) {
            error(line_no, column, "select", why);
          }
        }
        start = stop + 1;
      }
    }
    if (scenario != nullptr) {
      if (const Cell* c = cell("class")) {
        for (const std::string& cls : r.select.classes) {
          if (!classes.count(cls)) {
            error(line_no, c->column, "class",
                  "no node class named " + Quoted(cls) + "; expected one of " + NameList(classes));
          }
        }
      }
      if (const Cell* c = cell("compliance"); c != nullptr && !r.compliance.empty()) {
        const int t = scenario->TenantIndex(r.tenant);
        if (t >= 0) {
          const auto& allowed = scenario->tenants[t].compliance;
          for (const std::string& item : r.compliance) {
            if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
              error(line_no, c->column, "compliance",
                    "tenant " + Quoted(r.tenant) + " may not ask for " + Quoted(item));
            }
          }
        }
      }
    }
    if (errors.size() == errors_before) trace.entries.push_back(std::move(e));
    if (end == csv.size()) break;
  }
  if (header.empty() && errors.empty()) {
    return InvalidArgumentError(std::string(source) +
                                ": no header; expected a first line like "
                                "time,name,tenant,nodes,duration");
  }
  if (!errors.empty()) {
    std::stable_sort(errors.begin(), errors.end(), [](const Error& a, const Error& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    std::vector<std::string> messages;
    messages.reserve(errors.size());
    for (Error& e : errors) messages.push_back(std::move(e.text));
    return Status(StatusCode::kInvalidArgument, std::move(messages));
  }
  std::stable_sort(trace.entries.begin(), trace.entries.end(),
                   [](const TraceEntry& a, const TraceEntry& b) { return a.time < b.time; });
  return trace;
}

Result<Trace> LoadTraceFile(const std::string& path, const Scenario* scenario) {
  Result<std::string> text = yaml_reader::ReadBoundedFile(path, "trace");
  if (!text.ok()) return text.status();
  try {
    return LoadTraceString(*text, path, scenario);
  } catch (const std::bad_alloc&) {  // not the input's fault: an internal error, exit 1
    return WithReason(StatusCode::kInternal, "out_of_memory",
                      path + ": out of memory while loading");
  }
}

std::string DumpTrace(const Trace& trace) {
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
      out += c;
      if (c == '"') out += '"';
    }
    return out + "\"";
  };
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return std::string(buf);
  };
  std::string out =
      "time,name,tenant,nodes,gpus,duration,class,select,locality,spread,compliance\n";
  for (const TraceEntry& e : trace.entries) {
    const Request& r = e.request;
    Request select_only;
    select_only.select = r.select;
    select_only.select.classes.clear();
    std::string select = ShortRequestText(select_only);
    std::replace(select.begin(), select.end(), ',', ';');
    Request loc;
    loc.locality = r.locality;
    Request spr;
    spr.spread = r.spread;
    std::string classes;
    for (const auto& c : r.select.classes) classes += (classes.empty() ? "" : "|") + c;
    std::string compliance;
    for (const auto& c : r.compliance) compliance += (compliance.empty() ? "" : "|") + c;
    auto value_of = [](const std::string& short_form) {
      const size_t eq = short_form.find('=');
      return eq == std::string::npos ? std::string() : short_form.substr(eq + 1);
    };
    out += num(e.time) + "," + quote(r.name) + "," + quote(r.tenant) + "," +
           (r.nodes ? std::to_string(*r.nodes) : "") + "," +
           (r.gpus ? std::to_string(*r.gpus) : "") + "," + num(e.duration) + "," + quote(classes) +
           "," + quote(select) + "," + value_of(ShortRequestText(loc)) + "," +
           value_of(ShortRequestText(spr)) + "," + quote(compliance) + "\n";
  }
  return out;
}

}  // namespace topoplace
