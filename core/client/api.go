// Package client is the PeerChat client core: registration with a server, the
// live peer table, broadcasts, peer-to-peer private chats (UDP invites and the
// base CHAT_REQUEST flow), delivery acknowledgements, and reconnection.
//
// It has no UI. A UI drains one ordered stream of events with Poll, prompted by
// Config.Notify; nothing a UI does can block the network goroutines. It
// imports nothing from package server: hosting a server in process is
// peerchat/server/host's job.
//
// # Use
//
// Dial returns a running Client. Every method is safe for concurrent use and
// returns without waiting for the network: results arrive as events. The
// event queue is unbounded, so a slow UI costs memory, never a stalled
// socket. Close leaves the open chats (LEFT_CHAT) and returns once every
// goroutine has ended.
//
// The core is the one owner of the facts it reports: which broadcast is our
// own echo (EventBroadcast.ID), who sent a broadcast ("" when the server does
// not say), whether a message was written (EventSent, ✓) or acknowledged
// (EventDelivered, ✓✓) — the states of peerchat/core/delivery —, when an
// invite expires (EventInvite.Expires for theirs, EventInviting.Expires for
// ours), and what went wrong (errors to test with errors.Is and errors.As,
// never by their text).
//
// # Server link
//
// Registration is REGISTER then PORT. A v2 server's WELCOME is answered
// with HELLO (heartbeat bcast caps notice ack, and keys e2e with
// Config.Identity, and e2e-aesgcm too with e2e.HardwareAES; a keys server then proves its key before registration
// completes, see "Identities and encryption"). The first frame the server
// sends must be a PeerChat server payload (WELCOME, JOINED, NICKNAME_TAKEN,
// ERROR, …): a bad frame header, an unknown verb or a client's verb first
// fails Dial with ErrNotPeerChat (another service on that port), and a
// close during registration fails it with ErrServerUnreachable. A base
// server sends nothing on success when nobody else is registered, so a port
// that stays silent for DefaultRegisterGrace is taken for one: Dial
// succeeds, and EventRegistered says Server ServerUnconfirmed (a port that
// swallows bytes looks the same: its broadcasts fail after
// DefaultEchoTimeout); should that port then send anything that is not
// PeerChat, the link ends with ErrNotPeerChat (EventServerLost). With Config.Reconnect a
// dropped link (EOF, heartbeat silence, TCP keepalive) is redialled with
// exponential backoff and jitter (DefaultBackoffMin doubling to
// DefaultBackoffMax); once registered again the peer table is rebuilt and
// only the differences are reported (EventPeerLeft after DefaultPeerSettle
// for peers not listed again). Open chats are peer to peer and survive the
// server's restarts. Nothing that arrives on the chat port counts against
// the server link.
//
// # Private chats
//
// Invite sends CHAT_INVITE datagrams (same nonce, every ResendEvery, until
// InviteTTL) to a peer known to speak v2; a peer the server lists without
// CAPS, or any peer on a base server, is reached at once with the base flow
// (CHAT_REQUEST over TCP); on a v2 server without CAPS the base flow starts
// after FallbackAfter. Incoming invites are dropped unless the nick is listed
// and the datagram comes from its registered IP; incoming sockets are kept
// only for a CHAT_ACCEPT with a live nonce issued to that nick from its
// address, or a CHAT_REQUEST from a listed peer's address. At most maxSilent
// (64) accepted sockets may wait for their first frame; one more closes the
// oldest of them, so a flood of silent connections to the chat port only
// pushes out its own members, and a real peer, which sends its first frame
// as soon as it is connected, still gets in.
//
// # Identities and encryption
//
// On the server link: with Config.Identity set, HELLO lists "keys" and "e2e". When the server's
// WELCOME lists "keys" too, registration completes only once the server
// proved its key (SKEY, IDENT, SIDENT; a bad SIDENT ends the link with
// ErrServerIdent). The server's key is pinned per server address in
// Config.ServerPins (trust on first use) and reported with EventServerKey.
// A changed server key (KeyResult identity.Changed) holds every broadcast
// and invite (Broadcast and Invite return ErrServerKeyChanged; Send queues
// without inviting) until AcceptServerKey. KEY frames fill Peer.Key, the
// key the server says each peer holds.
//
// Private chats: when both sides announced "e2e" and the chat opens by an invite, the
// dialer runs the Noise handshake of package core/e2e right after
// CHAT_ACCEPT, and every later chat frame is sealed: with AES-256-GCM when
// both announced "e2e-aesgcm" (hardware AES on both devices), else with
// ChaCha20-Poly1305 (the dialer proposes; a listener without hardware AES
// accepts ChaChaPoly only). Each side checks the
// key the other proved: against its pin (Config.Pins, by folded nick) if
// there is one, else against the key the server announced (KEY), and pins
// it the first time (trust on first use). A proved key that differs from
// the pin refuses the chat and is reported with EventKeyChanged; sending to
// that peer is then held (messages stay pending, their retry window
// paused) until AcceptKey pins the new key, or LeaveChat gives them up. The
// same happens when the server announces a key that differs from the pin.
// A proved key that differs from the announced one, for a peer without a
// pin, refuses the chat with ErrKeyMismatch. Any integrity error of the
// encrypted stream (package e2e's ErrReplayed, ErrReordered, ErrTruncated,
// ErrAltered, ErrNotEncrypted, ErrMalformed) closes the chat:
// EventChatClosed with ReasonLost and Err wrapping it. Chats by the base
// flow, and with peers that did not announce "e2e", are plaintext
// (EventChatOpen.Encrypted false). Such a chat is refused (ErrNotEncrypted)
// with Config.RequireEncryption, and with a peer whose key is pinned: that
// is a downgrade (a server can strip "e2e" from CAPS), until ForgetKey.
//
// Broadcasts: with "keys" negotiated, Broadcast sends SBROADCAST, signed
// over the server's proved key, our nick, the time and the text.
// EventBroadcast.Signature says what the core found: SigValid or SigBad for
// a signed one (checked against the sender's pinned key, else the announced
// one; SigBad when neither exists); for an unsigned one, SigMissing when
// the server speaks keys and the sender has a known key, else SigNone (a
// sender without keys, a server without keys: nothing is wrong).
//
// # Through the server, and for peers who are away
//
// With an Identity, HELLO lists relay, mailbox and replay too (unless
// Config.NoRelay or NoMailbox), and keepalive always (docs/PROTOCOL.md
// §3.6). When the server relays and the peer listed relay and e2e, an
// invite goes both as the datagram and through the server (a relay stream
// named by its nonce); the chat opens on whichever path completes its
// handshake first (EventChatOpen.Route), moves to a direct socket that
// completes later (EventRoute), and a direct chat that breaks is invited
// again at once (the relay answers). Chats through the server run the same
// Noise session; the server relays sealed frames only.
//
// A message that cannot go live (the peer is not online, our invite
// expired unanswered, the peer left without acknowledging it, or it waited
// RetryWindow) is sealed to the peer's key (its pin, else the key the
// server announced, remembered after the peer left) and given to the
// server's mailbox: EventStored when the server has it on disk,
// EventDelivered when the peer's device took it (possibly in a later run:
// the id is the same). Send accepts a nick that is not online when the
// mailbox can take it (ErrNoKey when its key was never learnt). Messages the
// mailbox keeps for us arrive as EventChatMsg with Route RouteMailbox, once
// per (peer, id) whichever way they came. While the server is away, messages
// wait: a transient failure never fails a message; only a refusal of the
// mailbox (*MailboxError), a decline, leaving the chat, or an unknown key
// does.
//
// A chat with a peer that listed keepalive is PINGed after ChatPingEvery
// of silence and lost after ChatSilence (ErrPeerSilent). On a server with
// replay, a client that saw broadcast ids asks for those it missed (SINCE,
// Config.LastBroadcast for the first registration): they arrive with
// Missed set, each id once.
//
// # Delivery
//
// When both peers announced "ack" (CAPS), messages go as CHAT_MSG2 with a
// local id, are reported EventSent once written to the chat socket and
// EventDelivered on CHAT_ACK; the receiver acknowledges every copy and
// delivers each id once, so messages can be resent after a lost chat. With
// base peers (and with a peer whose CAPS have not arrived yet) they go as
// CHAT_MSG and are reported EventSent once written, and nothing more: no
// acknowledgement exists, and a message written just before the socket died
// may be lost. A message sent while the chat is down waits (and re-invites
// the peer); it is reported EventSendFailed when the peer leaves the server
// or the chat, declines, lets the invite expire, or RetryWindow passes:
// never dropped silently.
//
// # Files
//
// SendFile offers a file in the private chat with a peer that lists
// "files" and "e2e" (else ErrNoFiles): the file is hashed off the
// caller's goroutine, then offered (FILE_OFFER) on the encrypted chat,
// which is invited as Send does when it is not open. Chunks go from the
// receiver's verified offset, at most transfer.Window (4 MiB) beyond its
// last FILE_ACK on a direct chat and 256 KiB through the server (48 KiB
// chunks there, one e2e fragment each); the receiver writes them into
// Config.Downloads (transfer.Receive) from the chat's reader goroutine,
// never under Client.mu, and the file is reported received
// (EventFileDone with File.Path) only once its SHA-256 matched. A broken
// chat pauses the transfer (EventFileProgress with Paused); when the chat
// opens again, or after either app restarted (the receiver's partial file
// in Downloads, the sender's record in Config.FileState), the sender
// offers it again and the receiver accepts from its verified offset
// without asking, so at most one chunk is sent twice. Offers wait for
// AcceptFile or DeclineFile (EventFileOffer), unless they are at most
// Config.AutoAcceptBelow from a peer whose pinned key is verified, or
// resume a partial file; an offer above Config.MaxFileSize
// (DefaultMaxFileSize) is declined (too_large) before anything is
// written. A file for a peer who is away, or who let our invite expire
// before the transfer started, is parked: sealed to the peer's key as
// mailbox items (FILE_OFFER, 48 KiB FILE_CHUNKs, FILE_END), put in order,
// received by itself when the peer is back (up to MaxFileSize),
// EventFileDone on the sender when the last item is delivered; a mailbox
// that refuses an item fails the transfer (ErrMailbox: send it when the
// peer is online). Progress events come at most four a second per
// transfer. Files lists the transfers under way; CancelFile ends one.
//
// # Locking
//
// One mutex (Client.mu) guards the state. No socket is written while it is
// held: frames for a chat or the server go through a link's buffer and its
// writer goroutine, and the last frame on a socket that no link owns
// (CHAT_REJECT, a timed-out request's ERROR) and every UDP datagram are
// queued and written once the lock is released.
package client

import (
	"net/netip"

	"peerchat/core/identity"
	"strconv"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds. The fields of Event each kind sets are listed beside it.
const (
	EventRegistered    EventKind = iota + 1 // Peer (our nick), Text (server address), Server
	EventPeerJoined                         // Peer, IP
	EventPeerLeft                           // Peer
	EventBroadcast                          // From, Text, Time, Seq (0 from a base server), ID (our own echo only), Signature; see below
	EventInvite                             // From, Expires: a chat request waits for Accept or Decline
	EventInviteExpired                      // From: a request we received expired unanswered
	EventChatOpen                           // Peer, Encrypted, Verified, Key and KeyResult (when encrypted)
	EventChatMsg                            // From (the peer), Peer, Text, Time, ID (0 from a base peer)
	EventDelivered                          // Peer, ID: the peer acknowledged message ID (✓✓, delivery.Delivered)
	EventSendFailed                         // Peer ("" for a broadcast), ID, Text, Err: message ID was not delivered and will not be retried
	EventChatClosed                         // Peer, Reason
	EventServerLost                         // Err
	EventReconnecting                       // Attempt, RetryIn
	EventReconnected                        // Text (server address), Server
	EventError                              // Err (and Peer when it concerns a chat)
	EventSent                               // Peer, ID, Final: message ID was written to the chat socket (✓, delivery.Sent)
	EventInviting                           // Peer, Expires: we invited Peer (Invite, or Send to a peer without a chat)
	EventServerKey                          // Key, KeyResult, Text (server address); when Changed also OldKey, Verified (of the old key), Err: the server proved its key
	EventKeyChanged                         // Peer, Key (new), OldKey (pinned), Verified (the old key was verified), Err: sending to Peer waits for AcceptKey
	EventStored                             // Peer, ID: the server's mailbox holds message ID for Peer, who is away (delivery.Stored); EventDelivered follows when Peer's device takes it
	EventRoute                              // Peer, Route: the open chat with Peer moved to another path (direct ↔ through the server)
	EventFileOffer                          // Peer, File: Peer offers a file (see files.go)
	EventFileProgress                       // Peer, File, Progress, Paused
	EventFileDone                           // Peer, File (Path of a received file)
	EventFileFailed                         // Peer, File, Err
	EventRead                               // Peer, ID: Peer's user saw our message ID and every earlier one (delivery.Read; read receipts on both sides)
)

// Route says which way the frames of a private chat, or one message, go.
type Route int

// Routes.
const (
	RouteNone    Route = iota // no open chat
	RouteDirect               // peer to peer: our TCP socket to the peer
	RouteRelay                // through the server (feature relay), sealed end to end
	RouteMailbox              // a message only: stored by the server's mailbox and delivered when its recipient came back
)

var routeNames = [...]string{RouteNone: "none", RouteDirect: "direct", RouteRelay: "relay", RouteMailbox: "mailbox"}

// String returns "none", "direct", "relay" or "mailbox".
func (r Route) String() string {
	if r >= 0 && int(r) < len(routeNames) {
		return routeNames[r]
	}
	return "Route(" + strconv.Itoa(int(r)) + ")"
}

// Broadcasts. EventBroadcast with ID != 0 is the server's echo of our own
// Broadcast that returned that ID, and then From is our nick. Our own echo is
// recognised by the core alone: on a v2 server by its sender (us) and its
// place in the order we sent; on a base server, which names nobody, by
// text: its echo is ours when its text is that of the oldest of ours still
// waiting for an echo. From is "" for a broadcast relayed by a base server
// (one that never said WELCOME) that is not ours: the sender is unknown, and
// the text is exactly what the server sent, never split at a "nick: "
// prefix, which anyone can type. (A v2 server names the sender: in BCAST,
// or, until our HELLO reaches it, in the base form "<sender>: <text>" that
// PROTOCOL.md §2.1 defines for it; only then is the text split.) From equal to
// our nick with ID 0 is ours from another session or from before a
// reconnection. A broadcast the server refused (NOTICE), or whose echo was
// lost with the server link or with Close, is reported EventSendFailed
// with Peer "" and its ID.
//
// Delivery of chat messages: Send returns an ID, then EventSent when the
// message was written to the chat socket, then, for a peer that acknowledges
// (both announced "ack"), EventDelivered when its CHAT_ACK arrives. A base
// peer never acknowledges: EventSent is its last event, with Final set. EventSent always
// comes before EventDelivered for the same ID, and at most once per ID, even
// when the message is resent after a lost chat; EventSendFailed can follow
// EventSent (an acknowledged message that was written but never
// acknowledged).

// CloseReason says why a chat ended or never opened.
type CloseReason string

// Close reasons of EventChatClosed.
const (
	ReasonLeft     CloseReason = "left"     // the peer left on purpose (LEFT_CHAT)
	ReasonLost     CloseReason = "lost"     // the socket closed or failed without LEFT_CHAT
	ReasonDeclined CloseReason = "declined" // the peer declined our invite
	ReasonExpired  CloseReason = "expired"  // our invite was never answered
	ReasonClosed   CloseReason = "closed"   // we left the chat or closed the client
)

// Event is one thing that happened. Only the fields its Kind lists are set.
type Event struct {
	Kind    EventKind
	Time    time.Time // when it happened (for messages: the sender's time when known)
	Peer    string
	From    string
	Text    string
	IP      netip.Addr
	ID      uint64
	Seq     uint64
	Reason  CloseReason
	Err     error
	Attempt int
	RetryIn time.Duration
	Expires time.Time
	// Final, on EventSent, says that no EventDelivered or EventSendFailed
	// will follow for that ID: the peer does not acknowledge (a base peer,
	// or one whose CAPS had not arrived when the message was written).
	Final bool

	// Server, on EventRegistered and EventReconnected, says what kind of
	// server answered (ServerUnconfirmed for a port that stayed silent).
	Server ServerKind
	// Key is a public identity: the server's (EventServerKey), a peer's new
	// key (EventKeyChanged), or the key the peer proved (EventChatOpen of
	// an encrypted chat). OldKey is the pinned key it replaces.
	Key, OldKey identity.PublicIdentity
	// KeyResult says how Key compares with its pin (EventServerKey, and
	// EventChatOpen of an encrypted chat): identity.New, Same or Changed.
	KeyResult identity.Result
	// Encrypted, on EventChatOpen: the chat is end-to-end encrypted.
	Encrypted bool
	// Verified, on EventChatOpen: the peer's key is pinned and verified;
	// on EventKeyChanged: the key being replaced was verified (say it
	// loudly).
	Verified bool
	// Signature, on EventBroadcast: what the core found about its signature.
	Signature SigState

	// Route: on EventChatOpen and EventRoute, the path the chat now takes;
	// on EventChatMsg, the path the message came by (RouteMailbox for one
	// the server kept while we were away).
	Route Route
	// BID, on EventBroadcast from a server with the replay feature, is the
	// broadcast's server-wide id (0 otherwise): a client keeps the last one
	// it saw and gives it back as Config.LastBroadcast in its next run.
	// Missed marks a broadcast sent while we were away, replayed by the
	// server when we came back (docs/PROTOCOL.md §2.9).
	BID    uint64
	Missed bool

	// File describes the transfer of EventFileOffer, EventFileProgress,
	// EventFileDone and EventFileFailed, and the picture of an
	// EventBroadcast that carries one (nil otherwise). Progress and
	// Paused (the chat is down: it resumes when the peer is back) are set
	// on EventFileProgress.
	File     *FileInfo
	Progress Progress
	Paused   bool
}

// Peer is one registered user as the server listed it.
type Peer struct {
	Nick     string
	IP       netip.Addr
	UDPPort  int
	TCPPort  int
	Features []string // v2 features from CAPS; nil for base peers
	// Key is the key the server announced for the peer (KEY); zero when
	// none. The key that counts is the one pinned (Client.PeerKey).
	Key identity.PublicIdentity
}

// ChatState is the state of the private chat with one peer.
type ChatState int

// Chat states.
const (
	ChatNone     ChatState = iota // no chat
	ChatInviting                  // we invited, waiting for the peer
	ChatInvited                   // the peer invited us, waiting for our answer
	ChatOpen                      // the chat socket is up
)

var kindNames = [...]string{
	EventRegistered:    "registered",
	EventPeerJoined:    "peer_joined",
	EventPeerLeft:      "peer_left",
	EventBroadcast:     "broadcast",
	EventInvite:        "invite",
	EventInviteExpired: "invite_expired",
	EventChatOpen:      "chat_open",
	EventChatMsg:       "chat_msg",
	EventDelivered:     "delivered",
	EventSendFailed:    "send_failed",
	EventChatClosed:    "chat_closed",
	EventServerLost:    "server_lost",
	EventReconnecting:  "reconnecting",
	EventReconnected:   "reconnected",
	EventError:         "error",
	EventSent:          "sent",
	EventInviting:      "inviting",
	EventServerKey:     "server_key",
	EventKeyChanged:    "key_changed",
	EventStored:        "stored",
	EventRoute:         "route",
	EventFileOffer:     "file_offer",
	EventFileProgress:  "file_progress",
	EventFileDone:      "file_done",
	EventFileFailed:    "file_failed",
	EventRead:          "read",
}

// String returns the kind's name as the terminal client prints it in -json
// mode ("chat_msg", "server_lost", …).
func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

var stateNames = [...]string{ChatNone: "none", ChatInviting: "inviting", ChatInvited: "invited", ChatOpen: "open"}

// String returns "none", "inviting", "invited" or "open".
func (s ChatState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "ChatState(" + strconv.Itoa(int(s)) + ")"
}
