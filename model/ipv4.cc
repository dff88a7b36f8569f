#include "model/ipv4.h"

namespace topoplace {
namespace {

// A decimal number 0..max without sign, leading zeros or anything after it.
std::optional<uint32_t> ParseDecimal(std::string_view s, uint32_t max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace

std::optional<Ipv4Address> ParseIpv4(std::string_view text) {
  uint32_t value = 0;
  for (int octet = 0; octet < 4; ++octet) {
    const size_t dot = octet < 3 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return std::nullopt;
    std::optional<uint32_t> v = ParseDecimal(text.substr(0, dot), 255);
    if (!v) return std::nullopt;
    value = (value << 8) | *v;
    text.remove_prefix(octet < 3 ? dot + 1 : dot);
  }
  return Ipv4Address{value};
}

std::string FormatIpv4(Ipv4Address address) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (shift != 24) out += '.';
    out += std::to_string((address.value >> shift) & 0xFF);
  }
  return out;
}

uint32_t PrefixMask(int prefix_length) {
  if (prefix_length <= 0) return 0;
  if (prefix_length >= 32) return 0xFFFFFFFFu;
  return ~((uint32_t{1} << (32 - prefix_length)) - 1);
}

std::string CidrProblem(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return "no prefix length (\"/n\")";
  std::optional<Ipv4Address> address = ParseIpv4(text.substr(0, slash));
  if (!address) return "not a dotted IPv4 address before the \"/\"";
  std::optional<uint32_t> prefix = ParseDecimal(text.substr(slash + 1), 32);
  if (!prefix) return "the prefix length is not a number from 0 to 32";
  if ((address->value & ~PrefixMask(static_cast<int>(*prefix))) != 0) {
    return "host bits are set (the network is " +
           FormatIpv4(Ipv4Address{address->value & PrefixMask(static_cast<int>(*prefix))}) + "/" +
           std::to_string(*prefix) + ")";
  }
  return "";
}

std::optional<Ipv4Subnet> ParseCidr(std::string_view text) {
  if (!CidrProblem(text).empty()) return std::nullopt;
  const size_t slash = text.find('/');
  return Ipv4Subnet{*ParseIpv4(text.substr(0, slash)),
                    static_cast<int>(*ParseDecimal(text.substr(slash + 1), 32))};
}

std::string FormatCidr(const Ipv4Subnet& subnet) {
  return FormatIpv4(subnet.network) + "/" + std::to_string(subnet.prefix_length);
}

uint64_t SubnetSize(const Ipv4Subnet& subnet) { return uint64_t{1} << (32 - subnet.prefix_length); }

uint64_t SubnetCount(const Ipv4Subnet& pool, int prefix_length) {
  if (prefix_length < pool.prefix_length || prefix_length > 32) return 0;
  return uint64_t{1} << (prefix_length - pool.prefix_length);
}

std::optional<Ipv4Subnet> NthSubnet(const Ipv4Subnet& pool, int prefix_length, uint64_t index) {
  if (index >= SubnetCount(pool, prefix_length)) return std::nullopt;
  const uint64_t size = uint64_t{1} << (32 - prefix_length);
  return Ipv4Subnet{Ipv4Address{static_cast<uint32_t>(pool.network.value + index * size)},
                    prefix_length};
}

uint64_t HostCount(const Ipv4Subnet& subnet) {
  const uint64_t size = SubnetSize(subnet);
  return subnet.prefix_length >= 31 ? size : size - 2;
}

std::optional<Ipv4Address> NthHost(const Ipv4Subnet& subnet, uint64_t index) {
  if (index >= HostCount(subnet)) return std::nullopt;
  const uint64_t first = subnet.prefix_length >= 31 ? 0 : 1;
  return Ipv4Address{static_cast<uint32_t>(subnet.network.value + first + index)};
}

std::optional<uint64_t> HostIndex(const Ipv4Subnet& subnet, Ipv4Address address) {
  if (!Contains(subnet, address)) return std::nullopt;
  const uint64_t offset = address.value - subnet.network.value;
  const uint64_t first = subnet.prefix_length >= 31 ? 0 : 1;
  if (offset < first || offset - first >= HostCount(subnet)) return std::nullopt;
  return offset - first;
}

bool Contains(const Ipv4Subnet& subnet, Ipv4Address address) {
  return (address.value & PrefixMask(subnet.prefix_length)) == subnet.network.value;
}

bool Contains(const Ipv4Subnet& outer, const Ipv4Subnet& inner) {
  return inner.prefix_length >= outer.prefix_length && Contains(outer, inner.network);
}

bool Overlaps(const Ipv4Subnet& a, const Ipv4Subnet& b) { return Contains(a, b) || Contains(b, a); }

}  // namespace topoplace
