// A short stable hash for names derived from ids (device, namespace and object names that must
// be short, deterministic and distinct per id): 32-bit FNV-1a. Not for security.
//
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <string_view>

namespace topoplace {

inline uint32_t Fnv1a32(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace topoplace
