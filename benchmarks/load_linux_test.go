//go:build linux

package benchmarks

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// cpuSnapshot is what cpuOthers compares: the machine's busy time (all
// CPUs, from /proc/stat, including time stolen by the hypervisor) and this
// process's CPU time.
type cpuSnapshot struct {
	machine, self time.Duration
	ok            bool
}

// userHZ is the unit of /proc/stat (USER_HZ, 100 on every Linux ABI Go
// supports).
const userHZ = 100

func takeCPUSnapshot() cpuSnapshot {
	var s cpuSnapshot
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return s
	}
	var busy int64
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return s
		}
		if i != 3 && i != 4 { // not idle, not iowait
			busy += n
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return s
	}
	s.machine = time.Duration(busy) * time.Second / userHZ
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.ok = true
	return s
}

// cpuOthers returns how many CPUs other processes (and the hypervisor)
// kept busy on average between a and b, wall apart, or false when it
// cannot tell. Measurements taken while it is well above 0 are not to be
// trusted.
func cpuOthers(a, b cpuSnapshot, wall time.Duration) (float64, bool) {
	if !a.ok || !b.ok || wall <= 0 {
		return 0, false
	}
	others := (b.machine - a.machine) - (b.self - a.self)
	return max(0, others.Seconds()/wall.Seconds()), true
}
