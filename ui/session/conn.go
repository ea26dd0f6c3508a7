package session

// This file is what the Service needs of the client core (Conn and the
// optional interfaces a Conn may implement: ServerKinder, Reader, Chats)
// and of the history (Store).

import (
	"peerchat/core/client"
	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// Conn is what the Service needs of the client core; *client.Client
// implements it. Its methods must be safe for concurrent use and must not
// wait for the network (Close excepted).
type Conn interface {
	// Poll appends the events that happened since the last call to dst.
	Poll(dst []client.Event) []client.Event
	Nick() string
	ServerAddr() string
	Peers() []client.Peer
	// Broadcast queues text for everyone and returns the id that the echo
	// (EventBroadcast) or EventSendFailed will carry.
	Broadcast(text string) (uint64, error)
	Invite(nick string) error
	Accept(nick string) error
	Decline(nick string) error
	// Send queues text on the chat with nick and returns the message id
	// that later EventSent, EventDelivered or EventSendFailed events name.
	Send(nick, text string) (uint64, error)
	LeaveChat(nick string) error
	ReconnectNow()
	Close() error
}

// ServerKinder is a Conn that says what kind of server it registered with;
// *client.Client implements it. The Service asks it after each batch of
// events whether a server that had said nothing (model.Unconfirmed) has
// spoken since. Without it, only the events that come from the server
// (people, broadcasts) confirm it.
type ServerKinder interface {
	ServerKind() client.ServerKind
}

var _ ServerKinder = (*client.Client)(nil)

// Reader is a Conn that sends read receipts; *client.Client implements
// it. The Service calls MarkRead with the newest message with an id that
// the peer of the private thread the user looks at sent, once per such
// message (see the package doc). The client core sends nothing unless
// both sides turned read receipts on.
type Reader interface {
	MarkRead(nick string, id uint64) error
}

var _ Reader = (*client.Client)(nil)

// Chats is a Conn that says where its private chat with a peer stands;
// *client.Client implements it. After Send, the Service asks it whether
// the message asked for a chat (client.ChatInviting: the peer is online
// and no chat was open or asked for), so that the thread says "Chat
// request sent" before the message that made it, not after. Without it,
// the line comes with client.EventInviting, after the message.
type Chats interface {
	Chat(nick string) client.ChatState
}

var _ Chats = (*client.Client)(nil)

// Store is where the Service keeps the history; *historystore.Store
// implements it. Its methods must be safe for concurrent use.
type Store interface {
	// Threads lists the keys of the private threads that have history.
	Threads() ([]string, error)
	// Load returns up to n messages of thread before beforeSeq (0: the
	// newest), oldest first, with their Seq set.
	Load(thread string, beforeSeq uint64, n int) ([]model.Message, error)
	// Write applies ws in one transaction, in order.
	Write(ws []historystore.Write) error
}
