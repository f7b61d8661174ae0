package severity_test

import (
	"fmt"
	"strings"

	"github.com/exfilscore/exfilscore/severity"
)

func ExampleAssess() {
	a := severity.Assess(severity.DefaultPolicy(), severity.Input{
		Upload:      120 * severity.MB,
		Download:    10 * severity.MB,
		FlowCount:   14,
		UniqueFlows: 3,
		OffHours:    true,
		BlastRadius: 1,
	})
	fmt.Println(a.Level, a.Confidence)
	fmt.Println(a.Rule)
	for _, r := range a.Reasons {
		fmt.Println("-", r)
	}

	ioc := severity.Assess(severity.DefaultPolicy(), severity.Input{IOCMatches: 1})
	fmt.Println(ioc.Level, ioc.Confidence, ioc.Rule)
	// Output:
	// critical 0.87
	// critical: ratio>=10:1 and upload>=100MB
	// - ratio 12.00:1 >= 10:1 and upload 120.00 MB >= 100.00 MB: critical rule, base 0.80
	// - sustained: 14 flow records (>= 10): +0.02
	// - upload outside working hours: +0.05
	// critical 0.99 ioc
}

func ExampleEvaluate() {
	p := severity.DefaultPolicy()
	for _, f := range []struct{ up, down uint64 }{
		{100 * severity.MB, 10 * severity.MB},   // 10:1 and 100 MB
		{100*severity.MB - 1, 10 * severity.MB}, // just under 10:1
		{200 * severity.MB, 100 * severity.MB},  // 2:1 and 200 MB
		{severity.MB, 0},                        // nothing downloaded
		{severity.MB - 1, 0},                    // under 1 MB
	} {
		level, rule := severity.Evaluate(&p, f.up, f.down)
		fmt.Println(level, rule)
	}
	// Output:
	// critical 0
	// high 0
	// high 1
	// low 0
	// none -1
}

func ExampleLoadPolicy() {
	p, err := severity.LoadPolicy(strings.NewReader(`{
		"high":   [{"ratio": 5, "min_upload_bytes": "50MB"}],
		"medium": [{"ratio": "3:1", "min_upload_bytes": "5MB"}],
		"low":    [{"ratio": 2, "min_upload_bytes": 1048576}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.High[0], "|", p.Medium[0], "|", p.Low[0])

	_, err = severity.LoadPolicy(strings.NewReader(`{"low": [{"ratio": 2, "min_upload_bytes": "1XB"}]}`))
	fmt.Println(err)
	// Output:
	// ratio>=5:1 and upload>=50MB | ratio>=3:1 and upload>=5MB | ratio>=2:1 and upload>=1MB
	// severity: invalid policy: line 1: low rule 0: min_upload_bytes "1XB": unknown unit "XB" (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)
}

func ExampleUploadRatio() {
	fmt.Println(severity.UploadRatio(2, 3))
	fmt.Println(severity.UploadRatio(1, 8))
	fmt.Println(severity.UploadRatio(5000, 0))
	fmt.Println(severity.UploadRatio(1_000_000, 1))
	// Output:
	// 0.67
	// 0.13
	// 999.99
	// 999.99
}

func ExampleMegabytes() {
	fmt.Printf("%.2f\n", severity.Megabytes(1048576))
	fmt.Printf("%.2f\n", severity.Megabytes(1048575))
	fmt.Printf("%.2f\n", severity.Megabytes(5*severity.MB/8))
	// Output:
	// 1.00
	// 1.00
	// 0.63
}

func ExampleParseLevel() {
	l, err := severity.ParseLevel("High")
	fmt.Println(l, err, l >= severity.Medium)
	_, err = severity.ParseLevel("severe")
	fmt.Println(err)
	// Output:
	// high <nil> true
	// severity: unknown level "severe"
}
