package main

import (
	"context"
	"net"
	"syscall"
)

// soReusePort is SO_REUSEPORT on Linux (every architecture); package
// syscall does not name it.
const soReusePort = 0xf

// listenUDP opens n sockets bound to addr with SO_REUSEPORT: the kernel
// spreads datagrams over them by a hash of the 4-tuple, so each exporter
// (one source address and port) always reaches the same socket, in order,
// and several exporters are read and decoded on several cores.
func listenUDP(addr string, n int) ([]net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	var conns []net.PacketConn
	for i := range n {
		if i == 1 {
			// The others bind to the port the first one got (":0" included).
			addr = conns[0].LocalAddr().String()
		}
		c, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}
