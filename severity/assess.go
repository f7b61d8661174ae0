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
// Assess does not check it. Assess allocates its reasons; on the hot path
// use [Evaluate] first and call Assess for aggregates that alert.
func Assess(p Policy, in Input) Assessment {
	level, _ := Evaluate(&p, in.Upload, in.Download)
	if in.IOCMatches > 0 {
		a := Assessment{Level: Critical, Confidence: IOCConfidence, Rule: IOCRule}
		n := "1 IOC match"
		if in.IOCMatches > 1 {
			n = strconv.Itoa(in.IOCMatches) + " IOC matches"
		}
		a.Reasons = append(a.Reasons, n+" on the destination: critical whatever the ratio and volume, confidence 0.99")
		if level != None {
			r, _, _ := bestRule(p.rules(level), in.Upload, in.Download)
			a.Reasons = append(a.Reasons, "behaviour alone: "+ruleReason(level, r, in))
		}
		return a
	}
	if level == None {
		return Assessment{Reasons: []string{"no rule met: ratio " + ratioText(in.Upload, in.Download) +
			", upload " + amount(in.Upload, MB)}}
	}

	r, rp, vp := bestRule(p.rules(level), in.Upload, in.Download)
	a := Assessment{Level: level, Rule: level.String() + ": " + r.String(), Reasons: make([]string, 0, 12)}
	points := basePoints[level]
	a.Reasons = append(a.Reasons, ruleReason(level, r, in)+", base "+pointsText(points))
	add := func(pts int, why string) {
		points += pts
		sign := "+"
		if pts < 0 {
			sign, pts = "-", -pts
		}
		a.Reasons = append(a.Reasons, why+": "+sign+pointsText(pts))
	}

	if rp > 0 {
		if in.Download == 0 {
			add(rp, "nothing downloaded (ratio unbounded)")
		} else {
			add(rp, "ratio at least "+strconv.Itoa(1<<rp)+"x the rule's "+strconv.FormatUint(r.Ratio, 10)+":1")
		}
	}
	if vp > 0 {
		add(vp, "upload at least "+strconv.Itoa(1<<vp)+"x the rule's "+amount(r.MinUploadBytes, r.MinUploadBytes))
	}
	switch n := strconv.FormatUint(in.FlowCount, 10); {
	case in.FlowCount >= 100:
		add(flowsPoints100, "sustained: "+n+" flow records (>= 100)")
	case in.FlowCount >= 10:
		add(flowsPoints10, "sustained: "+n+" flow records (>= 10)")
	}
	if in.UniqueFlows >= 10 {
		add(uniquePoints, strconv.FormatUint(in.UniqueFlows, 10)+" distinct connections (>= 10)")
	}
	if in.OffHours {
		add(offHoursPoints, "upload outside working hours")
	}
	switch n := strconv.Itoa(in.BlastRadius); {
	case in.BlastRadius >= 10:
		add(blastPoints10, n+" internal sources upload to this destination (>= 10)")
	case in.BlastRadius >= 3:
		add(blastPoints3, n+" internal sources upload to this destination (>= 3)")
	}
	if in.FirstSeenDest {
		add(firstSeenPoints, "first contact between this source and destination")
	}
	if in.BaselineMultiple >= 5 {
		add(baselinePoints, "upload "+strconv.FormatFloat(in.BaselineMultiple, 'f', 1, 64)+"x the source's baseline (>= 5x)")
	}
	if in.FlowCount <= 1 {
		add(singleFlowPoints, "single flow record: thin evidence")
	}

	if points > maxPoints {
		points = maxPoints
		a.Reasons = append(a.Reasons, "behavioural confidence capped at "+pointsText(maxPoints))
	}
	a.Confidence = float64(points) / 100
	return a
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

// ruleReason explains why the flow meets rule r of level l, as
// "ratio 12.00:1 >= 10:1 and upload 120.00 MB >= 100.00 MB: critical rule".
func ruleReason(l Level, r Rule, in Input) string {
	return "ratio " + ratioText(in.Upload, in.Download) + " >= " + strconv.FormatUint(r.Ratio, 10) +
		":1 and upload " + amount(in.Upload, r.MinUploadBytes) + " >= " + amount(r.MinUploadBytes, r.MinUploadBytes) +
		": " + l.String() + " rule"
}

// ratioText shows the upload ratio with two decimals.
func ratioText(up, down uint64) string {
	s := strconv.FormatFloat(UploadRatio(up, down), 'f', 2, 64) + ":1"
	if down == 0 {
		s += " (nothing downloaded)"
	}
	return s
}

// amount shows n bytes in MB with two decimals ("120.00 MB"), or in bytes
// ("1500 B") when the threshold it is compared with is below 1 MB, where
// MB would round the comparison away.
func amount(n, threshold uint64) string {
	if threshold < MB {
		return strconv.FormatUint(n, 10) + " B"
	}
	return strconv.FormatFloat(Megabytes(n), 'f', 2, 64) + " MB"
}

// pointsText shows hundredths as a decimal: 5 is "0.05", 80 is "0.80".
func pointsText(p int) string {
	s := strconv.Itoa(100 + p%100)[1:]
	return strconv.Itoa(p/100) + "." + s
}
