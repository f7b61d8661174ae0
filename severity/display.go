package severity

import (
	"math/bits"
	"strconv"
)

// MaxUploadRatio is the largest ratio [UploadRatio] shows, also shown when
// nothing was downloaded (SPEC §3).
const MaxUploadRatio = 999.99

// UploadRatio returns up/down for display: rounded half-up to two decimals
// ("2/3" is 0.67, "1/8" is 0.13), [MaxUploadRatio] when down is 0, and
// never above MaxUploadRatio (a ratio of 999.995 or more shows 999.99). The
// rounding is exact: it is done on the 128-bit integer up×100, never on a
// float of the raw ratio, so the result is the float64 nearest to the
// decimal shown (it prints as such with strconv 'f', 2 or JSON).
//
// Display only: the ladder compares integers (see [Rule.Matches]).
func UploadRatio(up, down uint64) float64 { return float64(ratioHundredths(up, down)) / 100 }

// ratioHundredths is [UploadRatio] in hundredths: the integer the float
// is the nearest to, divided by 100.
func ratioHundredths(up, down uint64) uint64 {
	const maxHundredths = 99999
	if down == 0 {
		return maxHundredths
	}
	hi, lo := bits.Mul64(up, 100)
	if hi >= down { // the quotient does not fit in 64 bits
		return maxHundredths
	}
	q, r := bits.Div64(hi, lo, down)
	if q >= maxHundredths {
		return maxHundredths
	}
	if r >= down-r { // r/down >= 1/2: round half up
		q++
	}
	return q
}

// Megabytes returns b bytes in MB (1 MB = 1,048,576 bytes, see [MB]),
// rounded half-up to two decimals: Megabytes(1048576) and
// Megabytes(1048575) are both 1.00, Megabytes(5242) is 0.00 and
// Megabytes(5243) is 0.01. The rounding is exact, in 128-bit integer
// arithmetic, for every uint64.
func Megabytes(b uint64) float64 { return float64(megabyteHundredths(b)) / 100 }

// megabyteHundredths is [Megabytes] in hundredths, below 2^51.
func megabyteHundredths(b uint64) uint64 {
	hi, lo := bits.Mul64(b, 100)
	lo, carry := bits.Add64(lo, MB/2, 0)
	hi += carry
	return hi<<(64-20) | lo>>20 // (b×100 + MB/2) / MB
}

// appendHundredths appends q hundredths as a decimal with two places (5
// is "0.05", 12345 is "123.45"): what strconv.AppendFloat(b, float64(q)/100,
// 'f', 2, 64) appends for every q below 2^51 (the float is the one nearest
// to q/100, far closer to it than the 0.005 that would change a digit),
// without formatting a float.
func appendHundredths(b []byte, q uint64) []byte {
	b = strconv.AppendUint(b, q/100, 10)
	return append(b, '.', byte('0'+q%100/10), byte('0'+q%10))
}
