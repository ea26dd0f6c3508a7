// Package client is the PeerChat client core: registration with a server, the
// live peer table, broadcasts, peer-to-peer private chats (UDP invites and the
// base CHAT_REQUEST flow), delivery acknowledgements, and reconnection.
//
// It has no UI. A UI drains one ordered stream of events with Poll, prompted by
// Config.Notify; nothing a UI does can block the network goroutines.
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
