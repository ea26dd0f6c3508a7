package client

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"peerchat/core/identity"
)

// This file is the Client's configuration: Config, its test hooks, its
// validation and its defaults (DefaultConfig, fill).

// Config configures a Client. The zero value of every duration selects the
// default of the same name in const.go.
type Config struct {
	Server string // host:port of the server; the port must be 1 to 65535
	Nick   string

	// Notify, if not nil, is called whenever events were queued. It is called
	// from a goroutine of the Client that does nothing else, so it may take
	// its time, but calls are coalesced: one call may stand for many events.
	// A UI calls its window's Invalidate here.
	Notify func()

	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now

	InviteTTL       time.Duration // how long an invite is valid
	ResendEvery     time.Duration // how often an unanswered invite is resent
	FallbackAfter   time.Duration // when to try the base flow for a silent peer
	ChatDialTimeout time.Duration // TCP connect timeout (peers and server)
	RequestTimeout  time.Duration // wait for the answer to a base CHAT_REQUEST
	RetryWindow     time.Duration // how long an undelivered message is kept
	HeartbeatEvery  time.Duration // PING a heartbeat server silent for this long
	ServerSilence   time.Duration // a heartbeat server silent this long is gone
	EchoTimeout     time.Duration // a broadcast without an echo this long failed
	ChatPingEvery   time.Duration // PING a keepalive peer's chat silent this long
	ChatSilence     time.Duration // a keepalive peer's chat silent this long is lost

	// ListenAddr is the IP on which the UDP and TCP peer listeners are bound;
	// "" means all interfaces. Tests use 127.0.0.1.
	ListenAddr string

	// Reconnect makes the Client reconnect, with backoff and jitter, when the
	// server link drops. It is off in the zero Config; DefaultConfig and server/host
	// turn it on. Without it a dropped link stays down (EventServerLost).
	Reconnect bool

	// Identity is this device's identity (identity.LoadOrCreate). nil: no
	// keys; the Client says nothing new on the wire and every chat is
	// plaintext, as before issue 10. With it, HELLO lists "keys" and "e2e"
	// (see keys.go).
	Identity *identity.Identity
	// Pins holds the keys pinned for peers, by folded nickname (trust on
	// first use). nil with an Identity: pins kept in memory only.
	Pins *identity.PinStore
	// ServerPins holds the keys pinned for servers, by address "host:port"
	// (Server as configured). nil with an Identity: kept in memory only.
	ServerPins *identity.PinStore
	// RequireEncryption refuses every chat that would not be end-to-end
	// encrypted: Invite and Send to such a peer fail with ErrNotEncrypted,
	// and its invites and requests are refused (EventError with
	// ErrNotEncrypted). It needs an Identity.
	RequireEncryption bool

	// LastBroadcast is the server-wide id (EventBroadcast.BID) of the last
	// broadcast this user saw in an earlier run, 0 for none. On a server
	// with the replay feature the Client asks for the broadcasts after it
	// once registered (they arrive with Missed set), and after every
	// reconnection for those after the last one it saw since.
	LastBroadcast uint64
	// NoRelay never uses the server's relay: private chats are peer to
	// peer only. NoMailbox never stores messages in the server's mailbox:
	// a message to an absent peer fails as it does with a server without
	// one. Both are for diagnosis and tests; a person's client leaves
	// them off.
	NoRelay, NoMailbox bool

	// ReadReceipts turns read receipts on: HELLO lists "read", MarkRead
	// tells peers that turned them on too what our user saw, and their
	// receipts arrive as EventRead. Off, we neither send nor report any.
	ReadReceipts bool

	// Files (files.go, docs/PROTOCOL.md §3.7). Downloads is the directory
	// received files go to; "" refuses every file (FILE_DECLINE). MaxFileSize
	// bounds an incoming file (0: DefaultMaxFileSize). AutoAcceptBelow: an
	// offer of at most this many bytes from a peer whose pinned key is
	// verified is accepted without asking (0: always ask). FileState is a
	// directory where outgoing transfers are recorded so that they resume
	// after a restart ("" : in memory only).
	Downloads       string
	MaxFileSize     int64
	AutoAcceptBelow int64
	FileState       string

	// hooks are test seams.
	hooks *hooks
	// noEndSum leaves wire.FeatureFilesEndSum out of HELLO (tests: a peer
	// of an earlier version).
	noEndSum bool
}

// hooks lets the package's tests intercept the network.
type hooks struct {
	// sendUDP, if set, is called before every UDP send of invites and
	// rejections. Returning false drops the datagram.
	sendUDP func(b []byte, to netip.AddrPort) (send bool)
	// conn, if set, wraps every TCP connection the Client accepts or dials.
	conn func(net.Conn) net.Conn
	// noAES makes the Client behave as a device without hardware AES
	// (e2e.HardwareAES false): no "e2e-aesgcm", ChaChaPoly only.
	noAES bool
}

// wrap applies the conn hook, if any.
func (cfg *Config) wrap(conn net.Conn) net.Conn {
	if cfg.hooks != nil && cfg.hooks.conn != nil {
		return cfg.hooks.conn(conn)
	}
	return conn
}

// validate checks the fields Dial needs; its errors wrap ErrConfig.
func (cfg *Config) validate() error {
	_, port, err := net.SplitHostPort(cfg.Server)
	if err != nil {
		return fmt.Errorf("%w: server address %q: %w", ErrConfig, cfg.Server, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%w: server address %q: the port must be 1 to 65535", ErrConfig, cfg.Server)
	}
	return nil
}

// DefaultConfig returns a Config for a person's client: the given server and
// nick, reconnection on, every other field at its default.
func DefaultConfig(server, nick string) Config {
	return Config{Server: server, Nick: nick, Reconnect: true}
}

func (cfg *Config) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.InviteTTL, DefaultInviteTTL)
	def(&cfg.ResendEvery, DefaultResendEvery)
	def(&cfg.FallbackAfter, DefaultFallbackAfter)
	def(&cfg.ChatDialTimeout, DefaultChatDialTimeout)
	def(&cfg.RequestTimeout, DefaultRequestTimeout)
	def(&cfg.RetryWindow, DefaultRetryWindow)
	def(&cfg.HeartbeatEvery, DefaultHeartbeatEvery)
	def(&cfg.ServerSilence, DefaultServerSilence)
	def(&cfg.EchoTimeout, DefaultEchoTimeout)
	def(&cfg.ChatPingEvery, DefaultChatPingEvery)
	def(&cfg.ChatSilence, DefaultChatSilence)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}
