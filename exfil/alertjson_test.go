package exfil

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
)

// viaEncodingJSON is what JSONLines wrote before AppendJSON.
func viaEncodingJSON(t testing.TB, a *Alert) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var oddStrings = []string{"", "plain", `quo"te`, `back\slash`, "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
	"<html>&amp;", "bad utf8 \xff\xfe", "line sep \u2028 para \u2029", "ünïcødé 日本", "≥ 5:1 and upload ≥ 10 MB"}

var oddFloats = []float64{0, 1, -1, 0.5, 999.99, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 1.2345e22, -3.4e-8, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64}

// fill sets every settable field of v to a random value of its kind,
// pointers and slices sometimes nil, so that a field added to Alert (or
// to what it holds) is covered without this test knowing it.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(oddStrings[r.IntN(len(oddStrings))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt([]int64{0, 1, -5, 70000, math.MaxInt32}[r.IntN(5)])
	case reflect.Uint8:
		v.SetUint(uint64(r.IntN(5))) // severity levels 0..4
	case reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint([]uint64{0, 1, 443, 65535, math.MaxUint32}[r.IntN(5)] & (1<<(8*v.Type().Size()) - 1))
	case reflect.Float64:
		v.SetFloat(oddFloats[r.IntN(len(oddFloats))])
	case reflect.Pointer:
		if r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(r, p.Elem())
		v.Set(p)
	case reflect.Slice:
		switch r.IntN(4) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			s := reflect.MakeSlice(v.Type(), 1+r.IntN(3), 3)
			for i := range s.Len() {
				fill(r, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Struct:
		switch v.Type() {
		case reflect.TypeFor[time.Time]():
			ts := []time.Time{{}, time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 2, 14, 59, 123456789, time.UTC),
				time.Date(2026, 1, 1, 0, 0, 0, 500, time.FixedZone("x", 3600))}
			v.Set(reflect.ValueOf(ts[r.IntN(len(ts))]))
			return
		case reflect.TypeFor[netip.Addr]():
			as := []netip.Addr{{}, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:1.2.3.4")}
			v.Set(reflect.ValueOf(as[r.IntN(len(as))]))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String() + " of " + v.Type().String())
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	for i := range 20000 {
		var a Alert
		fill(r, reflect.ValueOf(&a).Elem())
		want := viaEncodingJSON(t, &a)
		got, err := a.AppendJSON(buf[:0])
		if err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("alert %d:\n got %s\nwant %s", i, got, want)
		}
		buf = got
	}
}

func TestAppendJSONRealAlert(t *testing.T) {
	p := 0.99
	a := &Alert{AlertID: "00ff", Stage: StageFinal, AlertType: AlertType, Severity: severity.Critical, Confidence: 0.99,
		SrcIP: netip.MustParseAddr("10.0.0.1"), DestIP: netip.MustParseAddr("203.0.113.9"), DestPort: 443, Proto: "TCP",
		WindowStart: time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 2, 2, 15, 0, 0, time.UTC),
		C2:      C2{Matches: []ioc.Match{{Indicator: "evil.example", Type: "domain", Feed: "f", MatchedOn: "sni", Confidence: 90}}},
		Reasons: []string{"ratio 999.99:1 >= 5:1"}, PCR: &p}
	got, err := a.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := viaEncodingJSON(t, a); !bytes.Equal(got, want) {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	a.WindowEnd = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := a.AppendJSON(nil); err == nil {
		t.Error("year 10000 accepted")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s, 0.5)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		a := &Alert{AlertID: s, Reasons: []string{s, s}, Principal: s, Confidence: x, UploadRatio: -x}
		got, err := a.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := viaEncodingJSON(t, a); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkAlertJSON(b *testing.B) {
	p := 0.99
	a := &Alert{AlertID: "3f2a9c0e1b7d4e8f9a0b1c2d3e4f5a6b", Stage: StageFinal, AlertType: AlertType, Severity: severity.High, Confidence: 0.87,
		SrcIP: netip.MustParseAddr("10.0.5.132"), DestIP: netip.MustParseAddr("198.51.100.12"), DestPort: 443, Proto: "TCP",
		WindowStart: time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC), WindowEnd: time.Date(2026, 11, 2, 2, 15, 0, 0, time.UTC),
		FlowCount: 113, UniqueFlows: 112, TotalUploadBytes: 61203375, UploadMB: 58.37, UploadRatio: 999.99, C2: C2{Matches: []ioc.Match{}},
		CommunityID: "1:GKHe+JVQdidftk1cHoZyCvM/2Zk=", Reasons: []string{"ratio 999.99:1 (nothing downloaded) >= 5:1 and upload 58.37 MB >= 10.00 MB: high rule, base 0.70", "nothing downloaded (ratio unbounded): +0.05", "sustained: 113 flow records (>= 10): +0.02"},
		Rule: "high: ratio>=5:1 and upload>=10MB", FirstSeen: time.Date(2026, 11, 2, 2, 0, 1, 0, time.UTC), LastSeen: time.Date(2026, 11, 2, 2, 14, 1, 0, time.UTC),
		UploadPackets: 43000, BlastRadius: 3, PCR: &p}
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = a.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			enc.Encode(a)
		}
	})
}
