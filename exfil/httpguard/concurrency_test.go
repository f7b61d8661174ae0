package httpguard_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/severity"
)

// everything is a ladder on which any traffic with upload >= download
// alerts (low), and 1 MiB of it is medium.
var everything = severity.Policy{
	Medium: []severity.Rule{{Ratio: 1, MinUploadBytes: mib}},
	Low:    []severity.Rule{{Ratio: 1, MinUploadBytes: 1}},
}

// Many clients at once, some contained and cut, while the clock turns
// windows over under them: every byte and request the handlers saw is in
// exactly one final alert.
func TestConcurrentNoByteUnreported(t *testing.T) {
	clk := newClock(t0)
	g, sink := newGuard(t, httpguard.WithClock(clk.Now), httpguard.WithWindow(time.Minute),
		httpguard.WithPolicy(everything), httpguard.WithBlock(severity.Medium))
	var bodyRead atomic.Uint64
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nr, _ := io.Copy(io.Discard, r.Body)
		bodyRead.Add(uint64(nr))
		n := len(r.URL.Path) * 997 // 1 to 20 writes of a few KiB
		for i := 0; i < n/4096+1; i++ {
			if _, err := w.Write(make([]byte, 4096)); err != nil {
				return
			}
		}
	}))

	const workers, perWorker = 16, 150
	var wantUp, wantDown, requests atomic.Uint64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < perWorker; i++ {
				if i%10 == 0 { // the clock turns a window every 60 steps
					clk.Advance(time.Second)
				}
				var body io.Reader
				method, bodyLen := "GET", 0
				if rng.IntN(4) == 0 {
					method, bodyLen = "POST", rng.IntN(3000)+1
					body = bytes.NewReader(make([]byte, bodyLen))
				}
				path := "/" + strings.Repeat("p", rng.IntN(20)+1)
				r := httptest.NewRequest(method, path, body)
				r.RemoteAddr = fmt.Sprintf("203.0.113.%d:%d", rng.IntN(8), 1000+w)
				if bodyLen == 0 {
					r.Body = http.NoBody
				}
				rec := newRecorder()
				func() {
					defer func() {
						if v := recover(); v != nil && v != http.ErrAbortHandler {
							panic(v)
						}
					}()
					h.ServeHTTP(rec, r)
				}()
				requests.Add(1)
				wantDown.Add(uint64(requestHead(r)))
				if rec.Code != 0 {
					wantUp.Add(uint64(responseHead(t, rec.Code, rec.h)) + uint64(rec.Bytes))
				}
			}
		}()
	}
	wg.Wait()
	wantDown.Add(bodyRead.Load())
	g.Flush()

	st := g.Stats()
	if st.Requests != requests.Load() || st.UploadBytes != wantUp.Load() || st.DownloadBytes != wantDown.Load() {
		t.Errorf("stats: %d requests, %d up, %d down; handlers saw %d, %d, %d",
			st.Requests, st.UploadBytes, st.DownloadBytes, requests.Load(), wantUp.Load(), wantDown.Load())
	}
	var up, down, flows uint64
	for _, a := range sink.stage("final") {
		up += a.TotalUploadBytes
		down += a.TotalDownloadBytes
		flows += a.FlowCount
	}
	// A request in flight when its window closed counts in the next one too.
	if up != wantUp.Load() || down != wantDown.Load() || flows < requests.Load() || flows > requests.Load()+requests.Load()/10 {
		t.Errorf("final alerts: %d up, %d down, %d requests; want %d, %d, %d (or a few more)",
			up, down, flows, wantUp.Load(), wantDown.Load(), requests.Load())
	}
	if st.Windows < 2 || st.Contained == 0 || st.Refused == 0 {
		t.Errorf("the test did not exercise window turns and containment: %+v", st)
	}
}

// requestHead renders r's request line and header block as a client sends
// it.
func requestHead(r *http.Request) int {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s\r\nHost: %s\r\n", r.Method, r.RequestURI, r.Proto, r.Host)
	r.Header.Write(&b)
	b.WriteString("\r\n")
	return b.Len()
}

// Many keep-alive clients against a loopback server: the guard's totals
// are the wire's.
func TestConcurrentLoopbackClients(t *testing.T) {
	g, _ := newGuard(t)
	data := payload(20000, 11)
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fixedHeaders(w, len(data)-int(n%100))
		w.Write(data[:len(data)-int(n%100)])
	}))
	const clients, each = 12, 25
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			for i := 0; i < each; i++ {
				resp, err := cl.Post(ws.URL+"/up", "application/octet-stream", bytes.NewReader(data[:c*10+i]))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := 0; i < clients*each; i++ {
		ws.wait(t)
	}
	if st := g.Stats(); st.Requests != clients*each {
		t.Errorf("%d requests", st.Requests)
	}
	checkWire(t, g, ws, 0)
}
