package session

import (
	"fmt"

	"peerchat/core/client"
	"peerchat/core/identity"
	"peerchat/ui/model"
)

// Keys is what the Service needs of the client core for device identities
// (issue 10); *client.Client implements it. A Conn that does not implement
// it has no keys: its threads say nothing about encryption (model.Security
// with Known false) and the methods below fail with client.ErrNoKey.
type Keys interface {
	SafetyNumber(peer string) (string, error)
	SetVerified(peer string, verified bool) error
	PeerKey(peer string) (client.KeyInfo, bool)
	AcceptKey(peer string) error
	AcceptServerKey() error
}

var _ Keys = (*client.Client)(nil)

// keys returns the Conn's Keys, or nil.
func (s *Service) keys() Keys {
	k, _ := s.conn.(Keys)
	return k
}

// Safety returns the safety number of our key and the key pinned for the
// peer of thread (60 digits in 12 groups of 5), and whether that key is
// marked verified. It computes for a few milliseconds: call it when the
// verify dialog opens. The error wraps client.ErrNoKey when there is no
// identity or no pin for the peer yet.
func (s *Service) Safety(thread string) (number string, verified bool, err error) {
	k := s.keys()
	s.mu.Lock()
	nick := s.j.nick(thread)
	s.mu.Unlock()
	if k == nil {
		return "", false, fmt.Errorf("safety number for %q: %w", nick, client.ErrNoKey)
	}
	number, err = k.SafetyNumber(nick)
	if err != nil {
		return "", false, err
	}
	info, _ := k.PeerKey(nick)
	return number, info.Verified, nil
}

// SetVerified marks the key of the peer of thread verified (or not): the
// user compared the safety number. The thread's Security follows.
func (s *Service) SetVerified(thread string, verified bool) error {
	k := s.keys()
	if k == nil {
		return fmt.Errorf("verify: %w", client.ErrNoKey)
	}
	s.mu.Lock()
	nick := s.j.nick(thread)
	s.mu.Unlock()
	if err := k.SetVerified(nick, verified); err != nil { // writes the pins
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.j.security(thread)
	sec.Verified = verified
	s.j.setSecurity(thread, sec)
	if verified {
		s.j.system(thread, "You marked "+nick+"'s key as verified.", s.now())
	}
	s.wake()
	return nil
}

// AcceptKey accepts the changed key of the peer of thread: it is pinned,
// unverified, and the messages held for the peer go out.
func (s *Service) AcceptKey(thread string) error {
	k := s.keys()
	if k == nil {
		return fmt.Errorf("accept key: %w", client.ErrNoKey)
	}
	s.mu.Lock()
	nick := s.j.nick(thread)
	s.mu.Unlock()
	err := k.AcceptKey(nick) // writes the pins
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.push(model.Change{Op: model.OpNotice, Text: "Could not accept " + nick + "'s new key: " + err.Error()})
		return err
	}
	sec := s.j.security(thread)
	sec.KeyChanged, sec.WasVerified, sec.Verified = false, false, false
	s.j.setSecurity(thread, sec)
	s.j.system(thread, "You accepted "+nick+"'s new key. It is not verified.", s.now())
	s.wake()
	return nil
}

// AcceptServerKey accepts the server's changed key: it is pinned for the
// server's address and what was held goes out.
func (s *Service) AcceptServerKey() error {
	k := s.keys()
	if k == nil {
		return fmt.Errorf("accept the server's key: %w", client.ErrNoKey)
	}
	err := k.AcceptServerKey() // writes the pins
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.push(model.Change{Op: model.OpNotice, Text: "Could not accept the server's key: " + err.Error()})
		return err
	}
	s.j.serverKey(false)
	s.j.system(model.Everyone, "You accepted the server's new key.", s.now())
	s.wake()
	return nil
}

// security returns what thread shows of encryption and keys.
func (j *journal) security(thread string) model.Security {
	sec := j.sec[thread]
	sec.Known = j.keyed
	return sec
}

// setSecurity records sec for thread and queues it for the UI.
func (j *journal) setSecurity(thread string, sec model.Security) {
	sec.Known = j.keyed
	j.sec[thread] = sec
	j.s.push(model.Change{Op: model.OpSecurity, Thread: thread, Nick: j.nick(thread), Sec: sec})
}

// serverKey records whether a changed server key waits for the user.
func (j *journal) serverKey(changed bool) {
	j.srvChanged = changed
	j.s.push(model.Change{Op: model.OpServerKey, Sec: model.Security{KeyChanged: changed, Known: j.keyed}})
}

// applyKeys turns the events of identities into Changes: a chat that
// opened (encrypted or not), a peer's changed key, the server's key.
func (j *journal) applyKeys(ev client.Event) {
	switch ev.Kind {
	case client.EventChatOpen:
		key := j.peer(ev.Peer)
		sec := j.security(key)
		sec.Encrypted, sec.Verified = ev.Encrypted, ev.Verified
		sec.KeyChanged, sec.WasVerified = false, false
		j.setSecurity(key, sec)
	case client.EventKeyChanged:
		key := j.peer(ev.Peer)
		sec := j.security(key)
		sec.KeyChanged, sec.WasVerified, sec.Verified = true, ev.Verified, false
		j.setSecurity(key, sec)
		text := ev.Peer + "'s key changed. Messages to " + ev.Peer + " wait until you accept the new key."
		if ev.Verified {
			text = ev.Peer + "'s verified key changed! Messages to " + ev.Peer + " wait until you accept the new key."
		}
		j.system(key, text, ev.Time)
		j.s.attention(key, ev.Peer+"'s key changed", "Open PeerChat to check it.")
	case client.EventServerKey:
		switch {
		case ev.KeyResult == identity.Changed:
			j.serverKey(true)
			j.system(model.Everyone, "The server's key changed. Nothing is sent until you accept it.", ev.Time)
		case j.srvChanged:
			j.serverKey(false)
		}
	}
}

// snapshotKeys queues, after an OpReset, what the threads show of keys.
func (j *journal) snapshotKeys() {
	for thread, sec := range j.sec {
		j.s.push(model.Change{Op: model.OpSecurity, Thread: thread, Nick: j.nick(thread), Sec: sec})
	}
	if j.srvChanged || j.keyed {
		j.s.push(model.Change{Op: model.OpServerKey, Sec: model.Security{KeyChanged: j.srvChanged, Known: j.keyed}})
	}
}
