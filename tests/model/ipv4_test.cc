// IPv4 and CIDR helpers: strict parsing, formatting, and the subnet and host arithmetic of IPAM.
#include "model/ipv4.h"

#include <gtest/gtest.h>

namespace topoplace {
namespace {

Ipv4Subnet Cidr(std::string_view text) {
  std::optional<Ipv4Subnet> s = ParseCidr(text);
  EXPECT_TRUE(s.has_value()) << text;
  return s.value_or(Ipv4Subnet{});
}

TEST(Ipv4Test, ParsesAndFormatsDottedAddresses) {
  ASSERT_TRUE(ParseIpv4("10.0.0.1"));
  EXPECT_EQ(ParseIpv4("10.0.0.1")->value, 0x0A000001u);
  EXPECT_EQ(ParseIpv4("255.255.255.255")->value, 0xFFFFFFFFu);
  EXPECT_EQ(FormatIpv4(*ParseIpv4("192.168.7.42")), "192.168.7.42");
  EXPECT_EQ(FormatIpv4(Ipv4Address{0}), "0.0.0.0");
  for (std::string_view bad : {"", "10.0.0", "10.0.0.1.2", "10.0.0.256", "10.0.0.-1", "10.00.0.1",
                               "10.0.0.1 ", " 10.0.0.1", "a.b.c.d", "10..0.1", "10.0.0.1/24"}) {
    EXPECT_FALSE(ParseIpv4(bad)) << bad;
  }
}

TEST(Ipv4Test, ParsesCidrsAndRefusesHostBits) {
  const Ipv4Subnet pool = Cidr("10.128.0.0/16");
  EXPECT_EQ(pool.network.value, 0x0A800000u);
  EXPECT_EQ(pool.prefix_length, 16);
  EXPECT_EQ(FormatCidr(pool), "10.128.0.0/16");
  EXPECT_TRUE(ParseCidr("0.0.0.0/0"));
  EXPECT_TRUE(ParseCidr("10.0.0.7/32"));
  EXPECT_FALSE(ParseCidr("10.128.0.1/16"));
  EXPECT_EQ(CidrProblem("10.128.0.1/16"), "host bits are set (the network is 10.128.0.0/16)");
  EXPECT_EQ(CidrProblem("10.128.0.0"), "no prefix length (\"/n\")");
  EXPECT_EQ(CidrProblem("10.128.0.0/33"), "the prefix length is not a number from 0 to 32");
  EXPECT_EQ(CidrProblem("10.128.0/16"), "not a dotted IPv4 address before the \"/\"");
  EXPECT_EQ(CidrProblem("10.128.0.0/16"), "");
}

TEST(Ipv4Test, CutsTheNthSubnetOfAPool) {
  const Ipv4Subnet pool = Cidr("10.128.0.0/16");
  EXPECT_EQ(SubnetCount(pool, 24), 256u);
  EXPECT_EQ(SubnetCount(pool, 16), 1u);
  EXPECT_EQ(SubnetCount(pool, 8), 0u);
  EXPECT_EQ(FormatCidr(*NthSubnet(pool, 24, 0)), "10.128.0.0/24");
  EXPECT_EQ(FormatCidr(*NthSubnet(pool, 24, 5)), "10.128.5.0/24");
  EXPECT_EQ(FormatCidr(*NthSubnet(pool, 24, 255)), "10.128.255.0/24");
  EXPECT_FALSE(NthSubnet(pool, 24, 256));
  EXPECT_FALSE(NthSubnet(pool, 8, 0));
  EXPECT_FALSE(NthSubnet(pool, 33, 0));
  EXPECT_EQ(FormatCidr(*NthSubnet(Cidr("0.0.0.0/0"), 1, 1)), "128.0.0.0/1");
}

TEST(Ipv4Test, CountsAndNumbersHosts) {
  const Ipv4Subnet s = Cidr("10.128.3.0/24");
  EXPECT_EQ(HostCount(s), 254u);
  EXPECT_EQ(FormatIpv4(*NthHost(s, 0)), "10.128.3.1");
  EXPECT_EQ(FormatIpv4(*NthHost(s, 253)), "10.128.3.254");
  EXPECT_FALSE(NthHost(s, 254));  // the broadcast address is no host
  EXPECT_EQ(HostIndex(s, *ParseIpv4("10.128.3.9")), 8u);
  EXPECT_FALSE(HostIndex(s, *ParseIpv4("10.128.3.0")));
  EXPECT_FALSE(HostIndex(s, *ParseIpv4("10.128.3.255")));
  EXPECT_FALSE(HostIndex(s, *ParseIpv4("10.128.4.1")));
  EXPECT_EQ(HostCount(Cidr("10.0.0.0/30")), 2u);
  EXPECT_EQ(HostCount(Cidr("10.0.0.0/31")), 2u);
  EXPECT_EQ(FormatIpv4(*NthHost(Cidr("10.0.0.0/31"), 1)), "10.0.0.1");
  EXPECT_EQ(HostCount(Cidr("10.0.0.9/32")), 1u);
  EXPECT_EQ(HostCount(Cidr("0.0.0.0/0")), 4294967294u);
}

TEST(Ipv4Test, ContainsAndOverlaps) {
  const Ipv4Subnet pool = Cidr("10.128.0.0/16");
  EXPECT_TRUE(Contains(pool, *ParseIpv4("10.128.200.1")));
  EXPECT_FALSE(Contains(pool, *ParseIpv4("10.129.0.1")));
  EXPECT_TRUE(Contains(pool, Cidr("10.128.4.0/24")));
  EXPECT_FALSE(Contains(Cidr("10.128.4.0/24"), pool));
  EXPECT_TRUE(Overlaps(Cidr("10.128.4.0/24"), pool));
  EXPECT_TRUE(Overlaps(pool, Cidr("10.128.4.0/24")));
  EXPECT_FALSE(Overlaps(Cidr("10.128.4.0/24"), Cidr("10.128.5.0/24")));
  EXPECT_TRUE(Contains(Cidr("0.0.0.0/0"), *ParseIpv4("255.255.255.255")));
}

}  // namespace
}  // namespace topoplace
