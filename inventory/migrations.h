// Versioned schema migrations of the store, the same list for the embedded file and the server.
//
// Each migration has a number, a name and SQL written in the subset both dialects accept (TEXT,
// BIGINT, DOUBLE PRECISION, no serial columns: the store makes its own ids). ApplyMigrations runs
// at every start, inside one transaction, under a lock that keeps two servers starting at once
// from applying the same step twice; it applies only the missing steps in order and refuses a
// database whose schema is newer than this binary.
//
// Thread safety: stateless.
#pragma once

#include <span>
#include <string_view>

#include "inventory/sql_backend.h"
#include "model/status.h"

namespace topoplace {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const Migration> SchemaMigrations();
int LatestSchemaVersion();

// Returns the schema version after migrating.
Result<int> ApplyMigrations(sql::SqlPool& pool);

}  // namespace topoplace
