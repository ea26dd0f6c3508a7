package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"peerchat/server"
)

// stopGrace bounds the shutdown of a server the generator started.
const stopGrace = 10 * time.Second

// runningServer is a server.Server the generator started in its own process.
type runningServer struct {
	addr   string
	srv    *server.Server
	cancel context.CancelFunc
	served chan error
}

// startServer starts a server.Server with the default configuration on addr,
// logging to log (nil discards).
func startServer(ctx context.Context, addr string, log *slog.Logger) (*runningServer, error) {
	return startServerConfig(ctx, addr, server.Config{Logger: log})
}

// startServerConfig starts a server.Server configured by scfg on addr.
func startServerConfig(ctx context.Context, addr string, scfg server.Config) (*runningServer, error) {
	srv, err := server.New(scfg)
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rs := &runningServer{addr: ln.Addr().String(), srv: srv, cancel: cancel, served: make(chan error, 1)}
	go func() { rs.served <- srv.Serve(ctx, ln) }()
	return rs, nil
}

// stop shuts the server down and waits until Serve has returned.
func (rs *runningServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	serr := rs.srv.Shutdown(ctx)
	rs.cancel()
	select {
	case err := <-rs.served:
		if err != nil && !errors.Is(err, server.ErrServerClosed) && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("server did not stop within %v", stopGrace)
	}
	if serr != nil && !errors.Is(serr, server.ErrServerClosed) {
		return fmt.Errorf("server shutdown: %w", serr)
	}
	return nil
}

// The child server. With -spawn, the generator runs a copy of its own binary
// with childEnv=childServe in the environment. The child starts a server on
// 127.0.0.1:0, writes "addr=<host:port>" on its standard output, then answers
// each "mem" line on its standard input with one line
// "heap_stack=<bytes> rss=<bytes> stack=<bytes> peak=<bytes>": its Go heap
// and stack in use after a forced GC, its resident set, and the peak of its
// resident set so far. It shuts down when its standard input ends.
const (
	childEnv        = "PEERCHAT_LOAD_CHILD"
	childServe      = "serve"
	childCPUProfEnv = "PEERCHAT_LOAD_CHILD_CPUPROFILE"
	childFDsEnv     = "PEERCHAT_LOAD_CHILD_FDS"
	childCmdMem     = "mem"
	childCmdStats   = "stats"
)

// serveChild is the child's main function; it returns the exit status.
func serveChild(stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "peerchat-load child: %v\n", err)
		return exitAborted
	}
	if n, err := strconv.Atoi(os.Getenv(childFDsEnv)); err == nil {
		if err := raiseFileLimit(n); err != nil {
			return fail(err)
		}
	}
	if path := os.Getenv(childCPUProfEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rs, err := startServer(context.Background(), "127.0.0.1:0", log)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "addr=%s\n", rs.addr)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		switch sc.Text() {
		case childCmdMem:
			m := selfMemory()
			fmt.Fprintf(stdout, "heap_stack=%d rss=%d stack=%d peak=%d\n", m.heap, m.rss, m.stack, m.peak)
		case childCmdStats:
			b, _ := json.Marshal(rs.srv.Stats().Closed)
			fmt.Fprintf(stdout, "%s\n", b)
		default:
			fmt.Fprintf(stdout, "error=unknown command\n")
		}
	}
	if err := rs.stop(); err != nil {
		return fail(err)
	}
	return exitOK
}

// memSample is a server's memory in bytes; a negative field was not measured.
type memSample struct {
	heap  int64 // Go heap and stacks in use
	rss   int64 // resident set
	stack int64 // the stacks' part of heap
	peak  int64 // peak resident set since the process started (VmHWM)
}

// memProbe measures a server's memory.
type memProbe interface {
	measure() (memSample, error)
}

// closeCounter reports why a server closed connections.
type closeCounter interface {
	closed() (map[string]uint64, error)
}

type noProbe struct{}

func (noProbe) measure() (memSample, error)        { return memSample{-1, -1, -1, -1}, nil }
func (noProbe) closed() (map[string]uint64, error) { return nil, nil }

func (rs *runningServer) closed() (map[string]uint64, error) {
	m := make(map[string]uint64)
	for r, n := range rs.srv.Stats().Closed {
		m[r.String()] = n
	}
	return m, nil
}

// pidProbe reads the resident set of a process from /proc.
type pidProbe int

func (p pidProbe) measure() (memSample, error) {
	path := fmt.Sprintf("/proc/%d/status", int(p))
	rss, err := readStatus(path, "VmRSS")
	if err != nil {
		return memSample{}, fmt.Errorf("server pid %d: %w", int(p), err)
	}
	peak, err := readStatus(path, "VmHWM")
	if err != nil {
		peak = -1
	}
	return memSample{-1, rss, -1, peak}, nil
}

// selfMemory returns this process's Go heap and stack in use after a forced
// GC, its resident set and its peak (-1 when /proc is unavailable).
func selfMemory() memSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, err := readStatus("/proc/self/status", "VmRSS")
	if err != nil {
		rss = -1
	}
	peak, err := readStatus("/proc/self/status", "VmHWM")
	if err != nil {
		peak = -1
	}
	return memSample{int64(ms.HeapInuse + ms.StackInuse), rss, int64(ms.StackInuse), peak}
}

// readStatus returns the line key (VmRSS, VmHWM) of a /proc/<pid>/status
// file, in bytes.
func readStatus(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		v, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: bad %s %q", path, key, strings.TrimSpace(v))
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}

// child is a server running in a child process.
type child struct {
	addr   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	waited chan error
}

// startChild runs a copy of this executable as a server process able to hold
// clients connections, and waits for its address.
func startChild(ctx context.Context, clients int, cpuProfile string, log *slog.Logger) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		childEnv+"="+childServe,
		childFDsEnv+"="+strconv.Itoa(clients+fdReserve),
		childCPUProfEnv+"="+cpuProfile)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", exe, err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout), waited: make(chan error, 1)}
	line, err := c.line(ctx)
	if err != nil {
		c.stop()
		return nil, err
	}
	addr, ok := strings.CutPrefix(line, "addr=")
	if !ok {
		c.stop()
		return nil, fmt.Errorf("spawn: unexpected first line %q", line)
	}
	c.addr = addr
	log.Info("server child started", "pid", cmd.Process.Pid, "addr", addr)
	return c, nil
}

// line reads the child's next line of output.
func (c *child) line(ctx context.Context) (string, error) {
	got := make(chan bool, 1)
	go func() { got <- c.out.Scan() }()
	select {
	case ok := <-got:
		if !ok {
			return "", fmt.Errorf("server child: output ended: %v", c.out.Err())
		}
		return c.out.Text(), nil
	case <-ctx.Done():
		c.cmd.Process.Kill()
		<-got
		return "", ctx.Err()
	}
}

// ask sends the child command cmd and returns its one-line answer.
func (c *child) ask(cmd string) (string, error) {
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		return "", fmt.Errorf("server child: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	return c.line(ctx)
}

func (c *child) closed() (map[string]uint64, error) {
	line, err := c.ask(childCmdStats)
	if err != nil {
		return nil, err
	}
	var m map[string]uint64
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return nil, fmt.Errorf("server child: bad stats %q: %w", line, err)
	}
	return m, nil
}

func (c *child) measure() (memSample, error) {
	line, err := c.ask(childCmdMem)
	if err != nil {
		return memSample{}, err
	}
	var m memSample
	if _, err := fmt.Sscanf(line, "heap_stack=%d rss=%d stack=%d peak=%d", &m.heap, &m.rss, &m.stack, &m.peak); err != nil {
		return memSample{}, fmt.Errorf("server child: bad answer %q: %w", line, err)
	}
	return m, nil
}

// stop ends the child's input, so that it shuts its server down, and waits for
// it to exit; it kills it if it takes longer than stopGrace.
func (c *child) stop() error {
	c.stdin.Close()
	go func() { c.waited <- c.cmd.Wait() }()
	select {
	case err := <-c.waited:
		if err != nil {
			return fmt.Errorf("server child: %w", err)
		}
		return nil
	case <-time.After(stopGrace):
		c.cmd.Process.Kill()
		<-c.waited
		return fmt.Errorf("server child did not stop within %v: killed", stopGrace)
	}
}

// readIO returns the syscr and syscw lines of a /proc/<pid>/io file: the
// read and write system calls (read, readv, write, writev…) the process made.
func readIO(path string) (reads, writes int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != "syscr" && k != "syscw" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: bad %s %q", path, k, strings.TrimSpace(v))
		}
		if k == "syscr" {
			reads = n
		} else {
			writes = n
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("%s: no syscr and syscw", path)
	}
	return reads, writes, nil
}
