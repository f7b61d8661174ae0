package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/goflowpb"
	"github.com/exfilscore/exfilscore/flowsrc/suricata"
)

// Replay formats, detected from a file's first bytes (after gzip).
const (
	formatPcap     = "pcap"
	formatEVE      = "suricata-eve"
	formatZeek     = "zeek-conn"
	formatGoflowPB = "goflow2-protobuf"
	formatEmpty    = "empty"
)

// sniffLen is how much of a file detection looks at.
const sniffLen = 4096

// openInput opens path, undoes a gzip layer, and names the format of what
// is inside.
func openInput(path string) (io.Reader, string, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, "", nil, fmt.Errorf("%s: %w", path, err)
		}
		br = bufio.NewReaderSize(zr, 1<<16)
		r = br
	}
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		f.Close()
		return nil, "", nil, fmt.Errorf("%s: %w", path, err)
	}
	format := sniffFormat(head)
	if len(head) == 0 {
		format = formatEmpty // nothing to replay (a sensor that saw no traffic)
	}
	if format == "" {
		f.Close()
		return nil, "", nil, fmt.Errorf("%s: not a pcap/pcapng capture, Suricata EVE JSON, Zeek conn.log or goflow2 protobuf file", path)
	}
	return r, format, f.Close, nil
}

// sniffFormat names the format of a file from its first bytes, "" when
// none fits.
func sniffFormat(head []byte) string {
	if len(head) >= 4 {
		switch m := [4]byte(head[:4]); {
		case m == [4]byte{0xa1, 0xb2, 0xc3, 0xd4}, m == [4]byte{0xd4, 0xc3, 0xb2, 0xa1},
			m == [4]byte{0xa1, 0xb2, 0x3c, 0x4d}, m == [4]byte{0x4d, 0x3c, 0xb2, 0xa1},
			m == [4]byte{0x0a, 0x0d, 0x0d, 0x0a}:
			return formatPcap
		}
	}
	switch {
	case suricata.Sniff(head):
		return formatEVE
	case sniffZeek(head):
		return formatZeek
	case goflowpb.Sniff(head):
		return formatGoflowPB
	}
	return ""
}

// recordSource is a reader of flow records (Suricata, Zeek, goflow2).
type recordSource interface {
	Next(*flowsrc.Record) error
}

// pump reads every record of src into emit. Errors that concern one
// record or line are counted by the source and skipped; others stop it.
func pump(src recordSource, emit func(*flowsrc.Record), skippable func(error) bool) error {
	var rec flowsrc.Record
	for {
		err := src.Next(&rec)
		switch {
		case err == io.EOF:
			return nil
		case err != nil && skippable(err):
			continue
		case err != nil:
			return err
		}
		emit(&rec)
	}
}

// replayRecords replays a record file of the given format into emit and
// logs what its reader counted.
func (a *app) replayRecords(r io.Reader, path, format string, emit func(*flowsrc.Record)) error {
	start := time.Now()
	switch format {
	case formatEVE:
		sr := suricata.NewReader(r, suricata.WithPDNS(a.names))
		err := pump(sr, emit, func(error) bool { return false })
		st := sr.Stats()
		a.log.Info("eve read", "lines", st.Lines, "records", st.Records, "tls", st.TLS, "http", st.HTTP, "dns", st.DNS,
			"joined", st.Joined, "malformed", st.Malformed, "skipped_types", len(st.Skipped), "elapsed", time.Since(start))
		for _, le := range st.MalformedLines {
			a.log.Warn("eve malformed line", "err", le.Error())
		}
		return err
	case formatZeek:
		return a.replayZeek(r, path, emit)
	case formatGoflowPB:
		gr := goflowpb.NewReader(r)
		var first error
		err := pump(gr, emit, func(err error) bool {
			if errors.Is(err, goflowpb.ErrMalformed) || errors.Is(err, goflowpb.ErrNotFlow) {
				if first == nil {
					first = err
				}
				return true
			}
			return false
		})
		st := gr.Stats()
		a.log.Info("goflow2 protobuf read", "messages", st.Messages, "records", st.Records, "not_flow", st.NotFlow,
			"malformed", st.Malformed, "bytes", st.Bytes, "elapsed", time.Since(start))
		if first != nil {
			a.log.Warn("goflow2 protobuf: first malformed message", "err", first)
		}
		return err
	}
	return fmt.Errorf("no reader for format %q", format)
}

// hasPrefix reports whether b starts with s.
func hasPrefix(b []byte, s string) bool { return bytes.HasPrefix(b, []byte(s)) }
