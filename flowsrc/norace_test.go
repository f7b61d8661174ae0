//go:build !race

package flowsrc_test

// raceEnabled reports whether the race detector is on: the differential
// test then decodes fewer variants of each datagram, to stay fast.
const raceEnabled = false
