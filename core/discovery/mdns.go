package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/time/rate"

	"peerchat/core/wire"
)

// mDNS (RFC 6762) and DNS-SD (RFC 6763): PeerChat's own responder and
// browser, over github.com/miekg/dns for the messages.
//
// Answers go to the mDNS group (224.0.0.251:5353) from port 5353, as RFC
// 6762 asks, and the browser queries from port 5353 and listens on the
// group. That is what lets a client behind a stateful desktop firewall find
// a server: ufw and firewalld admit datagrams to 224.0.0.251:5353 (their
// "mDNS" rule), while the unicast answer to a broadcast probe matches no
// connection the firewall knows of and is dropped. A query from another
// port ("legacy unicast", §6.7, e.g. `dig -p 5353 @224.0.0.251`) is also
// answered unicast, to its source.

// mDNS constants.
const (
	mdnsPort = 5353
	// mdnsTTL is the records' time to live (RFC 6762 §10 suggests 120 s
	// for records with a host name, 75 minutes for others; PeerChat servers
	// come and go with laptops, so every record gets the short one).
	mdnsTTL = 120
	// mdnsMaxPacket bounds a datagram read (RFC 6762 §17: 9000 bytes).
	mdnsMaxPacket = 9000
)

var mdnsGroup = netip.AddrPortFrom(netip.AddrFrom4([4]byte{224, 0, 0, 251}), mdnsPort)

// AnnounceConfig configures Announce.
type AnnounceConfig struct {
	Instance string       // service instance name, e.g. the server's name; required
	Port     int          // the server's TCP port; required
	Host     string       // host name without domain; os.Hostname() when empty
	IPs      []netip.Addr // addresses to announce; LANAddrs() when empty
	TXT      []string     // TXT records; "version=2" when nil
	Iface    *net.Interface
}

// Announcer answers mDNS queries for one wire.MDNSService instance until
// Close.
type Announcer struct {
	conn   *mdnsConn
	zone   zone
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Close stops answering and waits for the responder's goroutine to end. It
// is safe to call more than once.
func (a *Announcer) Close() error {
	a.once.Do(func() {
		a.cancel()
		a.conn.Close()
		<-a.done
	})
	return nil
}

// Announce starts answering DNS-SD queries over multicast DNS for
// wire.MDNSService ("_peerchat._tcp.local."): PTR, SRV (host and port), TXT
// and A records for cfg's instance, on cfg.Iface or on every up multicast
// interface. It announces them once at start. It fails when no multicast
// socket can be opened (for instance in a container without multicast).
func Announce(cfg AnnounceConfig) (*Announcer, error) {
	if cfg.Instance == "" || cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("discovery: announce: instance and port are required")
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("discovery: announce: %w", err)
		}
		cfg.Host = h
	}
	if len(cfg.IPs) == 0 {
		cfg.IPs = LANAddrs()
	}
	if len(cfg.IPs) == 0 {
		cfg.IPs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	if cfg.TXT == nil {
		cfg.TXT = []string{fmt.Sprintf("version=%d", wire.Version)}
	}
	z := newZone(cfg)
	conn, err := listenMDNS(cfg.Iface)
	if err != nil {
		return nil, fmt.Errorf("discovery: announce %q: %w", cfg.Instance, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Announcer{conn: conn, zone: z, cancel: cancel, done: make(chan struct{})}
	go a.serve(ctx)
	return a, nil
}

// zone is the records of one instance.
type zone struct {
	service  string // _peerchat._tcp.local.
	instance string // <label>._peerchat._tcp.local.
	host     string // <label>.local.
	port     uint16
	ips      []netip.Addr
	txt      []string
}

func newZone(cfg AnnounceConfig) zone {
	svc := wire.MDNSService + ".local."
	z := zone{
		service:  svc,
		instance: escapeLabel(dnsLabel(cfg.Instance)) + "." + svc,
		host:     escapeLabel(dnsLabel(cfg.Host)) + ".local.",
		port:     uint16(cfg.Port),
		txt:      cfg.TXT,
	}
	for _, ip := range cfg.IPs {
		if ip.Is4() || ip.Is4In6() {
			z.ips = append(z.ips, ip.Unmap())
		}
	}
	return z
}

func (z zone) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: mdnsTTL}
}

func (z zone) ptr() dns.RR { return &dns.PTR{Hdr: z.hdr(z.service, dns.TypePTR), Ptr: z.instance} }
func (z zone) srv() dns.RR {
	h := z.hdr(z.instance, dns.TypeSRV)
	h.Class |= 1 << 15 // cache flush: this host alone owns the record
	return &dns.SRV{Hdr: h, Port: z.port, Target: z.host}
}
func (z zone) text() dns.RR {
	h := z.hdr(z.instance, dns.TypeTXT)
	h.Class |= 1 << 15
	return &dns.TXT{Hdr: h, Txt: z.txt}
}
func (z zone) a() []dns.RR {
	var rrs []dns.RR
	for _, ip := range z.ips {
		h := z.hdr(z.host, dns.TypeA)
		h.Class |= 1 << 15
		rrs = append(rrs, &dns.A{Hdr: h, A: net.IP(ip.AsSlice())})
	}
	return rrs
}

// answer returns the response to the questions in q that concern z, or nil.
func (z zone) answer(q *dns.Msg) *dns.Msg {
	var ans, extra []dns.RR
	for _, qu := range q.Question {
		name := strings.ToLower(qu.Name)
		t := qu.Qtype
		switch {
		case name == z.service && (t == dns.TypePTR || t == dns.TypeANY):
			ans = append(ans, z.ptr())
			extra = append(append(extra, z.srv(), z.text()), z.a()...)
		case name == strings.ToLower(z.instance):
			if t == dns.TypeSRV || t == dns.TypeANY {
				ans = append(ans, z.srv())
				extra = append(extra, z.a()...)
			}
			if t == dns.TypeTXT || t == dns.TypeANY {
				ans = append(ans, z.text())
			}
		case name == strings.ToLower(z.host) && (t == dns.TypeA || t == dns.TypeANY):
			ans = append(ans, z.a()...)
		}
	}
	if len(ans) == 0 {
		return nil
	}
	r := new(dns.Msg)
	r.Response, r.Authoritative = true, true
	r.Answer, r.Extra = ans, extra
	return r
}

func (a *Announcer) serve(ctx context.Context) {
	defer close(a.done)
	// An unsolicited announcement, so browsers already listening see the
	// server at once (RFC 6762 §8.3).
	announce := new(dns.Msg)
	announce.Response, announce.Authoritative = true, true
	announce.Answer = append([]dns.RR{a.zone.ptr(), a.zone.srv(), a.zone.text()}, a.zone.a()...)
	a.conn.sendGroup(announce)

	// At most one multicast answer per second per question name and type
	// (RFC 6762 §6); a flood of queries costs the network nothing more.
	limits := map[string]*rate.Limiter{}
	buf := make([]byte, mdnsMaxPacket)
	for ctx.Err() == nil {
		n, ifIndex, from, err := a.conn.read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var q dns.Msg
		if q.Unpack(buf[:n]) != nil || q.Response || q.Opcode != dns.OpcodeQuery || len(q.Question) == 0 {
			continue
		}
		r := a.zone.answer(&q)
		if r == nil {
			continue
		}
		if from.Port() != mdnsPort {
			// Legacy unicast (RFC 6762 §6.7): the querier's id and question,
			// to its source, and no cache-flush bits.
			u := r.Copy()
			u.Id, u.Question = q.Id, q.Question
			for _, rr := range append(u.Answer, u.Extra...) {
				rr.Header().Class &^= 1 << 15
			}
			a.conn.sendTo(u, from)
			continue
		}
		key := q.Question[0].Name + "/" + strconv.Itoa(int(q.Question[0].Qtype)) + "/" + strconv.Itoa(ifIndex)
		l := limits[key]
		if l == nil {
			if len(limits) > 1024 {
				clear(limits)
			}
			l = rate.NewLimiter(1, 1)
			limits[key] = l
		}
		if q.Question[0].Qclass&(1<<15) != 0 {
			a.conn.sendTo(r, from) // QU: the querier asked for a unicast answer
		} else if l.Allow() {
			a.conn.sendIface(r, ifIndex)
		}
	}
}

// mdnsConn is a UDP socket on port 5353 (shared with any other mDNS
// software on the host: SO_REUSEADDR and SO_REUSEPORT), in the mDNS group
// on each of its interfaces.
type mdnsConn struct {
	pc     *ipv4.PacketConn
	ifaces []net.Interface
}

func listenMDNS(only *net.Interface) (*mdnsConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = shareAddr(fd) })
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := lc.ListenPacket(context.Background(), "udp4", ":"+strconv.Itoa(mdnsPort))
	if err != nil {
		return nil, err
	}
	m := &mdnsConn{pc: ipv4.NewPacketConn(c)}
	var ifaces []net.Interface
	if only != nil {
		ifaces = []net.Interface{*only}
	} else if all, err := net.Interfaces(); err == nil {
		for _, ifc := range all {
			if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagMulticast != 0 && ifc.Flags&net.FlagLoopback == 0 {
				ifaces = append(ifaces, ifc)
			}
		}
	}
	group := &net.UDPAddr{IP: net.IP(mdnsGroup.Addr().AsSlice())}
	for _, ifc := range ifaces {
		if m.pc.JoinGroup(&ifc, group) == nil {
			m.ifaces = append(m.ifaces, ifc)
		}
	}
	if len(m.ifaces) == 0 {
		c.Close()
		return nil, errors.New("no interface could join the mDNS group")
	}
	m.pc.SetControlMessage(ipv4.FlagInterface, true)
	m.pc.SetMulticastLoopback(true)
	m.pc.SetMulticastTTL(255)
	return m, nil
}

func (m *mdnsConn) Close() error { return m.pc.Close() }

func (m *mdnsConn) read(buf []byte) (n, ifIndex int, from netip.AddrPort, err error) {
	n, cm, src, err := m.pc.ReadFrom(buf)
	if err != nil {
		return 0, 0, netip.AddrPort{}, err
	}
	if cm != nil {
		ifIndex = cm.IfIndex
	}
	if u, ok := src.(*net.UDPAddr); ok {
		from = u.AddrPort()
	}
	return n, ifIndex, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), nil
}

func (m *mdnsConn) sendTo(msg *dns.Msg, to netip.AddrPort) {
	if b, err := msg.Pack(); err == nil {
		m.pc.WriteTo(b, nil, net.UDPAddrFromAddrPort(to))
	}
}

// sendIface multicasts msg on the interface with index ifIndex, or on every
// interface of m when the index is unknown.
func (m *mdnsConn) sendIface(msg *dns.Msg, ifIndex int) {
	for _, ifc := range m.ifaces {
		if ifIndex == 0 || ifc.Index == ifIndex {
			m.sendOn(msg, &ifc)
		}
	}
}

func (m *mdnsConn) sendGroup(msg *dns.Msg) { m.sendIface(msg, 0) }

func (m *mdnsConn) sendOn(msg *dns.Msg, ifc *net.Interface) {
	b, err := msg.Pack()
	if err != nil {
		return
	}
	m.pc.WriteTo(b, &ipv4.ControlMessage{IfIndex: ifc.Index}, net.UDPAddrFromAddrPort(mdnsGroup))
}

// Browse looks for PeerChat servers over mDNS for timeout (or until ctx
// ends): it joins the mDNS group on every up multicast interface, asks for
// wire.MDNSService from port 5353 (so that answers are multicast, which
// desktop firewalls admit), resending as Probe does, and returns one Found
// per server address, in the order they were complete. Version is the TXT
// record's version, or 0. It fails when no mDNS socket can be opened.
func Browse(ctx context.Context, timeout time.Duration) ([]Found, error) {
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	conn, err := listenMDNS(nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: browse: %w", err)
	}
	defer conn.Close()
	start := time.Now()
	deadline := start.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	stop := context.AfterFunc(ctx, func() { conn.pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	q := new(dns.Msg)
	q.SetQuestion(wire.MDNSService+".local.", dns.TypePTR)
	q.RecursionDesired = false
	q.Id = 0
	conn.sendGroup(q)
	resends := 1
	nextSend := func() time.Time {
		return start.Add(timeout / 2 * time.Duration(resends) / (ProbeResends - 1))
	}

	var b browser
	buf := make([]byte, mdnsMaxPacket)
	for ctx.Err() == nil {
		wake := deadline
		if resends < ProbeResends && nextSend().Before(wake) {
			wake = nextSend()
		}
		conn.pc.SetReadDeadline(wake)
		n, _, from, err := conn.read(buf)
		now := time.Now()
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return b.found, fmt.Errorf("discovery: browse: %w", err)
			}
			if !now.Before(deadline) || ctx.Err() != nil {
				break
			}
			if resends < ProbeResends && !now.Before(nextSend()) {
				conn.sendGroup(q)
				resends++
			}
			continue
		}
		var r dns.Msg
		if r.Unpack(buf[:n]) != nil || !r.Response {
			continue
		}
		b.add(&r, from.Addr(), now.Sub(start))
	}
	return b.found, nil
}

// browser assembles DNS-SD records into servers.
type browser struct {
	instances map[string]string // instance name, lower case → as the PTR gave it
	srv       map[string]*dns.SRV
	txt       map[string][]string
	hosts     map[string]netip.Addr
	src       map[string]netip.Addr // instance → source of the packet that named it
	found     []Found
	done      map[netip.AddrPort]bool
}

func (b *browser) add(r *dns.Msg, from netip.Addr, rtt time.Duration) {
	if b.instances == nil {
		b.instances, b.srv, b.txt = map[string]string{}, map[string]*dns.SRV{}, map[string][]string{}
		b.hosts, b.src, b.done = map[string]netip.Addr{}, map[string]netip.Addr{}, map[netip.AddrPort]bool{}
	}
	svc := strings.ToLower(wire.MDNSService + ".local.")
	for _, rr := range append(r.Answer, r.Extra...) {
		name := strings.ToLower(rr.Header().Name)
		switch rr := rr.(type) {
		case *dns.PTR:
			if name == svc {
				inst := strings.ToLower(rr.Ptr)
				b.instances[inst] = rr.Ptr
				b.src[inst] = from
			}
		case *dns.SRV:
			b.srv[name] = rr
		case *dns.TXT:
			b.txt[name] = rr.Txt
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A); ok {
				b.hosts[strings.ToLower(rr.Header().Name)] = a.Unmap()
			}
		}
	}
	for inst, display := range b.instances {
		s := b.srv[inst]
		if s == nil || s.Port == 0 {
			continue
		}
		ip, ok := b.hosts[strings.ToLower(s.Target)]
		if !ok {
			ip = b.src[inst]
		}
		addr := netip.AddrPortFrom(ip, s.Port)
		if b.done[addr] {
			continue
		}
		b.done[addr] = true
		f := Found{Name: instanceName(display), Addr: addr, Peers: -1, RTT: rtt}
		for _, kv := range b.txt[inst] {
			if v, ok := strings.CutPrefix(kv, "version="); ok {
				f.Version, _ = strconv.Atoi(v)
			}
		}
		b.found = append(b.found, f)
	}
}

// instanceName returns the instance label of a DNS-SD instance name,
// unescaped.
func instanceName(fqdn string) string {
	labels := dns.SplitDomainName(fqdn)
	if len(labels) == 0 {
		return ""
	}
	s := labels[0]
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
				n, _ := strconv.Atoi(s[i+1 : i+4])
				out.WriteByte(byte(n))
				i += 3
				continue
			}
			i++
		}
		out.WriteByte(s[i])
	}
	return out.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// escapeLabel escapes a DNS label for miekg/dns's text form.
func escapeLabel(s string) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
			out.WriteByte('\\')
			out.WriteByte(c)
		case c <= ' ' || c >= 0x7f:
			fmt.Fprintf(&out, "\\%03d", c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// dnsLabel makes s usable as one DNS label: no dots, at most 63 bytes.
func dnsLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '.' || r < ' ' {
			return '-'
		}
		return r
	}, s)
	for len(s) > 63 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	if s == "" {
		s = "peerchat"
	}
	return s
}
