// Package client is the PeerChat client core: registration with a server, the
// live peer table, broadcasts, peer-to-peer private chats (UDP invites and the
// base CHAT_REQUEST flow), delivery acknowledgements, and reconnection.
//
// It has no UI. A UI drains one ordered stream of events with Poll, prompted by
// Config.Notify; nothing a UI does can block the network goroutines.
package client

import (
	"net/netip"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds. The fields of Event each kind sets are listed beside it.
const (
	EventRegistered     EventKind = iota + 1 // Peer (our nick), Text (server address)
	EventPeerJoined                          // Peer, IP
	EventPeerLeft                            // Peer
	EventBroadcast                           // From, Text, Time, Seq (0 from a base server)
	EventInvite                              // From, Expires: a chat request waits for Accept or Decline
	EventInviteExpired                       // From: a request we received expired unanswered
	EventChatOpen                            // Peer
	EventChatMsg                             // From (the peer), Peer, Text, Time, ID (0 from a base peer)
	EventDelivered                           // Peer, ID: the peer acknowledged message ID
	EventSendFailed                          // Peer, ID, Text, Err: message ID was not delivered and will not be retried
	EventChatClosed                          // Peer, Reason
	EventServerLost                          // Err
	EventReconnecting                        // Attempt, RetryIn
	EventReconnected                         // Text (server address)
	EventError                               // Err (and Peer when it concerns a chat)
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
