package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// running program.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// alerts parses stdout, which must hold JSON alerts and nothing else.
func alerts(t *testing.T, out string) []exfil.Alert {
	t.Helper()
	var as []exfil.Alert
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var a exfil.Alert
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("stdout line is not an alert: %q: %v", line, err)
		}
		as = append(as, a)
	}
	return as
}

func TestDemo(t *testing.T) {
	var stdout, stderr syncBuffer
	if code := run(context.Background(), []string{"-demo"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	as := alerts(t, stdout.String())
	var contained, finals int
	for _, a := range as {
		if a.AppProto != "http" || a.HTTP == nil || a.Principal == "" {
			t.Errorf("alert %+v", a)
		}
		if a.Principal == "alice" && a.HTTP.Contained {
			contained++
		}
		if a.Stage == "final" {
			finals++
		}
	}
	if contained == 0 || finals != 2 {
		t.Errorf("%d alerts of alice contained, %d finals\n%s", contained, finals, stdout.String())
	}
	for _, want := range []string{"refused, 429", "cut after", "bob, download 1: 200", `"httpguard_summary"`, "demo: ok"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

// start runs the program with args until the returned stop is called; it
// returns the address it listens on.
func start(t *testing.T, args ...string) (addr string, stdout, stderr *syncBuffer, stop func() int) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), stdout, stderr) }()
	re := regexp.MustCompile(`msg="httpguard: listening" addr=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("exited %d before listening:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("not listening")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return addr, stdout, stderr, func() int {
		cancel()
		return <-done
	}
}

// Serving a directory: a download's bytes are reported when the program
// stops (the open window is flushed).
func TestServingFlushOnShutdown(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.bin"), make([]byte, 3<<20), 0o600)
	addr, stdout, stderr, stop := start(t, "-dir", dir)
	resp, err := http.Get("http://" + addr + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if code := stop(); code != 0 || n != 3<<20 {
		t.Fatalf("exit %d, %d bytes\n%s", code, n, stderr.String())
	}
	as := alerts(t, stdout.String())
	if len(as) != 2 || as[1].Stage != "final" || as[1].TotalUploadBytes < 3<<20 || as[1].HTTP.PathPrefix != "/a.bin" {
		t.Fatalf("alerts %+v", as)
	}
	if !strings.Contains(stderr.String(), `"upload_bytes":`) {
		t.Errorf("no summary:\n%s", stderr.String())
	}
}

// Egress as a forward proxy: an HTTPS upload through a CONNECT tunnel is
// counted on the hijacked connection and contained.
func TestEgressConnectTunnel(t *testing.T) {
	var received int64
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received += n
	}))
	defer target.Close()
	addr, stdout, stderr, stop := start(t, "-mode", "egress", "-block", "low")
	proxyURL, _ := url.Parse("http://" + addr)
	tr := target.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxyURL)
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := cl.Post(target.URL+"/drop", "application/octet-stream", bytes.NewReader(make([]byte, 3<<20)))
	if err == nil {
		resp.Body.Close()
		t.Errorf("the upload went through: %d, %d bytes received", resp.StatusCode, received)
	}
	tr.CloseIdleConnections()
	if code := stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	as := alerts(t, stdout.String())
	var final *exfil.Alert
	for i := range as {
		if as[i].Stage == "final" {
			final = &as[i]
		}
	}
	targetPort := target.Listener.Addr().String()[strings.LastIndexByte(target.Listener.Addr().String(), ':')+1:]
	if final == nil || final.HTTP.Method != "CONNECT" || fmt.Sprint(final.DestPort) != targetPort ||
		final.DestIP.String() != "127.0.0.1" || final.HTTP.Cut != 1 || final.TotalUploadBytes < 1<<20 || final.TotalUploadBytes > 3<<20 {
		t.Fatalf("final alert %+v %+v\n%s", final, final.HTTP, stderr.String())
	}
	if !strings.Contains(stderr.String(), `"hijacked":1`) {
		t.Errorf("summary:\n%s", stderr.String())
	}
}

// Egress as a reverse proxy to -upstream: the destination is the upstream.
func TestEgressUpstream(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer upstream.Close()
	addr, stdout, stderr, stop := start(t, "-mode", "egress", "-upstream", upstream.URL)
	resp, err := http.Post("http://"+addr+"/v1/upload", "application/octet-stream", bytes.NewReader(make([]byte, 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := stop(); code != 0 || resp.StatusCode != 200 {
		t.Fatalf("exit %d, status %d\n%s", code, resp.StatusCode, stderr.String())
	}
	as := alerts(t, stdout.String())
	up := upstream.Listener.Addr().String()
	if len(as) != 2 || as[1].DestIP.String()+":"+fmt.Sprint(as[1].DestPort) != up || as[1].HTTP.Host != up ||
		as[1].HTTP.Mode != "egress" || as[1].TotalUploadBytes < 2<<20 {
		t.Fatalf("alerts %+v", as)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "sideways"}, {"-block", "severe"}, {"-scope", "everyone"}, {"-window", "7m"},
		{"-mode", "egress", "-upstream", "ftp://x"}, {"-trusted-proxies", "10.0.0.0/33"}, {"extra"},
		{"-proxy-header", "via", "-trusted-proxies", "10.0.0.0/8"}, {"-policy", "/nonexistent"},
	} {
		var stdout, stderr syncBuffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 || stdout.String() != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout.String(), stderr.String())
		}
	}
}
