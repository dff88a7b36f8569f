// The audit log's chain and the store's hashing: SHA-256, HMAC, random ids and tokens, audit keys.
//
// Every audit entry carries the hash of the entry before it and its own hash over the previous
// hash and every field (length-prefixed, so no two field splits hash alike). Since the chain
// lives in the database it guards, a plain hash only shows careless edits: whoever can write the
// database can also recompute it. So the chain is keyed: an entry written while the store has an
// audit key carries HMAC-SHA256 under that key instead, and the head row carries a `seal`, an HMAC
// over the last sequence number and hash. The key is a file outside the database (32 random bytes,
// mode 0600, made by LoadAuditKey on first use), so an edit re-hashed with plain SHA-256, a deleted
// entry, or the last entries cut off with the head rewound all show in VerifyAuditChain. Entries
// written before the store had a key (older stores) are checked as plain SHA-256 and counted as
// unkeyed; once a store is keyed, every later entry must be keyed.
// What a key cannot show: someone who saved an earlier head row and its entries can put that
// whole older state back; only a copy of the head kept elsewhere (a verify report) shows that.
//
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/status.h"

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
  bool keyed = false;  // hash is an HMAC under the store's audit key
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Lower-case hex HMAC-SHA256 of `data` under `key` (raw bytes).
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// `bytes` bytes from the system's cryptographic generator, as lower-case hex.
std::string RandomHex(int bytes);
// The hash an entry must carry: over prev_hash and every field except `hash` itself; an HMAC
// under `key` when the entry is keyed (then `key` must not be empty).
std::string AuditEntryHash(const AuditEntry& entry, std::string_view key = {});

// The head of the chain as the store keeps it.
struct AuditHead {
  int64_t seq = 0;
  std::string hash;
  std::string seal;        // HMAC over seq, hash and keyed_from; empty while unkeyed
  int64_t keyed_from = 0;  // the first entry that must be keyed; 0 = the store has no key
  std::string key_id;      // AuditKeyId of the store's key; empty = the store has no key
};

// A public fingerprint of a key (not secret: an HMAC of a fixed text), to tell keys apart.
std::string AuditKeyId(std::string_view key);
std::string AuditHeadSeal(std::string_view key, const AuditHead& head);

// Reads the audit key at `path`. When the file does not exist: with `create`, makes it (mode
// 0600, 32 bytes from OpenSSL's generator; its directory too) and returns the new key; without,
// returns an empty key. kUnavailable when the file cannot be read or made, kInvalidArgument when
// it holds fewer than 16 bytes.
Result<std::string> LoadAuditKey(const std::string& path, bool create);

struct AuditVerifyReport {
  int64_t entries = 0;
  int64_t keyed = 0;                  // entries checked with the key
  int64_t unkeyed = 0;                // entries written before the store had a key (plain SHA-256)
  std::vector<std::string> problems;  // empty when the chain holds
  bool ok() const { return problems.empty(); }
};

// Checks entries in sequence order against each other and against the head the store keeps.
// `key` is the audit key given to the verifier (empty when none was).
AuditVerifyReport VerifyAuditChain(const std::vector<AuditEntry>& entries, const AuditHead& head,
                                   std::string_view key);

}  // namespace topoplace
