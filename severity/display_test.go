package severity

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestUploadRatio(t *testing.T) {
	const max = math.MaxUint64
	tests := []struct {
		up, down uint64
		want     float64
	}{
		{0, 0, 999.99},
		{1, 0, 999.99},
		{max, 0, 999.99},
		{0, 1, 0},
		{1, 1, 1},
		{2, 1, 2},
		{2, 3, 0.67},               // 0.666...
		{1, 3, 0.33},               // 0.333...
		{1, 8, 0.13},               // 0.125: half up
		{3, 8, 0.38},               // 0.375: half up
		{1, 200, 0.01},             // 0.005: half up
		{1, 201, 0},                // 0.004975...
		{199, 200, 1},              // 0.995: half up to 1.00
		{1000, 1, 999.99},          // 1000:1 shown 999.99
		{999994, 1000, 999.99},     // 999.994 -> 999.99
		{999995, 1000, 999.99},     // 999.995 rounds to 1000.00, clamped
		{999985, 1000, 999.99},     // 999.985: half up
		{999984, 1000, 999.98},     // 999.984
		{99999, 100, 999.99},       // exactly 999.99
		{max, 1, 999.99},           // up×100 overflows 64 bits
		{max, max, 1},              // huge equal values
		{max - 1, max, 1},          // 0.99999...
		{max / 2, max, 0.5},        // (2^63-1)/(2^64-1) just below 0.5, rounds to 0.50
		{max, max / 3, 3},          // 3.000...
		{max / 1000, max / 999, 1}, // 0.999
		{1 << 63, 1<<64 - 1, 0.5},
		{max, 1 << 57, 128},      // 127.999... -> 128.00
		{max, 1<<54 + 1, 999.99}, // ~1024
	}
	for _, tt := range tests {
		if got := UploadRatio(tt.up, tt.down); got != tt.want {
			t.Errorf("UploadRatio(%d, %d) = %v, want %v", tt.up, tt.down, got, tt.want)
		}
		if got, want := strconv.FormatFloat(UploadRatio(tt.up, tt.down), 'f', 2, 64), slowUploadRatio(tt.up, tt.down); got != want {
			t.Errorf("UploadRatio(%d, %d) prints %s, reference %s", tt.up, tt.down, got, want)
		}
	}
}

func TestMegabytes(t *testing.T) {
	const max = math.MaxUint64
	tests := []struct {
		b    uint64
		want float64
	}{
		{0, 0},
		{1, 0},
		{5242, 0},    // 0.004999...
		{5243, 0.01}, // 0.005000...: half up
		{1048576, 1},
		{1048575, 1},
		{MB + MB/2, 1.5},
		{10 * MB, 10},
		{100*MB - 1, 100},
		{120 * MB, 120},
		{MB / 8, 0.13},     // 0.125: half up
		{MB * 3 / 8, 0.38}, // 0.375: half up
		{MB * 2 / 3, 0.67},
		{max, 17592186044416}, // 2^64 / 2^20 = 2^44, rounds up
		{max - MB, 17592186044415},
	}
	for _, tt := range tests {
		if got := Megabytes(tt.b); got != tt.want {
			t.Errorf("Megabytes(%d) = %v, want %v", tt.b, got, tt.want)
		}
		if got, want := strconv.FormatFloat(Megabytes(tt.b), 'f', 2, 64), slowMegabytes(tt.b); got != want {
			t.Errorf("Megabytes(%d) prints %s, reference %s", tt.b, got, want)
		}
	}
}

// randUint64 returns values spread over every magnitude, with extra weight
// on small numbers and the edges.
func randUint64(r *rand.Rand) uint64 {
	switch r.IntN(8) {
	case 0:
		return r.Uint64N(4)
	case 1:
		return math.MaxUint64 - r.Uint64N(4)
	case 2:
		return uint64(r.IntN(2000)) * MB / 8
	}
	return r.Uint64() >> r.UintN(64)
}

func TestDisplayAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		up, down := randUint64(r), randUint64(r)
		if got, want := strconv.FormatFloat(UploadRatio(up, down), 'f', 2, 64), slowUploadRatio(up, down); got != want {
			t.Fatalf("UploadRatio(%d, %d) prints %s, reference %s", up, down, got, want)
		}
		if got, want := strconv.FormatFloat(Megabytes(up), 'f', 2, 64), slowMegabytes(up); got != want {
			t.Fatalf("Megabytes(%d) prints %s, reference %s", up, got, want)
		}
	}
}

// TestDisplayShortestForm checks that the float64 results print as the
// two-decimal value with the shortest formatting too (as JSON does).
func TestDisplayShortestForm(t *testing.T) {
	for q := uint64(0); q <= 99999; q++ {
		// up/down = q/100 exactly.
		got := UploadRatio(q, 100)
		s := strconv.FormatFloat(got, 'f', -1, 64)
		want := strconv.FormatFloat(float64(q)/100, 'f', 2, 64)
		if p, _ := strconv.ParseFloat(want, 64); p != got {
			t.Fatalf("UploadRatio(%d, 100) = %s, not the float of %s", q, s, want)
		}
	}
}

func TestDisplayAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		_ = UploadRatio(12345678, 9876)
		_ = Megabytes(12345678)
	}); n != 0 {
		t.Errorf("UploadRatio+Megabytes allocate %v times, want 0", n)
	}
}

// TestAppendHundredths checks that the reasons' integer formatting of a
// ratio or an amount in MB prints what strconv prints for the float that
// UploadRatio or Megabytes returns: every ratio, the first 2×10^5 and the
// last hundredths an amount can have, and random ones over every
// magnitude. It fails on a dropped leading zero ("0.5" for 5), on a
// rounding of its own and on values past 2^50.
func TestAppendHundredths(t *testing.T) {
	check := func(q uint64) {
		t.Helper()
		got := string(appendHundredths([]byte("x"), q))
		if want := "x" + strconv.FormatFloat(float64(q)/100, 'f', 2, 64); got != want {
			t.Fatalf("appendHundredths(%d) = %q, strconv %q", q, got, want)
		}
	}
	for q := range uint64(200000) {
		check(q)
	}
	top := megabyteHundredths(math.MaxUint64)
	for q := top - 100000; q <= top; q++ {
		check(q)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		up, down := randUint64(r), randUint64(r)
		check(ratioHundredths(up, down))
		check(megabyteHundredths(up))
		if got, want := string(appendHundredths(nil, megabyteHundredths(up))), strconv.FormatFloat(Megabytes(up), 'f', 2, 64); got != want {
			t.Fatalf("Megabytes(%d): reasons print %s, the float prints %s", up, got, want)
		}
		if got, want := string(appendHundredths(nil, ratioHundredths(up, down))), strconv.FormatFloat(UploadRatio(up, down), 'f', 2, 64); got != want {
			t.Fatalf("UploadRatio(%d, %d): reasons print %s, the float prints %s", up, down, got, want)
		}
	}
}
