//go:build !linux

package main

import "net"

// listenUDP opens one socket bound to addr (SO_REUSEPORT spreading is
// Linux-only here).
func listenUDP(addr string, _ int) ([]net.PacketConn, error) {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	return []net.PacketConn{c}, nil
}
