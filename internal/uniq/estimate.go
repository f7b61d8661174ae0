package uniq

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// alphaInf is the HyperLogLog bias constant for m → ∞: 1/(2 ln 2).
var alphaInf = 1 / (2 * math.Ln2)

// histogram fills c with C, where C[k] is the number of registers equal to
// k.
//
// Most registers of a sketch with up to some thousands of values are 0:
// eight of them are read at once and their zero bytes counted with bit
// arithmetic, so the loop does not wait on c[0]'s increment for every
// register.
func (r *registers) histogram(c *[64]int) {
	*c = [64]int{}
	zeros := 0
	for i := 0; i < len(r); i += 8 {
		w := binary.LittleEndian.Uint64(r[i:])
		if w == 0 {
			zeros += 8
			continue
		}
		// 0x80 in each zero byte of w, counted at once; the others one by one.
		const lo7, hi1 = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
		z := ^(((w & lo7) + lo7) | w | lo7)
		if z == 0 { // a full sketch: no zero byte
			for _, v := range r[i : i+8] {
				c[v&63]++
			}
			continue
		}
		zeros += bits.OnesCount64(z)
		for nz := ^z & hi1; nz != 0; nz &= nz - 1 {
			c[w>>(bits.TrailingZeros64(nz)&^7)&63]++
		}
	}
	c[0] += zeros
}

// estimate returns the cardinality estimate of Ertl's improved raw
// estimator (Ertl 2017, algorithm 6), which needs no empirical bias
// correction and no switch to linear counting at small cardinalities:
//
//	z = m·τ(1 − C[q+1]/m);  z = (z + C[k])/2 for k = q … 1;  z += m·σ(C[0]/m)
//	E = α∞·m²/z
//
// It is +Inf when every register holds q+1 and 0 when all are zero.
func (r *registers) estimate() float64 {
	var c [64]int
	r.histogram(&c)
	const m = float64(numRegs)
	z := m * tau(1-float64(c[maxRank])/m)
	for k := rankBits; k >= 1; k-- {
		z = 0.5 * (z + float64(c[k]))
	}
	z += m * sigma(float64(c[0])/m)
	return alphaInf * m * m / z
}

// sigma is σ(x) = x + Σ_{k≥1} x^(2^k)·2^(k−1), the correction for registers
// that are still zero. It iterates until the sum stops changing.
func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

// tau is τ(x) = (1/3)·(1 − x − Σ_{k≥1} (1 − x^(2^−k))²·2^−k), the
// correction for registers that hold the largest rank q+1.
func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		d := 1 - x
		z -= d * d * y
		if z == prev {
			return z / 3
		}
	}
}
