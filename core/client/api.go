// Package client is the PeerChat client core: registration with a server, the
// live peer table, broadcasts, peer-to-peer private chats (UDP invites and the
// base CHAT_REQUEST flow), delivery acknowledgements, and reconnection.
//
// It has no UI. A UI drains one ordered stream of events with Poll, prompted by
// Config.Notify; nothing a UI does can block the network goroutines.
//
// # Use
//
// Dial (or Host, which first starts a server in process) returns a running
// Client. Every method is safe for concurrent use and returns without
// waiting for the network: results arrive as events. The event queue is
// unbounded, so a slow UI costs memory, never a stalled socket. Close leaves
// the open chats (LEFT_CHAT) and returns once every goroutine has ended.
//
// # Server link
//
// Registration is REGISTER then PORT. A v2 server's WELCOME is answered
// with HELLO (heartbeat bcast caps notice ack); a base server's silence for
// DefaultRegisterGrace counts as success. With Config.Reconnect a dropped
// link (EOF, heartbeat silence, TCP keepalive) is redialled with exponential
// backoff and jitter (DefaultBackoffMin doubling to DefaultBackoffMax);
// once registered again the peer table is rebuilt and only the differences
// are reported (EventPeerLeft after DefaultPeerSettle for peers not listed
// again). Open chats are peer to peer and survive the server's restarts.
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
// address, or a CHAT_REQUEST from a listed peer's address.
//
// # Delivery
//
// When both peers announced "ack" (CAPS), messages go as CHAT_MSG2 with a
// local id and are reported EventDelivered on CHAT_ACK; the receiver
// acknowledges every copy and delivers each id once, so messages can be
// resent after a lost chat. With base peers they go as CHAT_MSG and are
// reported delivered once written to the socket: no acknowledgement exists,
// and a message written just before the socket died may be lost. A message
// sent while the chat is down waits (and re-invites the peer); it is
// reported EventSendFailed when the peer leaves the server or the chat,
// declines, lets the invite expire, or RetryWindow passes: never dropped
// silently.
package client

import (
	"net/netip"
	"strconv"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds. The fields of Event each kind sets are listed beside it.
const (
	EventRegistered    EventKind = iota + 1 // Peer (our nick), Text (server address)
	EventPeerJoined                         // Peer, IP
	EventPeerLeft                           // Peer
	EventBroadcast                          // From, Text, Time, Seq (0 from a base server)
	EventInvite                             // From, Expires: a chat request waits for Accept or Decline
	EventInviteExpired                      // From: a request we received expired unanswered
	EventChatOpen                           // Peer
	EventChatMsg                            // From (the peer), Peer, Text, Time, ID (0 from a base peer)
	EventDelivered                          // Peer, ID: the peer acknowledged message ID
	EventSendFailed                         // Peer, ID, Text, Err: message ID was not delivered and will not be retried
	EventChatClosed                         // Peer, Reason
	EventServerLost                         // Err
	EventReconnecting                       // Attempt, RetryIn
	EventReconnected                        // Text (server address)
	EventError                              // Err (and Peer when it concerns a chat)
)

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
}

// Peer is one registered user as the server listed it.
type Peer struct {
	Nick     string
	IP       netip.Addr
	UDPPort  int
	TCPPort  int
	Features []string // v2 features from CAPS; nil for base peers
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
