// IPv4 addresses and CIDR subnets as plain values: parsing, formatting and the arithmetic IPAM
// needs (the n-th subnet of a pool, the n-th host of a subnet, containment and overlap).
//
// Parsing is strict: four decimal octets without leading zeros or signs ("10.0.0.1"), and a CIDR
// is an address, "/" and a prefix length 0..32 whose host bits are all zero ("10.128.0.0/16";
// "10.128.0.1/16" is refused, since a person who wrote it meant something else). No I/O.
//
// Thread safety: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace topoplace {

struct Ipv4Address {
  uint32_t value = 0;  // host byte order: 10.0.0.1 = 0x0A000001
  bool operator==(const Ipv4Address&) const = default;
  auto operator<=>(const Ipv4Address&) const = default;
};

struct Ipv4Subnet {
  Ipv4Address network;  // host bits zero
  int prefix_length = 0;
  bool operator==(const Ipv4Subnet&) const = default;
};

std::optional<Ipv4Address> ParseIpv4(std::string_view text);
std::string FormatIpv4(Ipv4Address address);

// "a.b.c.d/n" with host bits zero; nullopt otherwise. Why a text is not a CIDR, for messages:
// CidrProblem returns an empty string for a valid one.
std::optional<Ipv4Subnet> ParseCidr(std::string_view text);
std::string CidrProblem(std::string_view text);
std::string FormatCidr(const Ipv4Subnet& subnet);

// The mask of a prefix length (0..32): /24 -> 255.255.255.0.
uint32_t PrefixMask(int prefix_length);
// How many addresses the subnet spans (2^(32 - prefix)), as 64 bits so /0 fits.
uint64_t SubnetSize(const Ipv4Subnet& subnet);
// How many subnets of `prefix_length` the pool holds; 0 when the length is shorter than the pool's.
uint64_t SubnetCount(const Ipv4Subnet& pool, int prefix_length);

// The `index`-th (0-based) subnet of `prefix_length` inside `pool`, in address order; nullopt when
// the pool holds fewer or the length is shorter than the pool's or longer than 32.
std::optional<Ipv4Subnet> NthSubnet(const Ipv4Subnet& pool, int prefix_length, uint64_t index);

// Usable hosts: every address but the network and broadcast ones (for /31 and /32, none are kept
// apart: RFC 3021 point-to-point links and single hosts).
uint64_t HostCount(const Ipv4Subnet& subnet);
// The `index`-th (0-based) usable host of the subnet; nullopt past the last.
std::optional<Ipv4Address> NthHost(const Ipv4Subnet& subnet, uint64_t index);
// The 0-based host index of `address` in the subnet (the inverse of NthHost); nullopt when the
// address is not one of its usable hosts.
std::optional<uint64_t> HostIndex(const Ipv4Subnet& subnet, Ipv4Address address);

bool Contains(const Ipv4Subnet& subnet, Ipv4Address address);
// Whether `outer` contains every address of `inner`.
bool Contains(const Ipv4Subnet& outer, const Ipv4Subnet& inner);
bool Overlaps(const Ipv4Subnet& a, const Ipv4Subnet& b);

}  // namespace topoplace
