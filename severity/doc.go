// Package severity maps an aggregate's upload and download volumes, its IOC
// matches and its context signals to a severity [Level] and an explained
// confidence: the severity ladder and the confidence model of exfilscore
// (SPEC §3, §4). It is pure: no I/O, no clock, no global state, apart from
// [LoadPolicy], which reads a ladder from an [io.Reader].
//
// Main types and functions:
//
//   - [Level]: None, Low, Medium, High, Critical; text form "high".
//   - [Rule] and [Policy]: the ladder; [DefaultPolicy] is SPEC §4,
//     [LoadPolicy] reads one from JSON, [Policy.Validate] checks one.
//   - [Evaluate]: the level alone, without allocation, for the hot path.
//   - [Assess]: level, confidence, reasons and rule for an [Input].
//   - [UploadRatio] and [Megabytes]: the two-decimal display values of
//     SPEC §3, rounded exactly in integer arithmetic.
//
// Typical use: screen every aggregate cheaply, explain the ones that alert.
//
//	p, err := severity.LoadPolicy(file) // or severity.DefaultPolicy()
//	...
//	if level, _ := severity.Evaluate(&p, up, down); level >= minLevel || iocMatches > 0 {
//		a := severity.Assess(p, severity.Input{Upload: up, Download: down, FlowCount: n, IOCMatches: iocMatches})
//		fmt.Println(a.Level, a.Confidence, a.Rule, a.Reasons)
//	}
//
// Every function is safe for concurrent use; a [Policy] is a plain value
// that may be shared by goroutines as long as none mutates it.
//
// # The ladder
//
// A flow (or aggregate) with upload U and download D bytes meets a [Rule]
// when U >= Ratio×D and U >= MinUploadBytes, both inclusive, computed
// exactly in 128-bit integers (never through the rounded ratio); D = 0
// meets every ratio. The rungs are tried from Critical down and the first
// rung with a matching rule gives the level; no match is [None]. 1 MB is
// 1,048,576 bytes ([MB]).
//
// # The confidence model (contract)
//
// An IOC match decides alone: if Input.IOCMatches > 0, the level is
// Critical and the confidence exactly 0.99 ([IOCConfidence]) whatever the
// ratio and volume; the reasons name the match and, when the ladder alone
// would also alert, the ladder rule; [Assessment.Rule] is [IOCRule].
//
// Otherwise the ladder gives the level L; if L is None the confidence is 0
// (the one reason gives the ratio and upload that failed). Else the
// confidence is computed in hundredths, so it has exactly two decimals and
// the reasons add up to it:
//
//	confidence = min(0.95, base(L) + ratio + volume + flows + distinct
//	                       + offhours + blast + firstseen + baseline − thin)
//
// with, from the rule R of rung L that the aggregate exceeds most (most
// ratio + volume points, the first in the rung on ties, named in
// [Assessment.Rule]):
//
//	base(L)    low 0.40, medium 0.55, high 0.70, critical 0.80
//	ratio      0.01 per doubling of the ratio over R.Ratio: 0.01×k for the
//	           largest k <= 5 with U >= R.Ratio×D×2^k (0.05 when D = 0)
//	volume     0.01×k for the largest k <= 5 with U >= R.MinUploadBytes×2^k
//	flows      0.04 if FlowCount >= 100, else 0.02 if FlowCount >= 10
//	distinct   0.02 if UniqueFlows >= 10
//	offhours   0.05 if OffHours
//	blast      0.08 if BlastRadius >= 10, else 0.06 if BlastRadius >= 3
//	firstseen  0.04 if FirstSeenDest
//	baseline   0.05 if BaselineMultiple >= 5
//	thin       0.05 if FlowCount <= 1 (a single flow record, or unknown)
//
// Every term that applied is one entry of [Assessment.Reasons], in this
// order, after the rule itself; the cap, when it applies, is one more.
// Consequences callers may rely on:
//
//   - behavioural confidence is in [0.35, 0.95]: above 0 and below 0.99,
//     so an IOC match always outranks behaviour;
//   - a positive signal (more upload, less download, more flows or
//     distinct flows, off-hours, a larger blast radius, a first-seen
//     destination, a larger baseline multiple) never lowers the level or
//     the confidence: the excess bonuses of a rung (at most 0.10) never
//     exceed the gap to the next rung's base (at least 0.10);
//   - the same Input and Policy always give the same Assessment.
package severity
