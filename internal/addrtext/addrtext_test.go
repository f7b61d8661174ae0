package addrtext

import (
	"net/netip"
	"testing"
)

// checkAddr compares parseAddr with netip.ParseAddr (inputs without zones).
func checkAddr(t *testing.T, b []byte) {
	t.Helper()
	got, ok := Parse(b)
	want, err := netip.ParseAddr(string(b))
	if ok != (err == nil) || ok && got != want {
		t.Fatalf("Parse(%q) = %v, %v; netip: %v, %v", b, got, ok, want, err)
	}
}

func TestParseAddr(t *testing.T) {
	for _, s := range []string{
		"0.0.0.0", "192.168.0.254", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04",
		"1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "1.2.3.a", "0.0.0.00", "1.2.3.1000",
		"fe80:0000:0000:0000:0200:86ff:fe05:80da", "ff02:0000:0000:0000:0000:0000:0000:0002",
		"2001:db8::1", "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "1::2::3", ":1::", "1:", ":", ":::", "1:::2",
		"12345::", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
		"1:2:3:4:5:1.2.3.4", "::1.2.3", "::1.2.3.4:5", "::FFFF:0102:0304", "g::", "", "1", "a",
		"1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "0:0:0:0:0:0:0:0", "1:2:3:4:5::1.2.3.4",
	} {
		checkAddr(t, []byte(s))
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4", "fe80:0000:0000:0000:0200:86ff:fe05:80da", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAddr(t, []byte(s))
	})
}

func TestParseAddrAllocs(t *testing.T) {
	b := []byte("2001:0db8:0000:0000:0000:0000:0000:0001")
	if n := testing.AllocsPerRun(100, func() { Parse(b) }); n != 0 {
		t.Errorf("parseAddr allocates %v times", n)
	}
}
