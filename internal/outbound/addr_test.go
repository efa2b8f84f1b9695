package outbound

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		addr    string
		blocked bool
	}{
		// Public examples stay reachable.
		{"1.1.1.1", false},
		{"8.8.8.8", false},
		{"2606:4700::1111", false},
		{"2a00:1450:4001:80b::200e", false},
		{"64:ff9b::101:101", false}, // NAT64 of 1.1.1.1
		{"2002:101:101::1", false},  // 6to4 of 1.1.1.1
		{"::ffff:1.1.1.1", false},   // IPv4-mapped public
		{"172.15.255.255", false},   // just below 172.16/12
		{"172.32.0.0", false},       // just above 172.16/12
		{"100.63.255.255", false},   // just below CGNAT
		{"100.128.0.0", false},      // just above CGNAT
		{"198.17.255.255", false},   // just below benchmarking
		{"198.20.0.0", false},       // just above benchmarking
		{"223.255.255.255", false},  // just below multicast

		// IPv4 special ranges.
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"169.254.169.254", true}, // cloud metadata
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.0.0.8", true},
		{"192.0.2.1", true},
		{"192.88.99.1", true},
		{"192.168.1.1", true},
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},

		// IPv6 special ranges.
		{"::", true},
		{"::1", true},
		{"::7f00:1", true}, // IPv4-compatible, deprecated
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"febf:ffff::1", true},
		{"fec0::1", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		{"2001:db8::1", true},
		{"2001:db8:ffff::1", true},
		{"3fff::1", true},
		{"2001::1", true},    // Teredo
		{"2001:2::1", true},  // benchmarking
		{"2001:10::1", true}, // ORCHID
		{"100::1", true},     // discard-only
		{"4000::1", true},    // outside 2000::/3

		// Spellings that embed a blocked IPv4 address.
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
		{"64:ff9b::a00:1", true},     // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", true},       // local-use NAT64
		{"2002:7f00:1::1", true},     // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", true},   // 6to4 of 192.168.1.1
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			why := classify(a)
			if got := why != ""; got != tt.blocked {
				t.Fatalf("classify(%s) = %q, want blocked=%v", tt.addr, why, tt.blocked)
			}
		})
	}
	if classify(netip.Addr{}) == "" {
		t.Fatal("zero Addr must be blocked")
	}
}

func TestCheckAddrAllowPrivate(t *testing.T) {
	c := New(Options{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", false},
		{"127.0.0.2", false},
		{"::ffff:127.0.0.1", false}, // same host as 127.0.0.1
		{"10.0.0.1", true},          // only the listed range opens up
		{"::1", true},
		{"64:ff9b::7f00:1", true}, // goes to a NAT64 gateway, not this host
		{"1.1.1.1", false},
	}
	for _, tt := range tests {
		err := c.checkAddr(netip.MustParseAddr(tt.addr))
		if got := err != nil; got != tt.blocked {
			t.Errorf("checkAddr(%s) = %v, want blocked=%v", tt.addr, err, tt.blocked)
		}
	}
}
