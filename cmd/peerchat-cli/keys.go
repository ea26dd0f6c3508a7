package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"peerchat/core/client"
	"peerchat/core/identity"
)

// This file is the terminal client's side of device identities (issue 10,
// docs/PROTOCOL.md §2.6 and §3.5): the data directory, the commands that
// show and change trust (/verify, /trust, /untrust, /accept-key,
// /accept-server-key), and how key events are printed.

// dataDirName is the directory under os.UserConfigDir that -data defaults
// to.
const dataDirName = "peerchat-cli"

// serverDataDir is the directory under the data directory where -host keeps
// the hosted server's key and nick bindings: apart from the client's own
// identity.json, so the two never share a key.
const serverDataDir = "server"

// defaultDataDir returns the default of -data: os.UserConfigDir()/peerchat-cli,
// or "" when the system has no configuration directory.
func defaultDataDir() string {
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, dataDirName)
}

// keys is what the CLI keeps in its data directory.
type keys struct {
	id         *identity.Identity
	pins       *identity.PinStore // peers, by folded nick
	serverPins *identity.PinStore // servers, by address
}

// openKeys opens (making them at the first run) the identity and the pin
// stores kept in dir.
func openKeys(dir string) (keys, error) {
	id, err := identity.LoadOrCreate(dir)
	if err != nil {
		return keys{}, err
	}
	pins, err := identity.OpenPins(dir)
	if err != nil {
		return keys{}, err
	}
	spins, err := identity.OpenPinsFile(filepath.Join(dir, identity.ServerPinsFileName))
	if err != nil {
		return keys{}, err
	}
	return keys{id, pins, spins}, nil
}

// verify prints the safety number of our key and the key pinned for nick
// (/verify NICK).
func (cl *cli) verify(nick string) {
	if cl.o.noKeys {
		cl.errorf("no safety numbers without keys (-no-keys)")
		return
	}
	number, err := cl.c.SafetyNumber(nick)
	if errors.Is(err, client.ErrNoKey) {
		cl.errorf("no key pinned for %s yet: open a chat with it first (/chat %s)", nick, nick)
		return
	}
	if err != nil {
		cl.check(err)
		return
	}
	info, _ := cl.c.PeerKey(nick)
	if cl.shown == nil {
		cl.shown = make(map[string]identity.PublicIdentity)
	}
	cl.shown[nick] = info.Key
	obj := map[string]any{"type": "safety_number", "nick": nick, "number": number, "verified": info.Verified}
	if info.Changed {
		obj["key_changed"] = true
	}
	switch {
	case info.Changed:
		cl.print(obj, "safety number with %s: %s (of the OLD key: %s's key changed; /accept-key %s, then /verify %s again)", nick, number, nick, nick, nick)
	case info.Verified:
		cl.print(obj, "safety number with %s: %s (verified)", nick, number)
	default:
		cl.print(obj, "safety number with %s: %s (not verified: compare it with %s's, then /trust %s)", nick, number, nick, nick)
	}
}

// trust marks the key pinned for nick verified, or not (/trust, /untrust).
// When /verify showed nick's number in this session, the key must still be
// the one it was shown for.
func (cl *cli) trust(nick string, verified bool) {
	if cl.o.noKeys {
		cl.errorf("nothing to trust without keys (-no-keys)")
		return
	}
	info, ok := cl.c.PeerKey(nick)
	if ok && info.Changed && verified {
		cl.errorf("%s's key changed: /accept-key %s, compare /verify %s, then /trust %s", nick, nick, nick, nick)
		return
	}
	if shown, seen := cl.shown[nick]; seen && verified && ok && shown != info.Key {
		cl.errorf("%s's key is not the one /verify showed: /verify %s again", nick, nick)
		return
	}
	if err := cl.c.SetVerified(nick, verified); err != nil {
		if errors.Is(err, client.ErrNoKey) {
			cl.errorf("no key pinned for %s yet: open a chat with it first (/chat %s)", nick, nick)
			return
		}
		cl.check(err)
		return
	}
	if verified {
		cl.print(map[string]any{"type": "trusted", "nick": nick}, "* %s's key is marked verified", nick)
	} else {
		cl.print(map[string]any{"type": "untrusted", "nick": nick}, "* %s's key is no longer marked verified", nick)
	}
}

// acceptKey accepts nick's changed key (/accept-key NICK).
func (cl *cli) acceptKey(nick string) {
	if err := cl.c.AcceptKey(nick); err != nil {
		if errors.Is(err, client.ErrNoKeyChange) {
			cl.errorf("%s's key has not changed", nick)
			return
		}
		cl.check(err)
		return
	}
	delete(cl.shown, nick)
	cl.print(map[string]any{"type": "key_accepted", "nick": nick},
		"* %s's new key is accepted, not verified: compare /verify %s with %s", nick, nick, nick)
}

// acceptServerKey accepts the server's changed key (/accept-server-key).
func (cl *cli) acceptServerKey() {
	if err := cl.c.AcceptServerKey(); err != nil {
		if errors.Is(err, client.ErrNoKeyChange) {
			cl.errorf("the server's key has not changed")
			return
		}
		cl.check(err)
		return
	}
	cl.print(map[string]any{"type": "server_key_accepted"}, "* the server's new key is accepted")
}

// hint adds to err what the user can do about it, for the errors of keys.
func hint(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, client.ErrServerKeyChanged):
		return err.Error() + ": nothing is sent until /accept-server-key"
	case errors.Is(err, client.ErrNotEncrypted):
		return err.Error() + " (-require-encryption)"
	}
	return err.Error()
}

// keyEvent prints the events of keys; it reports whether e was one.
func (cl *cli) keyEvent(e client.Event) bool {
	switch e.Kind {
	case client.EventServerKey:
		obj := map[string]any{"type": "server_key", "server": e.Text, "result": e.KeyResult.String(), "key": e.Key.String()}
		switch e.KeyResult {
		case identity.Changed:
			obj["old_key"] = e.OldKey.String()
			cl.print(obj, "!!! WARNING: the server at %s proved a DIFFERENT KEY from the one pinned for it.\n"+
				"!!! It may be another machine posing as your server. Broadcasts and invites are held:\n"+
				"!!! /accept-server-key if the server was reinstalled, else /quit.", e.Text)
		case identity.New:
			cl.print(obj, "* the server at %s has a key; pinned it (first contact)", e.Text)
		default:
			cl.print(obj, "* the server at %s proved its pinned key", e.Text)
		}
	case client.EventKeyChanged:
		obj := map[string]any{"type": "key_changed", "nick": e.Peer, "was_verified": e.Verified, "key": e.Key.String(), "old_key": e.OldKey.String()}
		if e.Verified {
			cl.print(obj, "!!! WARNING: %s's key CHANGED, and the old key was VERIFIED.\n"+
				"!!! Someone may be posing as %s. Messages to %s are held.\n"+
				"!!! Ask %s in person; /accept-key %s only if they changed device, else /leave %s.", e.Peer, e.Peer, e.Peer, e.Peer, e.Peer, e.Peer)
		} else {
			cl.print(obj, "! %s's key changed (a new device or a reinstall, or someone posing as %s). "+
				"Messages to %s are held: /accept-key %s, then /verify %s", e.Peer, e.Peer, e.Peer, e.Peer, e.Peer)
		}
	default:
		return false
	}
	return true
}

// chatOpen prints EventChatOpen.
func (cl *cli) chatOpen(e client.Event) {
	obj := map[string]any{"type": "chat_open", "peer": e.Peer, "encrypted": e.Encrypted, "verified": e.Verified, "route": e.Route.String()}
	via := ""
	if e.Route == client.RouteRelay {
		via = " [through the server]"
	}
	if !e.Encrypted {
		cl.print(obj, "* private chat with %s open (NOT encrypted) (/msg %s TEXT)%s", e.Peer, e.Peer, via)
		return
	}
	obj["key"] = e.Key.String()
	if e.KeyResult != 0 {
		obj["key_result"] = e.KeyResult.String()
	}
	if e.Verified {
		cl.print(obj, "* private chat with %s open (encrypted) [key verified] (/msg %s TEXT)%s", e.Peer, e.Peer, via)
	} else {
		cl.print(obj, "* private chat with %s open (encrypted) [key not verified: /verify %s] (/msg %s TEXT)%s", e.Peer, e.Peer, e.Peer, via)
	}
}

// sigMark is what human mode prints before the sender of a broadcast whose
// signature is missing or bad; "" otherwise.
func sigMark(s client.SigState) string {
	switch s {
	case client.SigMissing:
		return "(UNSIGNED) "
	case client.SigBad:
		return "(BAD SIGNATURE) "
	}
	return ""
}

// keyInfo adds what is known of nick's key to a /peers entry, and returns
// the words human mode shows for it.
func (cl *cli) keyInfo(nick string, obj map[string]any) string {
	info, ok := cl.c.PeerKey(nick)
	if !ok {
		return ""
	}
	obj["verified"] = info.Verified
	if info.Changed {
		obj["key_changed"] = true
		return " KEY CHANGED"
	}
	if info.Verified {
		return " verified"
	}
	return ""
}

// keyUsage checks the key flags; the error is a usage error.
func (o *options) keyUsage() error {
	if o.noKeys && o.requireEncryption {
		return errors.New("-require-encryption needs keys (drop -no-keys)")
	}
	if !o.noKeys && o.data == "" {
		return fmt.Errorf("no configuration directory on this system: give -data DIR (or -no-keys)")
	}
	return nil
}
