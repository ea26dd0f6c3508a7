package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc (USER_HZ), 100 on every
// Linux architecture Go supports.
const userHZ = 100

// cpuSample is a reading of the machine's busy CPU time and of the CPU
// time of the processes taking part in the run, in USER_HZ ticks.
type cpuSample struct {
	ok      bool
	at      time.Time
	machine int64 // all CPUs, all processes: user+nice+system+irq+softirq+steal
	ours    int64 // this process and the server's (if another process)
}

// sampleCPU reads /proc/stat and the /proc/<pid>/stat of this process and of
// serverPID (if not 0).
func sampleCPU(serverPID int) cpuSample {
	s := cpuSample{at: time.Now()}
	machine, err := machineBusy("/proc/stat")
	if err != nil {
		return s
	}
	self, err := processCPU("/proc/self/stat")
	if err != nil {
		return s
	}
	s.machine, s.ours = machine, self
	if serverPID != 0 {
		srv, err := processCPU(fmt.Sprintf("/proc/%d/stat", serverPID))
		if err != nil {
			return s
		}
		s.ours += srv
	}
	s.ok = true
	return s
}

// otherCPU returns the CPU time that processes other than ours used between
// a and b, as a percentage of one CPU over that interval (100 is one whole
// CPU busy with something else), or -1 if unknown.
func otherCPU(a, b cpuSample) float64 {
	wall := b.at.Sub(a.at).Seconds()
	if !a.ok || !b.ok || wall <= 0 {
		return -1
	}
	other := float64((b.machine-a.machine)-(b.ours-a.ours)) / userHZ
	return max(other, 0) / wall * 100
}

// machineBusy returns the busy time of all CPUs from the "cpu" line of
// /proc/stat.
func machineBusy(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("%s: unexpected first line %q", path, line)
	}
	var busy int64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: bad field %q", path, v)
		}
		busy += n
	}
	return busy, nil
}

// processCPU returns utime+stime from a /proc/<pid>/stat file.
func processCPU(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may contain spaces: count fields
	// after its closing parenthesis, where field 3 (state) is the first.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", path)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the command name", path, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad utime or stime", path)
	}
	return utime + stime, nil
}
