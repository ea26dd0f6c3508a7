package client

import (
	"errors"
	"time"

	"peerchat/core/wire"
)

// Defaults used when the corresponding Config field is zero.
const (
	// DefaultInviteTTL is how long an invite we send or receive stays valid.
	DefaultInviteTTL = wire.DefaultInviteTTL

	// DefaultResendEvery is how often an unanswered CHAT_INVITE is sent again
	// (with the same nonce).
	DefaultResendEvery = 500 * time.Millisecond

	// DefaultFallbackAfter is how long we wait for a peer whose version we do
	// not know to answer an invite before we also try the base flow
	// (CHAT_REQUEST over TCP).
	DefaultFallbackAfter = 3 * time.Second

	// DefaultChatPingEvery is how long an open chat with a peer that
	// announced "keepalive" may stay silent before we PING it on the chat.
	DefaultChatPingEvery = 10 * time.Second

	// DefaultChatSilence is how long such a chat may stay silent before it
	// is taken as lost (ErrPeerSilent): a frozen or vanished peer is found
	// within it (issue 11 asks for 30 s), its messages go another way.
	DefaultChatSilence = 25 * time.Second

	// DefaultChatDialTimeout bounds a TCP connect to a peer or to the server.
	DefaultChatDialTimeout = 5 * time.Second

	// DefaultRequestTimeout bounds the wait for the answer to a base
	// CHAT_REQUEST, in both directions: a base peer gives up after about as
	// long.
	DefaultRequestTimeout = 10 * time.Second

	// DefaultRetryWindow is how long a message that could not be delivered is
	// kept for a resend before it is reported as failed.
	DefaultRetryWindow = 60 * time.Second

	// DefaultRegisterGrace is how long Dial waits for a refusal after
	// registering with a server that never says WELCOME (a base server sends
	// nothing on success when nobody else is registered). A port that stays
	// silent that long is taken for such a server; see the package doc.
	DefaultRegisterGrace = 300 * time.Millisecond

	// DefaultPeerSettle is how long after a reconnection the old peer table is
	// kept: peers the server has not listed again by then are reported gone.
	// Each JOINED restarts the wait.
	// It is longer than the reconnection backoff's spread, so that peers who
	// come back a little after us do not flicker out and in.
	DefaultPeerSettle = 1500 * time.Millisecond

	// DefaultHeartbeatEvery is how often we PING a v2 server that agreed on
	// heartbeats when it has sent nothing for that long.
	DefaultHeartbeatEvery = 5 * time.Second

	// DefaultServerSilence is how long a v2 server that agreed on heartbeats
	// may stay silent before the link is taken as dead.
	DefaultServerSilence = 15 * time.Second

	// DefaultLinkCheck is how long ReconnectNow waits for a heartbeat server
	// to answer its PING before it takes the link as dead.
	DefaultLinkCheck = time.Second

	// Reconnection backoff: the first wait, its cap (it doubles up to it),
	// and the jitter applied to every wait (± this fraction).
	DefaultBackoffMin    = 100 * time.Millisecond
	DefaultBackoffMax    = time.Second
	DefaultBackoffJitter = 0.2

	// DefaultKeysTimeout bounds the wait for the server's SIDENT when both
	// sides listed "keys": the registration completes only with it. It is
	// the server's registration time (docs/PROTOCOL.md §2.5).
	DefaultKeysTimeout = 10 * time.Second

	// DefaultEchoTimeout is how long a broadcast waits for the server's
	// echo (every PeerChat server, base or v2, sends the sender its own
	// copy) before it is reported failed (EventSendFailed wrapping
	// ErrNoEcho). It is what exposes a port that accepted REGISTER and
	// PORT but relays nothing (ServerUnconfirmed that never speaks): a
	// broadcast there fails instead of pending forever. A v2 server under
	// load answers in milliseconds; the margin covers a slow Wi-Fi.
	DefaultEchoTimeout = 10 * time.Second

	// MaxTextLen is the longest chat or broadcast text Send and Broadcast
	// accept, in bytes.
	MaxTextLen = 32 << 10

	// unknownPeerWait is how long a CHAT_REQUEST from a nick the server has
	// not listed yet waits for its JOINED before it is refused.
	unknownPeerWait = 2 * time.Second

	// reasonUnknownPeer starts the ERROR reason for such a refusal.
	reasonUnknownPeer = "unknown peer "

	// maxSilent bounds the sockets accepted on the chat port that have not
	// sent their first frame yet. When it is reached, the oldest of them is
	// closed to make room: a flood of silent connections costs each of them
	// its place, never a real peer (whose first frame follows its connect at
	// once) and never the server link, which is not counted here.
	maxSilent = 64

	// chatReadBuffer is the read buffer of a chat socket: 64 KiB, four times
	// wire.NewReader's, takes ~54 encrypted 1 KiB messages per read system
	// call; it raised encrypted 1 KiB throughput by ~20% on the reference
	// machine (BenchmarkChatThroughputEncrypted). A flood of silent sockets
	// costs at most maxSilent of them (4 MiB).
	chatReadBuffer = 64 << 10

	// maxUnknownWaits bounds the sockets whose CHAT_REQUEST waits for the
	// JOINED of its sender (unknownPeerWait); more are refused at once.
	maxUnknownWaits = 64

	// maxBroadcasts bounds our broadcasts waiting for the server's echo;
	// beyond it the oldest is reported failed.
	maxBroadcasts = 1024

	// chatBacklog bounds the bytes queued on a chat's link and not yet
	// written: beyond it, messages wait in the outbox (see Client.pump).
	chatBacklog = 256 << 10

	// relayChatWindow bounds the bytes of a relayed chat's messages that are
	// written and not yet acknowledged: the server drops a relayed frame
	// (RELAY_FAIL overflow, which breaks the chat) when its recipient's
	// queue holds half of its bound (512 KiB by default), so a relayed chat
	// never has more in flight than fits there.
	relayChatWindow = 256 << 10

	// relayPace and relayPaceBurst pace what a client relays, in bytes per
	// second: below the server's default relay rate (128 MiB/s, burst
	// 8 MiB, server.DefaultRelayRate), which drops what goes faster
	// (RELAY_FAIL rate).
	relayPace      = 120 << 20
	relayPaceBurst = 4 << 20

	// seenIDs is how many received message ids per peer are remembered to
	// drop duplicates.
	seenIDs = 4096
)

// features are the v2 features this client announces in HELLO; with
// Config.Identity, keys, e2e and (with hardware AES) e2e-aesgcm follow
// (Client.helloFeatures).
var features = []string{
	wire.FeatureHeartbeat, wire.FeatureBcast, wire.FeatureCaps, wire.FeatureNotice, wire.FeatureAck,
	wire.FeatureKeepalive,
}

// Errors returned by Dial and the Client's methods. Test with errors.Is.
var (
	// ErrNicknameTaken: the server already has a user with that nickname.
	ErrNicknameTaken = errors.New("nickname is taken")
	// ErrServerUnreachable wraps the network error of a failed connection
	// to the server (refused, timed out, closed during registration).
	ErrServerUnreachable = errors.New("server unreachable")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("client closed")
	// ErrNotConnected: the server link is down (reconnection may be under way).
	ErrNotConnected = errors.New("not connected to the server")
	// ErrUnknownPeer: the server does not list that nickname.
	ErrUnknownPeer = errors.New("no such peer")
	// ErrNoInvite: there is no pending invite from that peer.
	ErrNoInvite = errors.New("no pending invite from that peer")
	// ErrNoChat: there is no chat with that peer.
	ErrNoChat = errors.New("no chat with that peer")
	// ErrSelf: the nickname is our own.
	ErrSelf = errors.New("that is you")
	// ErrBadText: the text is empty, too long or not valid UTF-8.
	ErrBadText = errors.New("text must be 1 to 32768 bytes of valid UTF-8")
	// ErrPeerLeft: the peer left the server (or left the chat) before a
	// message could be delivered.
	ErrPeerLeft = errors.New("peer left")
	// ErrExpired: a message could not be delivered within the retry window,
	// or an invite was not answered in time.
	ErrExpired = errors.New("not delivered in time")
	// ErrDeclined: the peer declined the chat a message was waiting for.
	ErrDeclined = errors.New("peer declined the chat")
	// ErrLeftChat: we left the chat (or closed the client) before the
	// message was delivered.
	ErrLeftChat = errors.New("chat closed before delivery")
	// ErrServer wraps an ERROR or NOTICE sent by the server.
	ErrServer = errors.New("server error")
	// ErrPeer wraps an ERROR a peer sent on a chat socket.
	ErrPeer = errors.New("peer error")
	// ErrNotPeerChat: the server address answered with something that is
	// not the PeerChat protocol (another service on that port).
	ErrNotPeerChat = errors.New("not a PeerChat server")
	// ErrNoEcho: the server did not relay our broadcast back within
	// DefaultEchoTimeout: it was probably never delivered (a server that
	// swallows what it is sent, or one that dropped it silently).
	ErrNoEcho = errors.New("the server did not relay the broadcast")
	// ErrPeerSilent: an open chat's peer answered nothing for
	// DefaultChatSilence (frozen, asleep, or its network gone); the chat
	// is closed as lost and its messages take another way.
	ErrPeerSilent = errors.New("the peer stopped answering")
	// ErrRelay: the server did not forward a relayed chat frame
	// (RELAY_FAIL); wrapped in a *RelayError with the server's reason.
	ErrRelay = errors.New("the server could not relay the chat")
	// ErrMailbox: the server's mailbox refused a message or dropped it
	// unread (MBOX_REFUSED); wrapped in a *MailboxError with the reason.
	ErrMailbox = errors.New("the server's mailbox refused the message")
	// ErrConfig: a Config field is invalid (Dial returns it before any
	// network access).
	ErrConfig = errors.New("invalid client configuration")
)

// RelayError is a RELAY_FAIL: the server dropped a frame of the relayed
// chat stream with Peer, for Reason (wire.RelayOffline, …).
type RelayError struct {
	Peer   string
	Reason string
}

func (e *RelayError) Error() string {
	return "relay to " + quote(e.Peer) + " failed: " + e.Reason
}

// Unwrap returns ErrRelay.
func (e *RelayError) Unwrap() error { return ErrRelay }

// MailboxError is an MBOX_REFUSED: the server's mailbox did not keep a
// message for Peer, for Reason (wire.MboxFull, wire.MboxExpired, …).
type MailboxError struct {
	Peer   string
	Reason string
}

func (e *MailboxError) Error() string {
	return "the server's mailbox refused the message to " + quote(e.Peer) + ": " + e.Reason
}

// Unwrap returns ErrMailbox.
func (e *MailboxError) Unwrap() error { return ErrMailbox }

// NickError reports a nickname that breaks the nickname rules
// (wire.ValidateNick); Dial checks them before any network access. A server's
// refusal is never a NickError: NICKNAME_TAKEN wraps ErrNicknameTaken, and
// any other refusal (ERROR <reason>) wraps ErrServer with the reason.
type NickError struct {
	Nick   string
	Reason string // the rule that failed
}

func (e *NickError) Error() string { return "nickname " + quote(e.Nick) + " refused: " + e.Reason }
