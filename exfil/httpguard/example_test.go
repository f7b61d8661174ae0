package httpguard_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/severity"
)

// Wrap a handler: a client that downloads 4 MiB exports is contained once
// it reaches high (10 MB at 5:1), and refused until the window ends.
func ExampleGuard() {
	files := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 4<<20)) // a 4 MiB export
	})
	sink := exfil.SinkFunc(func(a *exfil.Alert) {
		fmt.Printf("alert %s %s: %s took %.2f MB (contained %v, refused %d)\n",
			a.Stage, a.Severity, a.Principal, a.UploadMB, a.HTTP.Contained, a.HTTP.Blocked)
	})
	clock := func() time.Time { return time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC) } // for a reproducible example

	guard, err := httpguard.New(httpguard.WithSink(sink), httpguard.WithBlock(severity.High), httpguard.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	handler := guard.Handler(files) // then http.ListenAndServe(addr, handler); guard.Flush() at shutdown

	for i := 1; i <= 4; i++ {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest("GET", "/exports/q1.csv", nil)) // from 192.0.2.1
		fmt.Println("download", i, w.Code, w.Header()["Retry-After"])
	}
	guard.Flush()
	// Output:
	// alert early low: 192.0.2.1 took 4.00 MB (contained false, refused 0)
	// download 1 200 []
	// download 2 200 []
	// alert early high: 192.0.2.1 took 12.00 MB (contained true, refused 0)
	// download 3 200 []
	// download 4 429 [600]
	// alert final high: 192.0.2.1 took 12.00 MB (contained true, refused 1)
}
