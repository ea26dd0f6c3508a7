//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// raiseFileLimit raises the soft limit on open files to the hard limit and
// returns an error if that is still below need.
func raiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("get open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise open-file limit to %d: %w", lim.Max, err)
		}
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("need %d open files but the hard limit is %d: raise it (ulimit -Hn, or LimitNOFILE= for a service) or use fewer -clients", need, lim.Cur)
	}
	return nil
}
