package outbound

import "net/netip"

// rangeRule names a blocked range so errors say which rule refused an address.
type rangeRule struct {
	prefix netip.Prefix
	name   string
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// blockedV4 lists every IPv4 range that is not a public, routable unicast destination.
// The source is the IANA special-purpose registry (RFC 6890 and successors); anything
// not here is treated as the public internet.
var blockedV4 = []rangeRule{
	{mustPrefix("0.0.0.0/8"), "\"this network\" 0.0.0.0/8"},
	{mustPrefix("10.0.0.0/8"), "private 10.0.0.0/8 (RFC 1918)"},
	{mustPrefix("100.64.0.0/10"), "shared/CGNAT 100.64.0.0/10"},
	{mustPrefix("127.0.0.0/8"), "loopback 127.0.0.0/8"},
	{mustPrefix("169.254.0.0/16"), "link-local 169.254.0.0/16"},
	{mustPrefix("172.16.0.0/12"), "private 172.16.0.0/12 (RFC 1918)"},
	{mustPrefix("192.0.0.0/24"), "IETF protocol assignments 192.0.0.0/24"},
	{mustPrefix("192.0.2.0/24"), "documentation 192.0.2.0/24"},
	{mustPrefix("192.88.99.0/24"), "6to4 relay anycast 192.88.99.0/24"},
	{mustPrefix("192.168.0.0/16"), "private 192.168.0.0/16 (RFC 1918)"},
	{mustPrefix("198.18.0.0/15"), "benchmarking 198.18.0.0/15"},
	{mustPrefix("198.51.100.0/24"), "documentation 198.51.100.0/24"},
	{mustPrefix("203.0.113.0/24"), "documentation 203.0.113.0/24"},
	{mustPrefix("224.0.0.0/4"), "multicast 224.0.0.0/4"},
	{mustPrefix("240.0.0.0/4"), "reserved/broadcast 240.0.0.0/4"},
}

// Special IPv6 prefixes. The global-unicast test (2000::/3) already excludes ::, ::1,
// fc00::/7, fe80::/10, ff00::/8 and friends; they are named here only so the error says
// which rule applied rather than a generic "not global".
var (
	v6Global  = mustPrefix("2000::/3")
	v6NAT64   = mustPrefix("64:ff9b::/96")
	v66to4    = mustPrefix("2002::/16")
	v6Compat  = mustPrefix("::/96")
	blockedV6 = []rangeRule{
		{mustPrefix("::1/128"), "loopback ::1"},
		{mustPrefix("::/128"), "unspecified ::"},
		{mustPrefix("64:ff9b:1::/48"), "local-use NAT64 64:ff9b:1::/48"},
		{mustPrefix("100::/64"), "discard-only 100::/64"},
		{mustPrefix("fc00::/7"), "unique local fc00::/7"},
		{mustPrefix("fe80::/10"), "link-local fe80::/10"},
		{mustPrefix("fec0::/10"), "site-local fec0::/10 (deprecated)"},
		{mustPrefix("ff00::/8"), "multicast ff00::/8"},
		// Inside 2000::/3 but not public destinations.
		{mustPrefix("2001::/32"), "Teredo 2001::/32"},
		{mustPrefix("2001:2::/48"), "benchmarking 2001:2::/48"},
		{mustPrefix("2001:10::/28"), "ORCHID 2001:10::/28"},
		{mustPrefix("2001:20::/28"), "ORCHIDv2 2001:20::/28"},
		{mustPrefix("2001:db8::/32"), "documentation 2001:db8::/32"},
		{mustPrefix("3fff::/20"), "documentation 3fff::/20"},
	}
)

// classify reports why addr must not be dialled, or "" when it is a public address.
//
// It normalises first, because the same host has several spellings: an IPv4-mapped IPv6
// address (::ffff:127.0.0.1) reaches the IPv4 host, and a zone (fe80::1%eth0) would make
// netip.Prefix.Contains silently answer false. Addresses that embed an IPv4 destination
// (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that embedded address, so
// 64:ff9b::7f00:1 is loopback while 64:ff9b::101:101 (1.1.1.1) is public.
func classify(addr netip.Addr) string {
	if !addr.IsValid() {
		return "invalid address"
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		for _, r := range blockedV4 {
			if r.prefix.Contains(addr) {
				return r.name
			}
		}
		return ""
	}
	b := addr.As16()
	if v6NAT64.Contains(addr) {
		if why := classify(netip.AddrFrom4([4]byte(b[12:16]))); why != "" {
			return "NAT64 64:ff9b::/96 of " + why
		}
		return ""
	}
	if v66to4.Contains(addr) {
		if why := classify(netip.AddrFrom4([4]byte(b[2:6]))); why != "" {
			return "6to4 2002::/16 of " + why
		}
		return ""
	}
	for _, r := range blockedV6 {
		if r.prefix.Contains(addr) {
			return r.name
		}
	}
	if v6Compat.Contains(addr) {
		return "IPv4-compatible ::/96 (deprecated)"
	}
	// Only 2000::/3 is allocated for global unicast; everything else is reserved,
	// so an allowlist of one prefix is safer than a blocklist of many.
	if !v6Global.Contains(addr) {
		return "not global unicast (outside 2000::/3)"
	}
	return ""
}
