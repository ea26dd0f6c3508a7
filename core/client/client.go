package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"peerchat/core/identity"
	"peerchat/core/wire"
)

// This file is the Client itself: Dial and Close, the peer listeners, the
// snapshot accessors, the sockets Close must close, c.mu with the writes
// queued under it (later, unlock), and small helpers. Its Config is in
// config.go, its event queue in events.go, its timed work in schedule.go.

// Client is a connection to a PeerChat server plus the peer-to-peer chats of
// one user. All its methods are safe for concurrent use, and none of them
// waits for the network except Dial and Close.
type Client struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	udp     *net.UDPConn
	ln      *net.TCPListener
	udpPort int
	tcpPort int
	idBase  uint64
	nextID  atomic.Uint64

	wakeSched chan struct{} // the scheduler recomputes its next deadline
	retryNow  chan struct{} // ReconnectNow

	qmu     sync.Mutex
	queue   []Event
	events  chan struct{}
	notifyc chan struct{}

	// mu guards the fields below. No socket is written while it is held:
	// a final frame on a socket that no link owns, and every UDP datagram,
	// are queued with later and written by unlock.
	mu       sync.Mutex
	deferred []func() // socket writes queued with later
	closed   bool
	nick     string
	selfKey  string
	srv      *link         // nil while the server link is down
	srvDone  chan struct{} // closed when the last registered server link's reader ended
	srvSeen  time.Time
	srvV2    bool
	srvFeat  []string // features agreed with the server (ours ∩ its)
	pingSent time.Time
	// checkSent is when ReconnectNow sent a PING to check the link (zero:
	// no check under way).
	checkSent time.Time
	peers     map[string]*Peer // by wire.FoldNick
	caps      map[string][]string
	stale     map[string]bool // peers not yet listed again after a reconnection
	settleAt  time.Time
	chats     map[string]*chat
	pending   map[net.Conn]struct{} // sockets not owned by a link yet (Close closes them)
	// silent are the accepted chat sockets that have not sent their first
	// frame yet, with the order they came in (at most maxSilent; the oldest
	// is closed to make room). The server link is never among them.
	silent       map[net.Conn]uint64
	silentSeq    uint64
	unknownWaits int            // incoming CHAT_REQUESTs waiting for their sender's JOINED
	joined       chan struct{}  // closed (and replaced) when a peer joins
	bcasts       []outBroadcast // our broadcasts on the current link, waiting for their echo
	bcastWait    []outBroadcast // our broadcasts made while the link was down (Reconnect)

	pins      *identity.PinStore      // peers' keys (Config.Pins or in memory); safe without mu
	srvPins   *identity.PinStore      // servers' keys (Config.ServerPins or in memory)
	srvKind   ServerKind              // what the current link's server is
	srvKey    identity.PublicIdentity // the key the current server proved (zero: none)
	srvNewKey identity.PublicIdentity // a changed server key waiting for AcceptServerKey

	// rmu guards relays, the chat streams through the server by
	// relayKey. It is taken inside c.mu, or alone (relayConn.Close),
	// never the other way round.
	rmu    sync.Mutex
	relays map[string]*relayConn
	// relayPace paces what we relay below the server's rate (relayPace).
	relayPace *rate.Limiter

	// Mailbox: whether the last server link negotiated it (messages wait
	// for the next one meanwhile), and the keys the server announced for
	// peers, kept after they leave (a message to them is sealed to it).
	hadMailbox bool
	lastKeys   map[string]identity.PublicIdentity
	rcptSeen   map[uint64]struct{} // receipts reported (newReceipt)
	rcptLog    []uint64

	// Replay: the highest broadcast id seen, the id announced for the
	// broadcast that comes next, whether a SINCE answer is under way, and
	// the ids seen lately (a broadcast is reported once).
	lastBID   uint64
	nextBID   uint64
	replaying bool
	bidSeen   map[uint64]struct{}
	bidLog    []uint64
	// replayHeld are the broadcasts that came while a SINCE answer was
	// under way, reported at its end in the order of their ids.
	replayHeld []Event

	fx files // file transfers (filesend.go); fx.mu is taken inside mu, never around it

	img images // pictures to Everyone (bimage.go); img.mu is taken around mu, never inside it
}

// Dial connects to cfg.Server, registers cfg.Nick and returns the running
// Client. The returned error, fit to show to a person, is
//   - a *NickError for a nickname the rules refuse (checked before dialing);
//   - wraps ErrConfig for an invalid Config (a server port outside 1..65535);
//   - wraps ErrNicknameTaken when the server answered NICKNAME_TAKEN;
//   - wraps ErrServer, with the server's reason, for any other ERROR;
//   - wraps ErrNotPeerChat when the address answered something that is not
//     the PeerChat protocol;
//   - wraps ErrServerUnreachable and the network error (so errors.Is(err,
//     syscall.ECONNREFUSED) holds for a refused connection) when the server
//     cannot be reached or closed during registration.
//
// ctx bounds Dial only.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.listen(); err != nil {
		c.Close()
		return nil, err
	}
	sc, err := c.connect(ctx, false)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.wg.Add(1)
	go c.serverLoop(sc)
	return c, nil
}

// newClient builds a Client without any network: Dial and the fuzz tests
// start from here.
func newClient(cfg Config) (*Client, error) {
	cfg.fill()
	if err := wire.ValidateNick(cfg.Nick); err != nil {
		return nil, &NickError{Nick: cfg.Nick, Reason: err.Error()}
	}
	var b [8]byte
	rand.Read(b[:])
	ctx, stop := context.WithCancel(context.Background())
	c := &Client{
		cfg:       cfg,
		log:       cfg.Logger.With("nick", cfg.Nick),
		now:       cfg.Now,
		ctx:       ctx,
		stop:      stop,
		idBase:    binary.BigEndian.Uint64(b[:]) >> 24 << 8, // < 2^48: exact in JSON
		wakeSched: make(chan struct{}, 1),
		retryNow:  make(chan struct{}, 1),
		events:    make(chan struct{}, 1),
		notifyc:   make(chan struct{}, 1),
		nick:      cfg.Nick,
		selfKey:   foldKey(cfg.Nick),
		peers:     make(map[string]*Peer),
		caps:      make(map[string][]string),
		chats:     make(map[string]*chat),
		relays:    make(map[string]*relayConn),
		relayPace: rate.NewLimiter(relayPace, relayPaceBurst),
		lastKeys:  make(map[string]identity.PublicIdentity),
		lastBID:   cfg.LastBroadcast,
		pending:   make(map[net.Conn]struct{}),
		silent:    make(map[net.Conn]uint64),
		joined:    make(chan struct{}),
		pins:      cfg.Pins,
		srvPins:   cfg.ServerPins,
	}
	if c.pins == nil {
		c.pins = newMemPins()
	}
	if c.srvPins == nil {
		c.srvPins = newMemPins()
	}
	c.initFiles()
	c.wg.Add(1)
	go c.schedule()
	if cfg.Notify != nil {
		c.wg.Add(1)
		go c.notifier()
	}
	return c, nil
}

// listen opens the UDP and TCP peer listeners.
func (c *Client) listen() error {
	ip := net.ParseIP(c.cfg.ListenAddr)
	if c.cfg.ListenAddr != "" && ip == nil {
		return fmt.Errorf("listen address %q is not an IP", c.cfg.ListenAddr)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		return fmt.Errorf("listen udp: %w", err)
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
	if err != nil {
		udp.Close()
		return fmt.Errorf("listen tcp: %w", err)
	}
	c.udp, c.ln = udp, ln
	c.udpPort = udp.LocalAddr().(*net.UDPAddr).Port
	c.tcpPort = ln.Addr().(*net.TCPAddr).Port
	c.wg.Add(2)
	go c.readUDP()
	go c.acceptTCP()
	return nil
}

// Nick returns our nickname.
func (c *Client) Nick() string { return c.nick }

// ServerAddr returns the server's host:port as configured.
func (c *Client) ServerAddr() string { return c.cfg.Server }

// Connected reports whether the server link is up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srv != nil
}

// Peers returns a snapshot of the peer table, sorted by nickname.
func (c *Client) Peers() []Peer {
	c.mu.Lock()
	ps := make([]Peer, 0, len(c.peers))
	for _, p := range c.peers {
		q := *p
		q.Features = slices.Clone(p.Features)
		ps = append(ps, q)
	}
	c.mu.Unlock()
	slices.SortFunc(ps, func(a, b Peer) int { return strings.Compare(a.Nick, b.Nick) })
	return ps
}

// Chat returns the state of the private chat with nick.
func (c *Client) Chat(nick string) ChatState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch := c.chats[foldKey(nick)]; ch != nil {
		return ch.state
	}
	return ChatNone
}

// Route returns the path of the open chat with nick: RouteDirect,
// RouteRelay, or RouteNone when no chat is open.
func (c *Client) Route(nick string) Route {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch := c.chats[foldKey(nick)]; ch != nil && ch.state == ChatOpen {
		return ch.route
	}
	return RouteNone
}

// newID returns a fresh local id for a message or a broadcast.
func (c *Client) newID() uint64 { return c.idBase + c.nextID.Add(1) }

// ReconnectNow makes a pending reconnection attempt happen at once instead of
// after its backoff. When the link is up and the server speaks heartbeats, it
// checks the link instead: a server that does not answer a PING within
// DefaultLinkCheck is taken as gone and the client reconnects at once (a
// phone resuming after its socket died silently). It never blocks.
func (c *Client) ReconnectNow() {
	select {
	case c.retryNow <- struct{}{}:
	default:
	}
	c.mu.Lock()
	defer c.unlock()
	if c.closed || c.srv == nil || !slices.Contains(c.srvFeat, wire.FeatureHeartbeat) || !c.checkSent.IsZero() {
		return
	}
	now := c.now()
	c.srv.send(wire.Ping{Token: strconv.FormatInt(now.UnixMilli(), 10)}, 0)
	c.pingSent, c.checkSent = now, now
	c.wake()
}

// Close leaves every open chat (LEFT_CHAT), closes the server link and the
// listeners, and returns once every goroutine of the Client has ended.
// Messages not yet delivered are reported as EventSendFailed. Events queued
// before and during Close can still be polled.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var relayed []*link // chats through the server: their LEFT_CHAT goes on the server link
	for _, ch := range c.chats {
		if ch.state == ChatOpen && ch.route == RouteRelay && ch.l != nil {
			relayed = append(relayed, ch.l)
		}
		c.endChat(ch, ReasonClosed, ErrLeftChat, true)
	}
	c.failBroadcasts(len(c.bcasts), ErrClosed)
	for _, b := range c.bcastWait {
		c.emit(Event{Kind: EventSendFailed, ID: b.id, Text: b.text, Err: fmt.Errorf("broadcast %d: %w", b.id, ErrClosed)})
	}
	c.bcastWait = nil
	srv := c.srv
	if len(relayed) > 0 {
		// Let the relayed chats' writers hand their LEFT_CHAT to the server
		// link before it closes (closeTimeout at most), so the peers hear
		// it rather than find the chat silent.
		c.unlock()
		t := time.NewTimer(closeTimeout)
		for _, l := range relayed {
			select {
			case <-l.done:
			case <-t.C:
			}
		}
		t.Stop()
		c.mu.Lock()
	}
	if srv != nil {
		srv.closeAfter(nil)
	}
	for conn := range c.pending {
		conn.Close()
	}
	srvDone := c.srvDone
	c.unlock()
	if srv != nil && srvDone != nil {
		// The server link's writer flushes and shuts our side; the
		// server closes its side once it read it all.
		t := time.NewTimer(closeTimeout)
		select {
		case <-srvDone:
		case <-t.C:
		}
		t.Stop()
	}
	c.stop()
	if c.udp != nil {
		c.udp.Close()
	}
	if c.ln != nil {
		c.ln.Close()
	}
	c.wg.Wait()
	c.closeFiles()
	return nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// track registers a socket that Close must close; it reports false (and
// closes conn) when the Client is already closed. It sets no limit: the
// server link is tracked here, and nothing a peer does can keep it out.
// untrack forgets it.
func (c *Client) track(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return false
	}
	c.pending[conn] = struct{}{}
	return true
}

func (c *Client) untrack(conn net.Conn) {
	c.mu.Lock()
	delete(c.pending, conn)
	c.mu.Unlock()
}

// trackSilent registers a socket accepted on the chat port, which has not
// said anything yet. When maxSilent such sockets wait already, the oldest
// is closed to make room: a flood of silent connections pushes out its own
// members, not the newcomer, which is usually a real peer about to send its
// first frame. It reports false (and closes conn) when the Client is closed.
func (c *Client) trackSilent(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return false
	}
	if len(c.silent) >= maxSilent {
		var oldest net.Conn
		var seq uint64
		for s, n := range c.silent {
			if oldest == nil || n < seq {
				oldest, seq = s, n
			}
		}
		delete(c.silent, oldest)
		delete(c.pending, oldest)
		oldest.Close()
	}
	c.silentSeq++
	c.silent[conn] = c.silentSeq
	c.pending[conn] = struct{}{}
	return true
}

// later queues a socket write (or another call that must not run under
// c.mu) for unlock to run once c.mu is released. The caller holds c.mu.
func (c *Client) later(f func()) { c.deferred = append(c.deferred, f) }

// unlock releases c.mu, then runs what later queued, in order. Every
// critical section that may queue work ends with unlock.
func (c *Client) unlock() {
	fs := c.deferred
	c.deferred = nil
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// newNonce returns a random invite nonce.
func newNonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func checkText(text string) error {
	if text == "" || len(text) > MaxTextLen || !utf8.ValidString(text) {
		return ErrBadText
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }

// errorReason makes err fit for "ERROR <reason>": one line.
func errorReason(err error) string {
	s := err.Error()
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// foldKey is wire.FoldNick with a fast path for ASCII nicknames, whose
// folded form is their lower case.
func foldKey(nick string) string {
	for i := 0; i < len(nick); i++ {
		if nick[i] >= utf8.RuneSelf {
			return wire.FoldNick(nick)
		}
	}
	return strings.ToLower(nick)
}
