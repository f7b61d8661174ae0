package exfil_test

import (
	"net/netip"
	"os"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc"
)

// A Detector fed both directions of one HTTPS conversation: 120 MB up,
// 4 MB down in one quarter hour is critical.
func ExampleDetector() {
	d, err := exfil.New(exfil.WithSink(exfil.NewJSONLines(os.Stdout)))
	if err != nil {
		panic(err)
	}
	end := time.Date(2026, 11, 2, 2, 7, 0, 0, time.UTC)
	up := flowsrc.Record{
		Start: end.Add(-time.Minute), End: end,
		Src: netip.MustParseAddr("10.0.0.5"), SrcPort: 51000,
		Dst: netip.MustParseAddr("198.51.100.7"), DstPort: 443, Proto: 6,
		BytesToServer: 120 << 20, PktsToServer: 90000,
	}
	down := flowsrc.Record{
		Start: up.Start, End: end,
		Src: up.Dst, SrcPort: 443, Dst: up.Src, DstPort: 51000, Proto: 6,
		BytesToServer: 4 << 20, PktsToServer: 3000,
	}
	d.Observe(&up)
	d.Observe(&down)
	d.Flush() // end of input: close every window
	// Output:
	// {"alert_id":"f762348204f93d93274729ff9f27706a","stage":"final","alert_type":"data_exfiltration","severity":"critical","confidence":0.81,"src_ip":"10.0.0.5","dest_ip":"198.51.100.7","dest_port":443,"proto":"TCP","app_proto":"","window_start":"2026-11-02T02:00:00Z","window_end":"2026-11-02T02:15:00Z","flow_count":2,"unique_flows":1,"total_upload_bytes":125829120,"total_download_bytes":4194304,"upload_mb":120,"download_mb":4,"upload_ratio":30,"iocs_checked":0,"malicious_iocs":0,"c2":{"matches":[]},"community_id":"1:vC5lhgrr87iIpVbiIKusFUoBcXE=","reasons":["ratio 30.00:1 >= 10:1 and upload 120.00 MB >= 100.00 MB: critical rule, base 0.80","ratio at least 2x the rule's 10:1: +0.01"],"rule":"critical: ratio>=10:1 and upload>=100MB","first_seen":"2026-11-02T02:06:00Z","last_seen":"2026-11-02T02:07:00Z","upload_packets":90000,"download_packets":3000,"blast_radius":1,"pcr":0.94}
}
