package goflowpb_test

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/goflowpb"
)

// Read a file written by `goflow2 -format=bin -transport.file=flows.bin`.
func ExampleReader() {
	f, err := os.Open("testdata/goflow2/flows-nl.bin")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	r := goflowpb.NewReader(f)
	var rec flowsrc.Record
	for {
		err := r.Next(&rec)
		if err == io.EOF {
			break
		}
		if errors.Is(err, goflowpb.ErrMalformed) {
			continue // skipped and counted; the next message follows
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if rec.SamplingRate == 100 {
			fmt.Println(rec.Src, "->", rec.Dst, rec.Proto, rec.BytesToServer, "bytes")
		}
	}
	st := r.Stats()
	fmt.Printf("%d messages: %d records, %d without IP addresses\n", st.Messages, st.Records, st.NotFlow)
	// Output:
	// 10.1.2.3 -> 203.0.113.9 6 12345600 bytes
	// 10.1.2.4 -> 198.51.100.53 17 7600 bytes
	// 10.1.2.5 -> 198.51.100.7 1 8400 bytes
	// 192.0.2.77 -> 10.1.2.3 1 5600 bytes
	// 16 messages: 15 records, 1 without IP addresses
}

// Decode a Kafka message value from goflow2's kafka transport
// (-format=bin): the message with its length prefix.
func ExampleDecode() {
	value := []byte{
		0x1d,             // length prefix: 29 bytes
		0xa0, 0x01, 0x06, // proto (field 20) 6
		0x32, 0x04, 10, 0, 0, 1, // src_addr 10.0.0.1
		0x3a, 0x04, 192, 0, 2, 7, // dst_addr 192.0.2.7
		0x48, 0xe8, 0x07, // bytes 1000
		0xf0, 0x06, 0x80, 0x80, 0x94, 0x8b, 0xf0, 0x82, 0x84, 0xd3, 0x17, // time_received_ns 2024-01-01
	}
	var rec flowsrc.Record
	if err := goflowpb.Decode(value, &rec); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Src, rec.Dst, rec.Proto, rec.BytesToServer, rec.End)
	// Output:
	// 10.0.0.1 192.0.2.7 6 1000 2024-01-01 00:00:00 +0000 UTC
}
