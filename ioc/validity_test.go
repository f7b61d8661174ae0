package ioc

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	t1 = t0.Add(24 * time.Hour)
	t2 = t1.Add(24 * time.Hour)
	t3 = t2.Add(24 * time.Hour)
)

func TestValidity(t *testing.T) {
	s := NewSet("f", []Indicator{
		{Value: "192.0.2.1", ValidFrom: t1, ValidUntil: t2, MalwareFamily: "A"},
		{Value: "192.0.2.1", ValidFrom: t2, MalwareFamily: "B"}, // same value, later period
		{Value: "192.0.2.1", ValidFrom: t2, ValidUntil: t3},     // covered by B: dropped
		{Value: "192.0.2.0/24", ValidUntil: t1, ThreatActor: "short-lived /24"},
		{Value: "192.0.0.0/16", ThreatActor: "forever /16"},
		{Value: "evil.example", ValidFrom: t1, ValidUntil: t2, Confidence: 80},
		{Value: "example", ValidFrom: t2},
		{Value: "2001:db8::/48", ValidUntil: t2},
		{Value: "2001:db8::/32"},
	})
	if s.Len() != 8 {
		t.Errorf("Len() = %d, want 8 (one duplicate covered by an earlier period)", s.Len())
	}
	tests := []struct {
		q    string
		at   time.Time
		want string // indicator and family or actor
	}{
		{"192.0.2.1", t0, "192.0.2.0/24 short-lived /24"}, // the IP is not yet valid; the /24 is
		{"192.0.2.1", t1.Add(-time.Nanosecond), "192.0.2.0/24 short-lived /24"},
		{"192.0.2.1", t1, "192.0.2.1 A"}, // valid_from is inclusive
		{"192.0.2.1", t2.Add(-time.Microsecond), "192.0.2.1 A"},
		{"192.0.2.1", t2, "192.0.2.1 B"}, // valid_until is exclusive; B takes over
		{"192.0.2.1", t3.Add(1000 * time.Hour), "192.0.2.1 B"},
		{"192.0.2.1", time.Time{}, "192.0.2.1 A"}, // zero time: first indicator, no check
		{"192.0.2.9", t0, "192.0.2.0/24 short-lived /24"},
		{"192.0.2.9", t1, "192.0.0.0/16 forever /16"}, // the /24 expired: the /16 matches
		{"2001:db8::1", t1, "2001:db8::/48 "},
		{"2001:db8::1", t2, "2001:db8::/32 "},
		{"evil.example", t0, ""},
		{"a.evil.example", t1, "evil.example 80"},
		{"a.evil.example", t2, "example "}, // evil.example expired, its parent started
		{"evil.example", t0.Add(-time.Hour), ""},
	}
	for _, tt := range tests {
		var m Match
		var ok bool
		if a, err := netip.ParseAddr(tt.q); err == nil {
			m, ok = s.LookupAddrAt(a, tt.at)
		} else {
			m, ok = s.LookupDomainAt(tt.q, tt.at)
		}
		got := ""
		if ok {
			got = m.Indicator + " " + m.MalwareFamily + m.ThreatActor
			if m.Confidence != 0 {
				got += strconv.Itoa(m.Confidence)
			}
		}
		if got != tt.want {
			t.Errorf("lookup %s at %v = %q, want %q", tt.q, tt.at, got, tt.want)
		}
	}
	m, _ := s.LookupAddrAt(netip.MustParseAddr("192.0.2.1"), t1)
	if !m.ValidUntil.Equal(t2) || m.ValidUntil.Location() != time.UTC {
		t.Errorf("ValidUntil = %v, want %v in UTC", m.ValidUntil, t2)
	}
}

// TestTimelessLookups checks that LookupAddr and LookupDomain judge
// validity by the wall clock.
func TestTimelessLookups(t *testing.T) {
	now := time.Now()
	s := NewSet("f", []Indicator{
		{Value: "192.0.2.1", ValidUntil: now.Add(-time.Hour)},                                // expired
		{Value: "192.0.2.2", ValidFrom: now.Add(time.Hour)},                                  // not yet
		{Value: "192.0.2.3", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, // valid now
		{Value: "old.example", ValidUntil: now.Add(-time.Minute)},
	})
	for a, want := range map[string]bool{"192.0.2.1": false, "192.0.2.2": false, "192.0.2.3": true} {
		if _, ok := s.LookupAddr(netip.MustParseAddr(a)); ok != want {
			t.Errorf("LookupAddr(%s) = %v, want %v", a, ok, want)
		}
	}
	if _, ok := s.LookupDomain("x.old.example"); ok {
		t.Error("expired domain matched by LookupDomain")
	}
	// Multi passes the time on, and its time-less methods use the clock.
	m := Multi{s}
	if _, ok := m.LookupAddr(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("Multi.LookupAddr matched an expired indicator")
	}
	if got := m.AppendAddrMatchesAt(nil, netip.MustParseAddr("192.0.2.1"), now.Add(-2*time.Hour)); len(got) != 1 {
		t.Errorf("AppendAddrMatchesAt before expiry = %v, want one match", got)
	}
}

func TestMatchJSON(t *testing.T) {
	s := NewSet("feed", []Indicator{
		{Value: "192.0.2.1"},
		{Value: "evil.example", MalwareFamily: "Emotet", ThreatActor: "TA542", Confidence: 90, ValidFrom: t0, ValidUntil: t1.Add(1500 * time.Millisecond)},
	})
	m1, _ := s.LookupAddrAt(netip.MustParseAddr("192.0.2.1"), t0)
	m1.MatchedOn = "dest_ip"
	m2, _ := s.LookupDomainAt("c2.evil.example", t0)
	m2.MatchedOn = "sni"
	js, err := json.Marshal([]Match{m1, m2})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"indicator":"192.0.2.1","type":"ip","feed":"feed","matched_on":"dest_ip"},` +
		`{"indicator":"evil.example","type":"domain","feed":"feed","matched_on":"sni","malware_family":"Emotet","threat_actor":"TA542","confidence":90,"valid_until":"2024-03-02T00:00:01.5Z"}]`
	if string(js) != want {
		t.Errorf("JSON\n got %s\nwant %s", js, want)
	}
	var back []Match
	if err := json.Unmarshal(js, &back); err != nil || !back[1].ValidUntil.Equal(m2.ValidUntil) || back[1].Confidence != 90 {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestNewSetEvidence(t *testing.T) {
	inds := []Indicator{
		{Value: "192.0.2.1", MalwareFamily: "A", ThreatActor: "X", Confidence: 100, ValidFrom: t0, ValidUntil: t1, Line: 3},
		{Value: "192.0.2.2", Confidence: 101},                   // bad confidence: dropped
		{Value: "192.0.2.3", Confidence: -1},                    // dropped
		{Value: "192.0.2.4", ValidFrom: t1, ValidUntil: t1},     // empty period: dropped
		{Value: "192.0.2.5", ValidFrom: t1, ValidUntil: t0},     // reversed: dropped
		{Value: "192.0.2.6", ValidUntil: t0, Feed: "other"},     // fine
		{Value: "192.0.2.1", MalwareFamily: "B", ValidFrom: t1}, // same value, new period: kept
	}
	s := NewSet("f", inds)
	got := slices.Collect(s.All())
	want := []Indicator{
		{Value: "192.0.2.1", Kind: KindIP, Feed: "f", Line: 3, MalwareFamily: "A", ThreatActor: "X", Confidence: 100, ValidFrom: t0, ValidUntil: t1},
		{Value: "192.0.2.6", Kind: KindIP, Feed: "other", ValidUntil: t0},
		{Value: "192.0.2.1", Kind: KindIP, Feed: "f", MalwareFamily: "B", ValidFrom: t1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All() (-want +got):\n%s", diff)
	}
	// All round-trips through NewSet.
	again := slices.Collect(NewSet("f", got).All())
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("NewSet(All()) differs (-want +got):\n%s", diff)
	}
}

// TestSetMetaDedup checks that indicators sharing their evidence share
// one record, so that a large feed of one family stays small.
func TestSetMetaDedup(t *testing.T) {
	var inds []Indicator
	for i := range 1000 {
		inds = append(inds, Indicator{Value: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String(), MalwareFamily: []string{"A", "B"}[i%2]})
	}
	s := NewSet("f", inds)
	if s.Len() != 1000 || len(s.metas) != 2 {
		t.Errorf("Len() = %d, metas = %d; want 1000, 2", s.Len(), len(s.metas))
	}
	if s.timed {
		t.Error("a set without validity bounds is marked timed")
	}
}

func TestValidityAllocs(t *testing.T) {
	s := NewSet("f", []Indicator{
		{Value: "192.0.2.0/24", ValidUntil: t1}, {Value: "192.0.0.0/16"}, {Value: "evil.example", ValidFrom: t1},
	})
	a := netip.MustParseAddr("192.0.2.7")
	allocs := testing.AllocsPerRun(100, func() {
		s.LookupAddrAt(a, t2)
		s.LookupDomainAt("WWW.Evil.Example.", t2)
		s.LookupAddr(a)
	})
	if allocs != 0 {
		t.Errorf("timed lookups allocate %v times, want 0", allocs)
	}
}
