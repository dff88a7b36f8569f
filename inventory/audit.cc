#include "inventory/audit.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace topoplace {
namespace {

constexpr int kAuditKeyBytes = 32;
constexpr size_t kMinAuditKeyBytes = 16;

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

std::string Errno() { return std::strerror(errno); }

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return Hex(md, len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
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

std::string AuditEntryHash(const AuditEntry& e, std::string_view key) {
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
  return e.keyed ? HmacSha256Hex(key, text) : Sha256Hex(text);
}

std::string AuditKeyId(std::string_view key) {
  return HmacSha256Hex(key, "topoplace audit key id").substr(0, 16);
}

std::string AuditHeadSeal(std::string_view key, const AuditHead& head) {
  std::string text;
  AppendField(text, "head");
  AppendField(text, std::to_string(head.seq));
  AppendField(text, head.hash);
  AppendField(text, std::to_string(head.keyed_from));
  return HmacSha256Hex(key, text);
}

Result<std::string> LoadAuditKey(const std::string& path, bool create) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (!create) return std::string();
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    // Written whole under a private name, then linked into place: a process starting beside this
    // one either finds no key or the complete one, and only one key ever wins.
    const std::string tmp = path + ".tmp-" + RandomHex(6);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      return UnavailableError("cannot create the audit key " + path + ": " + Errno());
    }
    unsigned char key[kAuditKeyBytes];
    bool written = RAND_bytes(key, kAuditKeyBytes) == 1 &&
                   ::write(fd, key, kAuditKeyBytes) == kAuditKeyBytes && ::fsync(fd) == 0;
    ::close(fd);
    if (written && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) written = false;
    const std::string why = Errno();
    ::unlink(tmp.c_str());
    if (!written) return UnavailableError("cannot create the audit key " + path + ": " + why);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot read the audit key " + path + ": " + Errno());
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (key.size() < kMinAuditKeyBytes || key.size() > 4096) {
    return InvalidArgumentError("the audit key " + path + " holds " + std::to_string(key.size()) +
                                " bytes; expected 32 random bytes");
  }
  return key;
}

AuditVerifyReport VerifyAuditChain(const std::vector<AuditEntry>& entries, const AuditHead& head,
                                   std::string_view key) {
  AuditVerifyReport report;
  report.entries = static_cast<int64_t>(entries.size());
  const bool bound = !head.key_id.empty();
  bool key_usable = !key.empty();
  if (bound && key.empty()) {
    report.problems.push_back("the log is keyed from entry " + std::to_string(head.keyed_from) +
                              " on, but no audit key was given (--audit-key FILE)");
  } else if (bound && AuditKeyId(key) != head.key_id) {
    report.problems.push_back(
        "the audit key given is not the one this store's log is keyed with (key id " +
        AuditKeyId(key) + ", the store's " + head.key_id + ")");
    key_usable = false;
  } else if (!bound && !key.empty()) {
    report.problems.push_back(
        "the store records no audit key, yet one exists for it: the log was never keyed with "
        "this key, or its keying was removed (rewritten without the key?)");
    key_usable = false;
  }
  std::string prev;
  int64_t expected_seq = 1;
  for (const AuditEntry& e : entries) {
    const std::string at = "entry " + std::to_string(e.seq);
    if (e.seq != expected_seq) {
      report.problems.push_back("entry " + std::to_string(expected_seq) +
                                (e.seq > expected_seq
                                     ? " is missing (deleted?); next is " + std::to_string(e.seq)
                                     : " appears twice"));
    }
    if (e.prev_hash != prev) {
      report.problems.push_back(at + ": does not link to the entry before it");
    }
    if (e.keyed) {
      ++report.keyed;
      if (!bound || e.seq < head.keyed_from) {
        report.problems.push_back(at + ": keyed, but the store was not keyed then");
      } else if (key_usable && AuditEntryHash(e, key) != e.hash) {
        report.problems.push_back(at + ": content does not match its keyed hash (edited?)");
      }
    } else {
      ++report.unkeyed;
      if (bound && e.seq >= head.keyed_from) {
        report.problems.push_back(at + ": not keyed, but every entry from " +
                                  std::to_string(head.keyed_from) +
                                  " on must be (rewritten without the key?)");
      } else if (AuditEntryHash(e) != e.hash) {
        report.problems.push_back(at + ": content does not match its hash (edited?)");
      }
    }
    prev = e.hash;
    expected_seq = e.seq + 1;
  }
  const int64_t last = entries.empty() ? 0 : entries.back().seq;
  if (last != head.seq || prev != head.hash) {
    report.problems.push_back("the log ends at entry " + std::to_string(last) +
                              " but the head records entry " + std::to_string(head.seq) +
                              " (entries cut off the end?)");
  }
  if (bound && key_usable && AuditHeadSeal(key, head) != head.seal) {
    report.problems.push_back("the head's seal does not match entry " + std::to_string(head.seq) +
                              " (entries cut off the end and the head rewound, or the chain "
                              "rewritten?)");
  }
  return report;
}

}  // namespace topoplace
