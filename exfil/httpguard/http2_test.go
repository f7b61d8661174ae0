package httpguard_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync/atomic"
	"testing"

	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/severity"
)

// Over HTTP/2 the writer is no Hijacker, bodies count their DATA payload
// exactly, and a cut resets the stream while the connection lives on.
func TestHTTP2CutResetsStream(t *testing.T) {
	g, _ := newGuard(t, httpguard.WithBlock(severity.Low))
	var hijacker atomic.Bool
	var writeErr atomic.Value
	srv := httptest.NewUnstartedServer(g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := w.(http.Hijacker)
		hijacker.Store(ok)
		if r.URL.Path == "/small" {
			w.Write(make([]byte, 1000))
			return
		}
		for i := 0; i < 64; i++ {
			if _, err := w.Write(make([]byte, 128<<10)); err != nil {
				writeErr.Store(err)
				return
			}
		}
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	cl := srv.Client()

	resp, err := cl.Get(srv.URL + "/small")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || hijacker.Load() {
		t.Fatalf("proto %s, hijacker %v", resp.Proto, hijacker.Load())
	}
	before := g.Stats().UploadBytes

	resp, err = cl.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil || n >= 8*mib {
		t.Fatalf("read %d bytes, err %v: want a reset stream", n, err)
	}
	if err, _ := writeErr.Load().(error); !errors.Is(err, httpguard.ErrContained) {
		t.Errorf("handler's write error %v", err)
	}
	up := g.Stats().UploadBytes - before
	if up < uint64(n) || up > uint64(n)+2*mib {
		t.Errorf("counted %d for a cut stream the client read %d of", up, n)
	}

	reused := false
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(),
		&httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}), "GET", srv.URL+"/small", nil)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || !reused {
		t.Errorf("after the cut: %d, connection reused %v", resp.StatusCode, reused)
	}
}
