package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
)

func TestZZMemProfile(t *testing.T) {
	if os.Getenv("ZZMEM") == "" {
		t.Skip()
	}
	runtime.MemProfileRate = 1
	_, addr := startServer(t, benchConfig())
	const n = 1000
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = dial(t, addr)
		cs[i].send(fmt.Sprintf("REGISTER c%d 1", i))
		cs[i].send(fmt.Sprintf("PORT c%d 2", i))
	}
	for _, c := range cs {
		for range n {
			c.next()
		}
	}
	runtime.GC()
	runtime.GC()
	f, _ := os.Create("/tmp/zzheap.pprof")
	pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
}
