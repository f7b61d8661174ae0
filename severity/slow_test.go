package severity

import (
	"math/big"
	"math/rand/v2"
)

// This file holds slow, obvious reference implementations, written with
// math/big, for differential tests.

// slowMatches is Rule.Matches in arbitrary precision.
func slowMatches(r Rule, up, down uint64) bool {
	u := new(big.Int).SetUint64(up)
	need := new(big.Int).Mul(new(big.Int).SetUint64(r.Ratio), new(big.Int).SetUint64(down))
	return u.Cmp(need) >= 0 && up >= r.MinUploadBytes
}

// slowEvaluate is Evaluate built on slowMatches.
func slowEvaluate(p *Policy, up, down uint64) (Level, int) {
	for l := Critical; l >= Low; l-- {
		for i, r := range p.rules(l) {
			if slowMatches(r, up, down) {
				return l, i
			}
		}
	}
	return None, -1
}

// roundHalfUpHundredths returns floor(x×100 + 1/2) for x >= 0.
func roundHalfUpHundredths(x *big.Rat) *big.Int {
	y := new(big.Rat).Mul(x, big.NewRat(100, 1))
	y.Add(y, big.NewRat(1, 2))
	return new(big.Int).Quo(y.Num(), y.Denom()) // non-negative, so Quo floors
}

// slowUploadRatio is UploadRatio with big.Rat.
func slowUploadRatio(up, down uint64) string {
	if down == 0 {
		return "999.99"
	}
	q := roundHalfUpHundredths(new(big.Rat).SetFrac(new(big.Int).SetUint64(up), new(big.Int).SetUint64(down)))
	if q.Cmp(big.NewInt(99999)) > 0 {
		q.SetInt64(99999)
	}
	return new(big.Rat).SetFrac(q, big.NewInt(100)).FloatString(2)
}

// slowMegabytes is Megabytes with big.Rat.
func slowMegabytes(b uint64) string {
	q := roundHalfUpHundredths(new(big.Rat).SetFrac(new(big.Int).SetUint64(b), big.NewInt(MB)))
	return new(big.Rat).SetFrac(q, big.NewInt(100)).FloatString(2)
}

// slowDoublings returns the largest k <= 5 with a >= b×2^k (a >= b given).
func slowDoublings(a, b *big.Int) int {
	k := 0
	for k < 5 && a.Cmp(new(big.Int).Lsh(b, uint(k+1))) >= 0 {
		k++
	}
	return k
}

// newRand returns a deterministic generator for tests.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
