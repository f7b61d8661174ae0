package pcap_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/exfilscore/exfilscore/flowsrc/pcap"
)

// A two-frame pcap file: a NetFlow datagram and an ARP frame.
var capture = "" +
	"d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000" + // pcap header: little-endian, µs, Ethernet
	"00f15365 90d00300 3c000000 3c000000" + // record: 1700000000.250000 s, 60 of 60 bytes
	"000102030405 060708090a0b 8100 0064 0800" + // Ethernet, VLAN 100, IPv4
	"4500 0020 1234 0000 40 11 0000 c0000207 c6336401" + // IPv4 192.0.2.7 > 198.51.100.1, UDP
	"9c40 0807 000c 0000 0005 6869" + // UDP 40000 > 2055, payload 00 05 'h' 'i'
	"00000000000000000000" + // Ethernet padding
	"01f15365 90d00300 3c000000 3c000000" + // record: 1700000001.250000 s
	"000102030405 060708090a0b 0806" + strings.Repeat("00", 46) // ARP

func ExampleReader_Next() {
	data, err := hex.DecodeString(strings.ReplaceAll(capture, " ", ""))
	if err != nil {
		log.Fatal(err)
	}
	r, err := pcap.NewReader(bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		// p.Payload is only valid until the next call to Next.
		fmt.Printf("frame %d %s exporter %s:%d -> :%d payload %x\n",
			p.Frame, p.Time.Format("2006-01-02T15:04:05.000000Z"), p.Src, p.SrcPort, p.DstPort, p.Payload)
	}
	st := r.Stats()
	fmt.Printf("frames %d, packets %d, skipped %d (non-IP %d)\n", st.Frames, st.Packets, st.Skipped, st.NonIP)
	// Output:
	// frame 1 2023-11-14T22:13:20.250000Z exporter 192.0.2.7:40000 -> :2055 payload 00056869
	// frames 2, packets 1, skipped 1 (non-IP 1)
}
