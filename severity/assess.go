package severity

import (
	"math/bits"
	"strconv"
)

// Confidence bounds of the model (see the package documentation).
const (
	// IOCConfidence is the confidence of every IOC match.
	IOCConfidence = 0.99
	// MaxBehaviouralConfidence caps the confidence of an alert without an
	// IOC match, which therefore never reaches IOCConfidence.
	MaxBehaviouralConfidence = 0.95
)

// IOCRule is [Assessment.Rule] for an IOC match.
const IOCRule = "ioc"

// Input is everything the ladder and the confidence model look at: one
// aggregate's volumes and counts, its IOC matches and its context signals.
// For the context signals the zero value means unknown or absent, and
// never raises confidence.
type Input struct {
	// Upload and Download are the aggregate's client→server and
	// server→client bytes.
	Upload, Download uint64
	// FlowCount is the number of flow records; 0 is treated as 1.
	FlowCount uint64
	// UniqueFlows is the number of distinct 5-tuples.
	UniqueFlows uint64
	// IOCMatches is the number of IOC matches on the destination; any
	// value above 0 makes the aggregate critical.
	IOCMatches int
	// OffHours is true when the upload happened outside the source's
	// working hours.
	OffHours bool
	// BlastRadius is the number of distinct internal sources that
	// uploaded to this destination in the window (0 when unknown).
	BlastRadius int
	// FirstSeenDest is true when the source has never contacted this
	// destination before.
	FirstSeenDest bool
	// BaselineMultiple is the upload divided by the source's baseline
	// upload (0 when unknown; NaN is treated as unknown).
	BaselineMultiple float64
}

// Assessment is the verdict on one aggregate. It is a plain value.
type Assessment struct {
	// Level is the severity; None means no alert.
	Level Level
	// Confidence is in [0, 1] with two decimals: exactly IOCConfidence for
	// an IOC match, 0 for None, else in [0.35, MaxBehaviouralConfidence].
	Confidence float64
	// Reasons explains Level and Confidence, one human-readable entry per
	// rule, bonus or penalty that applied; never empty when Level > None.
	Reasons []string
	// Rule names the rule that set Level: [IOCRule] for an IOC match, else
	// the level and the ladder rule, as "high: ratio>=5:1 and
	// upload>=10MB"; empty for None.
	Rule string
}

// The model in hundredths ("points"); the package documentation is the
// contract and lists the same numbers.
const (
	maxExcessPoints  = 5  // per doubling over a rule threshold, ratio and volume each
	flowsPoints10    = 2  // FlowCount >= 10
	flowsPoints100   = 4  // FlowCount >= 100
	uniquePoints     = 2  // UniqueFlows >= 10
	offHoursPoints   = 5  // OffHours
	blastPoints3     = 6  // BlastRadius >= 3
	blastPoints10    = 8  // BlastRadius >= 10
	firstSeenPoints  = 4  // FirstSeenDest
	baselinePoints   = 5  // BaselineMultiple >= 5
	singleFlowPoints = -5 // FlowCount <= 1
	maxPoints        = 95 // MaxBehaviouralConfidence
)

// basePoints is the starting confidence of each level.
var basePoints = [...]int{None: 0, Low: 40, Medium: 55, High: 70, Critical: 80}

// Assess grades one aggregate against the ladder p and computes the
// confidence of the verdict, with its reasons, as the package
// documentation specifies. Any IOC match makes it critical with
// confidence [IOCConfidence]. p should be valid (see [Policy.Validate]);
// Assess does not check it. Assess allocates its rule and reasons (two
// allocations: one string they share, and the slice); on the hot path use
// [Evaluate] first and call Assess for aggregates that alert.
func Assess(p Policy, in Input) Assessment {
	level, _ := Evaluate(&p, in.Upload, in.Download)
	var buf [768]byte
	b := buf[:0]
	var t pieces
	if in.IOCMatches > 0 {
		if in.IOCMatches > 1 {
			b = strconv.AppendInt(b, int64(in.IOCMatches), 10)
			b = append(b, " IOC matches"...)
		} else {
			b = append(b, "1 IOC match"...)
		}
		b = append(b, " on the destination: critical whatever the ratio and volume, confidence 0.99"...)
		t.end(b)
		if level != None {
			r, _, _ := bestRule(p.rules(level), in.Upload, in.Download)
			b = append(b, "behaviour alone: "...)
			b = appendRuleReason(b, level, r, in)
			t.end(b)
		}
		return Assessment{Level: Critical, Confidence: IOCConfidence, Rule: IOCRule, Reasons: t.strings(b)}
	}
	if level == None {
		b = append(b, "no rule met: ratio "...)
		b = appendRatio(b, in.Upload, in.Download)
		b = append(b, ", upload "...)
		b = appendAmount(b, in.Upload, MB)
		t.end(b)
		return Assessment{Reasons: t.strings(b)}
	}

	r, rp, vp := bestRule(p.rules(level), in.Upload, in.Download)
	// The first piece is the rule, the others the reasons.
	b = append(b, level.String()...)
	b = append(b, ": "...)
	b = appendRule(b, r)
	t.end(b)
	points := basePoints[level]
	b = appendRuleReason(b, level, r, in)
	b = append(b, ", base "...)
	b = appendPoints(b, points)
	t.end(b)

	if rp > 0 {
		if in.Download == 0 {
			b = append(b, "nothing downloaded (ratio unbounded)"...)
		} else {
			b = append(b, "ratio at least "...)
			b = strconv.AppendInt(b, 1<<rp, 10)
			b = append(b, "x the rule's "...)
			b = strconv.AppendUint(b, r.Ratio, 10)
			b = append(b, ":1"...)
		}
		b = t.score(b, &points, rp)
	}
	if vp > 0 {
		b = append(b, "upload at least "...)
		b = strconv.AppendInt(b, 1<<vp, 10)
		b = append(b, "x the rule's "...)
		b = appendAmount(b, r.MinUploadBytes, r.MinUploadBytes)
		b = t.score(b, &points, vp)
	}
	if in.FlowCount >= 10 {
		b = append(b, "sustained: "...)
		b = strconv.AppendUint(b, in.FlowCount, 10)
		if in.FlowCount >= 100 {
			b = append(b, " flow records (>= 100)"...)
			b = t.score(b, &points, flowsPoints100)
		} else {
			b = append(b, " flow records (>= 10)"...)
			b = t.score(b, &points, flowsPoints10)
		}
	}
	if in.UniqueFlows >= 10 {
		b = strconv.AppendUint(b, in.UniqueFlows, 10)
		b = append(b, " distinct connections (>= 10)"...)
		b = t.score(b, &points, uniquePoints)
	}
	if in.OffHours {
		b = append(b, "upload outside working hours"...)
		b = t.score(b, &points, offHoursPoints)
	}
	if in.BlastRadius >= 3 {
		b = strconv.AppendInt(b, int64(in.BlastRadius), 10)
		if in.BlastRadius >= 10 {
			b = append(b, " internal sources upload to this destination (>= 10)"...)
			b = t.score(b, &points, blastPoints10)
		} else {
			b = append(b, " internal sources upload to this destination (>= 3)"...)
			b = t.score(b, &points, blastPoints3)
		}
	}
	if in.FirstSeenDest {
		b = append(b, "first contact between this source and destination"...)
		b = t.score(b, &points, firstSeenPoints)
	}
	if in.BaselineMultiple >= 5 {
		b = append(b, "upload "...)
		b = strconv.AppendFloat(b, in.BaselineMultiple, 'f', 1, 64)
		b = append(b, "x the source's baseline (>= 5x)"...)
		b = t.score(b, &points, baselinePoints)
	}
	if in.FlowCount <= 1 {
		b = append(b, "single flow record: thin evidence"...)
		b = t.score(b, &points, singleFlowPoints)
	}

	if points > maxPoints {
		points = maxPoints
		b = append(b, "behavioural confidence capped at "...)
		b = appendPoints(b, maxPoints)
		t.end(b)
	}
	all := t.strings(b)
	return Assessment{Level: level, Confidence: float64(points) / 100, Rule: all[0], Reasons: all[1:]}
}

// pieces are the texts of an Assessment, built in one buffer: each text
// is appended to it, then ended with end; strings cuts them out of one
// string.
type pieces struct {
	ends [16]int // where each text ends in the buffer
	n    int
}

func (t *pieces) end(b []byte) {
	t.ends[t.n] = len(b)
	t.n++
}

// score appends ": +0.05" to b for a reason that adds pts hundredths
// (removes, when negative) to *points, and ends the reason.
func (t *pieces) score(b []byte, points *int, pts int) []byte {
	*points += pts
	sign := byte('+')
	if pts < 0 {
		sign, pts = '-', -pts
	}
	b = appendPoints(append(b, ':', ' ', sign), pts)
	t.end(b)
	return b
}

// strings returns the texts of b, cut from one string.
func (t *pieces) strings(b []byte) []string {
	s := string(b)
	out := make([]string, t.n)
	start := 0
	for i, e := range t.ends[:t.n] {
		out[i], start = s[start:e], e
	}
	return out
}

// bestRule returns, among the rules of rs that the flow meets, the one it
// exceeds the most (most ratio plus volume points; the first on ties),
// with its ratio and volume points. rs must hold a matching rule.
// Choosing the best rule rather than the first keeps confidence
// non-decreasing in upload within a rung.
func bestRule(rs []Rule, up, down uint64) (best Rule, ratioPts, volumePts int) {
	bestSum := -1
	for _, r := range rs {
		if !r.Matches(up, down) {
			continue
		}
		rp, vp := ratioDoublings(r.Ratio, up, down), volumeDoublings(r.MinUploadBytes, up)
		if rp+vp > bestSum {
			best, ratioPts, volumePts, bestSum = r, rp, vp, rp+vp
		}
	}
	return best, ratioPts, volumePts
}

// ratioDoublings returns the largest k <= maxExcessPoints with
// up >= ratio × down × 2^k (maxExcessPoints when down is 0), given that
// the rule's ratio is met.
func ratioDoublings(ratio, up, down uint64) int {
	if down == 0 {
		return maxExcessPoints
	}
	hi, lo := bits.Mul64(ratio, down)
	if hi != 0 {
		return 0
	}
	k := 0
	for k < maxExcessPoints && lo>>(63-k) == 0 && up >= lo<<(k+1) {
		k++
	}
	return k
}

// volumeDoublings returns the largest k <= maxExcessPoints with
// up >= min × 2^k, given that up >= min.
func volumeDoublings(min, up uint64) int {
	k := 0
	for k < maxExcessPoints && min>>(63-k) == 0 && up >= min<<(k+1) {
		k++
	}
	return k
}

// appendRuleReason appends why the flow meets rule r of level l, as
// "ratio 12.00:1 >= 10:1 and upload 120.00 MB >= 100.00 MB: critical rule".
func appendRuleReason(b []byte, l Level, r Rule, in Input) []byte {
	b = append(b, "ratio "...)
	b = appendRatio(b, in.Upload, in.Download)
	b = append(b, " >= "...)
	b = strconv.AppendUint(b, r.Ratio, 10)
	b = append(b, ":1 and upload "...)
	b = appendAmount(b, in.Upload, r.MinUploadBytes)
	b = append(b, " >= "...)
	b = appendAmount(b, r.MinUploadBytes, r.MinUploadBytes)
	b = append(b, ": "...)
	b = append(b, l.String()...)
	return append(b, " rule"...)
}

// appendRatio appends the upload ratio with two decimals.
func appendRatio(b []byte, up, down uint64) []byte {
	b = appendHundredths(b, ratioHundredths(up, down))
	b = append(b, ":1"...)
	if down == 0 {
		b = append(b, " (nothing downloaded)"...)
	}
	return b
}

// appendAmount appends n bytes in MB with two decimals ("120.00 MB"), or
// in bytes ("1500 B") when the threshold it is compared with is below
// 1 MB, where MB would round the comparison away.
func appendAmount(b []byte, n, threshold uint64) []byte {
	if threshold < MB {
		b = strconv.AppendUint(b, n, 10)
		return append(b, " B"...)
	}
	b = appendHundredths(b, megabyteHundredths(n))
	return append(b, " MB"...)
}

// appendPoints appends hundredths as a decimal: 5 is "0.05", 80 is
// "0.80". p must not be negative.
func appendPoints(b []byte, p int) []byte { return appendHundredths(b, uint64(p)) }
