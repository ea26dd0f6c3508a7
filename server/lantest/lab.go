//go:build linux

package lantest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Lab is a set of network namespaces, bridges and links made for one test
// and removed by its Cleanup. Its methods call t.Fatal on failure; they are
// meant for the test's goroutine.
type Lab struct {
	t      testing.TB
	prefix string // unique per Lab, so parallel tests and stale labs never collide
	n      int    // names made so far

	mu    sync.Mutex
	procs []*Proc
}

// Require checks that this process can build a lab: Linux, root, the ip and
// nft commands. Without them the test is skipped, or fails when the
// environment variable CI is "true" (CI runs as root and must not skip).
func Require(t testing.TB) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "not root"
	default:
		for _, cmd := range []string{"ip", "bridge", "nft"} {
			if _, err := exec.LookPath(cmd); err != nil {
				why = cmd + " not found (Debian: apt-get install iproute2 nftables)"
				break
			}
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("network namespaces are needed and CI=true: %s", why)
	}
	t.Skipf("network namespaces unavailable: %s", why)
}

// New makes an empty lab; everything it makes is removed when the test ends.
func New(t testing.TB) *Lab {
	t.Helper()
	Require(t)
	var b [3]byte
	rand.Read(b[:])
	l := &Lab{t: t, prefix: "pc" + hex.EncodeToString(b[:])}
	t.Cleanup(l.close)
	return l
}

func (l *Lab) name() string {
	l.n++
	return fmt.Sprintf("%s%d", l.prefix, l.n) // at most 10 bytes: fits IFNAMSIZ with a suffix
}

// run runs a command and fails the test if it fails.
func (l *Lab) run(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// nft loads an nftables ruleset into namespace ns.
func (l *Lab) nft(ns, ruleset string) {
	l.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft in %s: %v\n%s\n%s", ns, err, out, ruleset)
	}
}

func (l *Lab) close() {
	l.mu.Lock()
	procs := l.procs
	l.mu.Unlock()
	for _, p := range procs {
		p.Kill()
	}
	// Deleting a namespace removes its ends of the veth pairs, and with them
	// the other ends; bridges live in the root namespace and go by name.
	out, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			if strings.HasPrefix(name, l.prefix) {
				exec.Command("ip", "link", "del", name).Run()
			}
		}
	}
	out, _ = exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], l.prefix) {
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

// Segment is one layer-2 network: a bridge in the root namespace (which has
// no address on it: the root namespace takes no part in the lab's traffic).
type Segment struct {
	lab    *Lab
	bridge string
	prefix netip.Prefix
	next   netip.Addr
}

// Segment makes a bridge for the private subnet p (say 10.77.1.0/24);
// hosts get its addresses from .1 up.
func (l *Lab) Segment(p netip.Prefix) *Segment {
	l.t.Helper()
	br := l.name() + "b"
	l.run("ip", "link", "add", br, "type", "bridge")
	// No IPv6 autoconfiguration, so the bridge sends nothing of its own.
	l.run("sysctl", "-qw", "net.ipv6.conf."+br+".disable_ipv6=1")
	l.run("ip", "link", "set", br, "up")
	return &Segment{lab: l, bridge: br, prefix: p.Masked(), next: p.Masked().Addr().Next()}
}

// Host is a network namespace with one interface, eth0, on a Segment.
type Host struct {
	Lab  *Lab
	NS   string     // the namespace's name
	Addr netip.Addr // eth0's address
	port string     // the bridge port (the root namespace's end of the veth)
	seg  *Segment
}

// Host makes a namespace with loopback up and eth0 on s with the segment's
// next address. gw, if valid, becomes its default route.
func (s *Segment) Host(gw netip.Addr) *Host {
	l := s.lab
	l.t.Helper()
	h := &Host{Lab: l, NS: l.name(), Addr: s.next, seg: s}
	s.next = s.next.Next()
	l.run("ip", "netns", "add", h.NS)
	l.run("ip", "-n", h.NS, "link", "set", "lo", "up")
	s.attach(h.NS, "eth0", h.Addr, &h.port)
	if gw.IsValid() {
		l.run("ip", "-n", h.NS, "route", "add", "default", "via", gw.String())
	}
	return h
}

// attach links namespace ns to the segment through a veth pair whose inner
// end is dev with address a.
func (s *Segment) attach(ns, dev string, a netip.Addr, port *string) {
	l := s.lab
	*port = l.name() + "p"
	l.run("ip", "link", "add", *port, "type", "veth", "peer", "name", dev, "netns", ns)
	l.run("ip", "-n", ns, "link", "set", dev, "up")
	l.run("ip", "-n", ns, "addr", "add", netip.PrefixFrom(a, s.prefix.Bits()).String(), "dev", dev)
	l.run("ip", "link", "set", *port, "master", s.bridge, "up")
}

// Isolate turns the bridge's port isolation on or off for h, which is what
// a Wi-Fi access point's client isolation does: isolated ports reach only
// ports that are not isolated (the server's, the router's).
func (h *Host) Isolate(on bool) {
	h.Lab.t.Helper()
	v := "off"
	if on {
		v = "on"
	}
	h.Lab.run("bridge", "link", "set", "dev", h.port, "isolated", v)
}

// Firewall gives h a stateful inbound firewall, as desktops have (ufw's and
// firewalld's defaults): packets of connections h started, and replies to
// them, pass; so do datagrams to the mDNS group (224.0.0.251, UDP 5353);
// every other new inbound connection or datagram is dropped.
func (h *Host) Firewall() {
	h.Lab.t.Helper()
	h.Lab.nft(h.NS, `table inet lanfw {
	chain input {
		type filter hook input priority 0; policy drop;
		iif "lo" accept
		ct state established,related accept
		ip daddr 224.0.0.251 udp dport 5353 accept
	}
}
`)
}

// Loss drops about percent of the packets h receives and sends, at random
// (nftables numgen; this kernel has no netem).
func (h *Host) Loss(percent int) {
	h.Lab.t.Helper()
	h.Lab.nft(h.NS, fmt.Sprintf(`table inet lanloss {
	chain input {
		type filter hook input priority -10; policy accept;
		iif "lo" accept
		numgen random mod 100 < %d drop
	}
	chain output {
		type filter hook output priority -10; policy accept;
		oif "lo" accept
		numgen random mod 100 < %d drop
	}
}
`, percent, percent))
}

// Router is a namespace routing between two segments; with NAT, the
// inner segment's traffic leaves with the router's outer address.
type Router struct {
	Host             // its outer interface
	Inner netip.Addr // its address on the inner segment
}

// Router makes a router with eth0 on outer and eth1 on inner, forwarding
// between them; nat masquerades the inner segment behind eth0.
func (l *Lab) Router(outer, inner *Segment, nat bool) *Router {
	l.t.Helper()
	r := &Router{Host: *outer.Host(netip.Addr{})}
	r.Inner = inner.next
	inner.next = inner.next.Next()
	var port string
	inner.attach(r.NS, "eth1", r.Inner, &port)
	l.run("ip", "netns", "exec", r.NS, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	if nat {
		l.nft(r.NS, fmt.Sprintf(`table ip lannat {
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		ip saddr %s oif "eth0" masquerade
	}
}
`, inner.prefix))
	}
	return r
}

// Route adds to h a route to p through gw.
func (h *Host) Route(p netip.Prefix, gw netip.Addr) {
	h.Lab.t.Helper()
	h.Lab.run("ip", "-n", h.NS, "route", "add", p.String(), "via", gw.String())
}

// Proc is a program running in a lab host. The JSON objects it prints one
// per line, on its standard output or error (peerchat-cli -json events,
// peerchat-server -log-format json logs), are what Wait and Next look at,
// each with the time it was read under AtKey; all its output is logged
// with the test when the test fails. Its HOME and XDG directories are
// temporary.
type Proc struct {
	Name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan map[string]any
	done  chan struct{}
	mu    sync.Mutex
	log   strings.Builder
}

// Start runs bin with args in h. Everything it prints is logged with the
// test when the test fails.
func (h *Host) Start(name, bin string, args ...string) *Proc {
	l := h.Lab
	l.t.Helper()
	p := &Proc{Name: name, lines: make(chan map[string]any, 4096), done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", h.NS, bin}, args...)...)
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		l.t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	errOut, err := p.cmd.StderrPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	p.cmd.Env = append(os.Environ(), "HOME="+l.t.TempDir(), "XDG_CONFIG_HOME="+l.t.TempDir(), "XDG_DATA_HOME="+l.t.TempDir())
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("start %s: %v", name, err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	var readers sync.WaitGroup
	for _, r := range []io.Reader{out, errOut} {
		readers.Go(func() {
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 4<<20)
			for sc.Scan() {
				p.write(sc.Text() + "\n")
				var m map[string]any
				if json.Unmarshal(sc.Bytes(), &m) == nil {
					m[AtKey] = time.Now()
					p.lines <- m
				}
			}
		})
	}
	go func() {
		readers.Wait()
		p.cmd.Wait()
		close(p.done)
	}()
	l.t.Cleanup(func() {
		p.Kill()
		if l.t.Failed() {
			l.t.Logf("--- %s (%s in %s):\n%s", name, bin, h.NS, p.Log())
		}
	})
	return p
}

func (p *Proc) write(s string) {
	p.mu.Lock()
	p.log.WriteString(s)
	p.mu.Unlock()
}

// Log returns what the program printed so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Send writes a line to the program's standard input.
func (p *Proc) Send(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// Kill ends the program (SIGKILL) and waits for its output to be read.
func (p *Proc) Kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
	<-p.done
}

// Wait returns the first JSON line whose "type" (a CLI event) or "msg" (a
// server log) is typ and for which match (if not nil) is true, skipping
// others, or an error when ctx ends first or the program
// exits.
func (p *Proc) Wait(ctx context.Context, typ string, match func(map[string]any) bool) (map[string]any, error) {
	for {
		select {
		case m := <-p.lines:
			if is(m, typ) && (match == nil || match(m)) {
				return m, nil
			}
		case <-p.done:
			for {
				select {
				case m := <-p.lines:
					if is(m, typ) && (match == nil || match(m)) {
						return m, nil
					}
					continue
				default:
				}
				return nil, fmt.Errorf("%s exited while waiting for %q", p.Name, typ)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no %q within the deadline: %w", p.Name, typ, ctx.Err())
		}
	}
}

// AtKey is the key under which every object Wait and Next return holds the
// time.Time its line was read.
const AtKey = "_at"

// Next returns the next JSON line, whatever its type, or an error when ctx
// ends first or the program exited and every line was read.
func (p *Proc) Next(ctx context.Context) (map[string]any, error) {
	select {
	case m := <-p.lines:
		return m, nil
	default:
	}
	select {
	case m := <-p.lines:
		return m, nil
	case <-p.done:
		select {
		case m := <-p.lines:
			return m, nil
		default:
		}
		return nil, fmt.Errorf("%s exited", p.Name)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: nothing within the deadline: %w", p.Name, ctx.Err())
	}
}

// Exited is closed once the program ended and all its output was read.
func (p *Proc) Exited() <-chan struct{} { return p.done }

func is(m map[string]any, typ string) bool { return m["type"] == typ || m["msg"] == typ }

// Deadline is how long a lab test waits for one expected event.
const Deadline = 20 * time.Second
