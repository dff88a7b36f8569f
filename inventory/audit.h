// The audit log's chain and the store's hashing: SHA-256, random ids and tokens.
//
// Every audit entry carries the hash of the entry before it and its own hash over the previous
// hash and every field (length-prefixed, so no two field splits hash alike). Editing any field of
// any entry, deleting or inserting one in the middle, or cutting entries off the end (the store
// keeps the head's sequence number and hash apart) breaks the chain, and VerifyAuditChain says
// where. Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace topoplace {

struct AuditEntry {
  int64_t seq = 0;
  int64_t at_ms = 0;
  std::string actor;    // "token:ab12cd34 (provider-admin)", "system", "cli"
  std::string action;   // "reservation.create", "allocation.release", ...
  std::string tenant;   // the tenant the change concerns, empty for provider-wide changes
  std::string subject;  // the id of what changed
  std::string detail;   // JSON: nodes with the rule that admitted each, generations, cost, ...
  std::string prev_hash;
  std::string hash;
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// `bytes` bytes from the system's cryptographic generator, as lower-case hex.
std::string RandomHex(int bytes);
// The hash an entry must carry: over prev_hash and every field except `hash` itself.
std::string AuditEntryHash(const AuditEntry& entry);

struct AuditVerifyReport {
  int64_t entries = 0;
  std::vector<std::string> problems;  // empty when the chain holds
  bool ok() const { return problems.empty(); }
};

// Checks entries in sequence order against each other and against the head the store keeps.
AuditVerifyReport VerifyAuditChain(const std::vector<AuditEntry>& entries, int64_t head_seq,
                                   const std::string& head_hash);

}  // namespace topoplace
