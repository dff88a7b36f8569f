#include "inventory/audit.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace topoplace {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

void AppendField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ';';
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return Hex(md, len);
}

std::string RandomHex(int bytes) {
  std::string buf(static_cast<size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), bytes) != 1) {
    throw std::runtime_error("the system's random generator failed");
  }
  return Hex(reinterpret_cast<const unsigned char*>(buf.data()), buf.size());
}

std::string AuditEntryHash(const AuditEntry& e) {
  std::string text;
  text.reserve(256 + e.detail.size());
  AppendField(text, e.prev_hash);
  AppendField(text, std::to_string(e.seq));
  AppendField(text, std::to_string(e.at_ms));
  AppendField(text, e.actor);
  AppendField(text, e.action);
  AppendField(text, e.tenant);
  AppendField(text, e.subject);
  AppendField(text, e.detail);
  return Sha256Hex(text);
}

AuditVerifyReport VerifyAuditChain(const std::vector<AuditEntry>& entries, int64_t head_seq,
                                   const std::string& head_hash) {
  AuditVerifyReport report;
  report.entries = static_cast<int64_t>(entries.size());
  std::string prev;
  int64_t expected_seq = 1;
  for (const AuditEntry& e : entries) {
    if (e.seq != expected_seq) {
      report.problems.push_back("entry " + std::to_string(expected_seq) +
                                (e.seq > expected_seq
                                     ? " is missing (deleted?); next is " + std::to_string(e.seq)
                                     : " appears twice"));
    }
    if (e.prev_hash != prev) {
      report.problems.push_back("entry " + std::to_string(e.seq) +
                                ": does not link to the entry before it");
    }
    if (AuditEntryHash(e) != e.hash) {
      report.problems.push_back("entry " + std::to_string(e.seq) +
                                ": content does not match its hash (edited?)");
    }
    prev = e.hash;
    expected_seq = e.seq + 1;
  }
  const int64_t last = entries.empty() ? 0 : entries.back().seq;
  if (last != head_seq || prev != head_hash) {
    report.problems.push_back("the log ends at entry " + std::to_string(last) +
                              " but the head records entry " + std::to_string(head_seq) +
                              " (entries cut off the end?)");
  }
  return report;
}

}  // namespace topoplace
