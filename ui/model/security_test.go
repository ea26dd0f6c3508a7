package model

import "testing"

// TestSecurityOps sets a thread's Security and the server-key warning, and
// OpReset forgets both (the session sends them again after it).
func TestSecurityOps(t *testing.T) {
	m := New("ana", "s", nil)
	sec := Security{Known: true, Encrypted: true, KeyChanged: true, WasVerified: true}
	m.Apply(Change{Op: OpSecurity, Thread: "bruno", Nick: "Bruno", Sec: sec},
		Change{Op: OpServerKey, Sec: Security{KeyChanged: true}})
	if th := m.Lookup("bruno"); th == nil || th.Sec != sec || th.Nick != "Bruno" {
		t.Fatalf("thread %+v", th)
	}
	if !m.ServerKeyChanged {
		t.Fatal("ServerKeyChanged not set")
	}
	m.Apply(Change{Op: OpReset, Nick: "ana", Text: "s"})
	if m.ServerKeyChanged || m.Thread("bruno").Sec != (Security{}) {
		t.Fatalf("after OpReset: %v %+v", m.ServerKeyChanged, m.Thread("bruno").Sec)
	}
	m.Apply(Change{Op: OpServerKey})
	if m.ServerKeyChanged {
		t.Fatal("OpServerKey without KeyChanged left the warning")
	}
}
