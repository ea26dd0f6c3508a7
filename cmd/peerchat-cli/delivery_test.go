package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"peerchat/core/client"
)

// These tests cover what issue 11 added to the terminal client: /msg to a
// peer however it is reached, the states of a message by id (queued, sent,
// stored, delivered), routes, and missed broadcasts kept across runs.

// expectMatch returns the next output object of type typ for which match is
// true, skipping others.
func (p *proc) expectMatch(typ string, match func(map[string]any) bool) map[string]any {
	p.t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("output ended before %q", typ)
			}
			if m["type"] == typ && match(m) {
				return m
			}
		case <-timeout:
			p.t.Fatalf("no matching %q within %v", typ, waitTimeout)
		}
	}
}

// next returns the next output object, whatever its type; what names what
// is awaited, for the failure message.
func (p *proc) next(what string) map[string]any {
	p.t.Helper()
	select {
	case m, ok := <-p.lines:
		if !ok {
			p.t.Fatalf("output ended before %q", what)
		}
		return m
	case <-time.After(waitTimeout):
		p.t.Fatalf("no %q within %v", what, waitTimeout)
	}
	return nil
}

func idIs(id any) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["id"] == id }
}

// cliPeer starts a JSON CLI as nick on addr with data directory dir.
func cliPeer(t *testing.T, addr, nick, dir string, more ...string) *proc {
	t.Helper()
	p := startCLI(t, append([]string{"-server", addr, "-nick", nick, "-json", "-auto-accept", "-listen", "127.0.0.1", "-data", dir, "-drain", "2s"}, more...)...)
	if m := p.expect("registered"); m["nick"] != nick {
		t.Fatalf("registered %v", m)
	}
	return p
}

// quit ends p with /quit and checks it exits cleanly.
func (p *proc) quit() {
	p.t.Helper()
	p.send("/quit")
	if code := p.exit(); code != 0 {
		p.t.Fatalf("exit %d", code)
	}
	for range p.lines { // the rest of its output
	}
}

// TestCLIMsgStates: /msg without /chat first opens the chat; queued, sent
// and delivered carry the same id and peer; chat_open and chat_msg say the
// route, which ends direct on loopback; /route answers route_info.
func TestCLIMsgStates(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	ana := cliPeer(t, addr, "ana", t.TempDir())
	bob := cliPeer(t, addr, "bob", t.TempDir())
	ana.expect("peer_joined")
	ana.send("/route bob")
	if m := ana.expect("route_info"); m["peer"] != "bob" || m["route"] != "none" {
		t.Fatalf("route_info %v", m)
	}
	ana.send("/msg bob hi bob")
	q := ana.expect("queued")
	if q["peer"] != "bob" || q["text"] != "hi bob" || q["id"] == nil {
		t.Fatalf("queued %v", q)
	}
	if m := bob.expect("chat_msg"); m["from"] != "ana" || m["text"] != "hi bob" || (m["route"] != "direct" && m["route"] != "relay") {
		t.Fatalf("chat_msg %v", m)
	}
	// sent (not final: bob acknowledges) then delivered, both with q's id.
	if m := ana.expectMatch("sent", idIs(q["id"])); m["peer"] != "bob" || m["final"] != false {
		t.Fatalf("sent %v, queued %v", m, q)
	}
	if m := ana.expectMatch("delivered", idIs(q["id"])); m["peer"] != "bob" {
		t.Fatalf("delivered %v, queued %v", m, q)
	}
	// Both ends of loopback reach each other: the chat is, or moves, direct.
	ana.send("/route bob")
	for {
		m := ana.expect("route_info")
		if m["route"] == "direct" {
			break
		}
		if m["route"] != "relay" {
			t.Fatalf("route_info %v", m)
		}
		ana.expectMatch("route", func(m map[string]any) bool { return m["peer"] == "bob" && m["route"] == "direct" })
		ana.send("/route bob")
	}
	bob.quit()
	ana.quit()
}

// TestCLIMsgNoKey: /msg to a nick this device never saw prints an error at
// once, and nothing is queued.
func TestCLIMsgNoKey(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	ana := cliPeer(t, addr, "ana", t.TempDir())
	ana.send("/msg nobody hello")
	ana.send("/route nobody") // a marker: comes after the error, if any
	timeout := time.After(waitTimeout)
	for {
		var m map[string]any
		select {
		case m = <-ana.lines:
		case <-timeout:
			t.Fatal("no error")
		}
		if m == nil {
			t.Fatal("output ended")
		}
		if m["type"] == "queued" || m["type"] == "route_info" {
			t.Fatalf("no error for a nick never seen; got %v", m)
		}
		if m["type"] == "refused" {
			if m["reason"] != "no_key" || m["peer"] != "nobody" {
				t.Fatalf("refused %v, want no_key for nobody", m)
			}
			break
		}
	}
	ana.quit()
}

// TestCLIMailbox: messages to a peer who quit (its key known: the server
// holds its nick) are stored by the server, reach it when it comes back
// (route mailbox), once each and in order, and are then delivered, with the
// ids queued gave.
func TestCLIMailbox(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	bobDir := t.TempDir()
	ana := cliPeer(t, addr, "ana", t.TempDir())
	bob := cliPeer(t, addr, "bob", bobDir)
	ana.expect("peer_joined")
	bob.quit()
	ana.expect("peer_left")
	// A message's stored may come before the next one is queued: every
	// line is looked at, none skipped (expect would drop it).
	var ids []any
	stored := make(map[any]bool)
	isStored := func(m map[string]any) {
		switch m["type"] {
		case "stored":
			if m["peer"] != "bob" || !slices.Contains(ids, m["id"]) || stored[m["id"]] {
				t.Fatalf("stored %v; queued %v, stored before %v", m, ids, stored)
			}
			stored[m["id"]] = true
		case "send_failed":
			t.Fatalf("send_failed %v", m)
		}
	}
	for i := range 3 {
		text := fmt.Sprintf("away %d", i)
		ana.send("/msg bob " + text)
		for {
			m := ana.next("queued")
			if m["type"] != "queued" {
				isStored(m)
				continue
			}
			if m["peer"] != "bob" || m["text"] != text || m["id"] == nil {
				t.Fatalf("queued %v, want %q to bob", m, text)
			}
			ids = append(ids, m["id"])
			break
		}
	}
	for len(stored) < len(ids) {
		isStored(ana.next("stored"))
	}
	bob = cliPeer(t, addr, "bob", bobDir)
	for i := range 3 {
		m := bob.expect("chat_msg")
		if want := fmt.Sprintf("away %d", i); m["text"] != want || m["from"] != "ana" || m["route"] != "mailbox" {
			t.Fatalf("chat_msg %v, want %q from ana by mailbox", m, want)
		}
	}
	// Delivered once each, in whatever order the receipts come.
	delivered := make(map[any]bool)
	for len(delivered) < len(ids) {
		m := ana.next("delivered")
		if m["type"] != "delivered" {
			continue
		}
		if m["peer"] != "bob" || !slices.Contains(ids, m["id"]) || delivered[m["id"]] {
			t.Fatalf("delivered %v; queued %v, delivered before %v", m, ids, delivered)
		}
		delivered[m["id"]] = true
	}
	// Nothing came twice: the next message bob gets is a new one.
	ana.send("/msg bob back")
	if m := bob.expect("chat_msg"); m["text"] != "back" {
		t.Fatalf("chat_msg %v, want \"back\" (a stored message came again?)", m)
	}
	bob.quit()
	ana.quit()
}

// TestCLIMissedBroadcasts: the last broadcast seen is kept in -data; the
// next run gets the broadcasts sent while it was away, marked missed, once
// each, and not those it saw.
func TestCLIMissedBroadcasts(t *testing.T) {
	checkGoroutines(t)
	addr := startServer(t)
	bobDir := t.TempDir()
	ana := cliPeer(t, addr, "ana", t.TempDir())
	bob := cliPeer(t, addr, "bob", bobDir)
	ana.expect("peer_joined")
	ana.send("seen")
	m := bob.expectMatch("broadcast", func(m map[string]any) bool { return m["text"] == "seen" })
	bid, _ := m["bid"].(float64)
	if bid == 0 || m["missed"] != false {
		t.Fatalf("broadcast %v: want a bid, not missed", m)
	}
	bob.quit()
	ana.expect("peer_left")
	var kept map[string]uint64
	if b, err := os.ReadFile(filepath.Join(bobDir, lastBroadcastFile)); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &kept); err != nil || kept[addr] != uint64(bid) {
		t.Fatalf("%s holds %q (%v), want %s: %v", lastBroadcastFile, b, err, addr, bid)
	}
	for i := range 3 {
		text := fmt.Sprintf("while away %d", i)
		ana.send(text)
		ana.expectMatch("broadcast", func(m map[string]any) bool { return m["text"] == text })
	}
	bob = cliPeer(t, addr, "bob", bobDir)
	for i := range 3 {
		m := bob.expect("broadcast")
		if want := fmt.Sprintf("while away %d", i); m["text"] != want || m["missed"] != true || m["from"] != "ana" {
			t.Fatalf("broadcast %v, want %q missed", m, want)
		}
	}
	ana.send("live")
	if m := bob.expect("broadcast"); m["text"] != "live" || m["missed"] != false {
		t.Fatalf("broadcast %v, want \"live\" (one came twice?)", m)
	}
	bob.quit()
	ana.quit()
}

// TestBIDStore: the last broadcast id is kept per server, only grows, and
// is replaced whole; a damaged file is an error that names it.
func TestBIDStore(t *testing.T) {
	dir := t.TempDir()
	s, err := openBIDs(dir, "10.0.0.1:12345")
	if err != nil || s.last != 0 {
		t.Fatalf("empty dir: %v %v", s, err)
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, lastBroadcastFile)); !os.IsNotExist(err) {
		t.Fatalf("saved with nothing seen: %v", err)
	}
	s.see(7)
	s.see(3)
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	o, err := openBIDs(dir, "10.0.0.2:12345")
	if err != nil || o.last != 0 {
		t.Fatalf("another server: %v %v", o.last, err)
	}
	o.see(40)
	if err := o.save(); err != nil {
		t.Fatal(err)
	}
	for srv, want := range map[string]uint64{"10.0.0.1:12345": 7, "10.0.0.2:12345": 40} {
		if r, err := openBIDs(dir, srv); err != nil || r.last != want {
			t.Fatalf("%s: %v %v, want %d", srv, r.last, err, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	if fi, err := os.Stat(filepath.Join(dir, lastBroadcastFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	os.WriteFile(filepath.Join(dir, lastBroadcastFile), []byte("{not json"), 0o600)
	if _, err := openBIDs(dir, "x"); err == nil || !strings.Contains(err.Error(), lastBroadcastFile) {
		t.Fatalf("damaged file: %v", err)
	}
	var nilStore *bidStore
	nilStore.see(3) // nothing kept: no panic
	if err := nilStore.save(); err != nil {
		t.Fatal(err)
	}
}

// TestLastBroadcastFlag: -last-broadcast parses and -help lists it.
func TestLastBroadcastFlag(t *testing.T) {
	var errs strings.Builder
	o, err := parseFlags([]string{"-nick", "ana", "-last-broadcast", "42", "-no-keys"}, &errs)
	if err != nil || o.lastBroadcast != 42 {
		t.Fatalf("%v %v", o.lastBroadcast, err)
	}
	parseFlags([]string{"-h"}, &errs)
	if !strings.Contains(errs.String(), "-last-broadcast") {
		t.Fatalf("help lacks -last-broadcast:\n%s", errs.String())
	}
}

// TestSeenAcrossRuns: a private message printed by one run is reported as a
// duplicate, not printed, by the next run with the same data directory;
// other ids and base peers' messages (id 0) are printed.
func TestSeenAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	run := func(events ...client.Event) []map[string]any {
		t.Helper()
		seen, err := openSeen(dir)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		cl := &cli{o: options{json: true}, out: bufio.NewWriter(&sb), seen: seen}
		for _, e := range events {
			cl.event(e)
		}
		cl.flush()
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(sb.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			out = append(out, m)
		}
		return out
	}
	msg := func(from string, id uint64) client.Event {
		return client.Event{Kind: client.EventChatMsg, From: from, Peer: from, Text: "hi", ID: id, Route: client.RouteDirect}
	}
	types := func(out []map[string]any) (s []string) {
		for _, m := range out {
			s = append(s, m["type"].(string))
		}
		return s
	}
	if got := types(run(msg("bob", 7), msg("bob", 7), msg("bob", 0), msg("bob", 0))); !slices.Equal(got, []string{"chat_msg", "duplicate", "chat_msg", "chat_msg"}) {
		t.Fatalf("first run: %v", got)
	}
	// The next run: bob's 7 (also as BOB: nicks fold) was printed; 8 and
	// carol's 7 were not.
	if got := types(run(msg("BOB", 7), msg("bob", 8), msg("carol", 7))); !slices.Equal(got, []string{"duplicate", "chat_msg", "chat_msg"}) {
		t.Fatalf("second run: %v", got)
	}
	// A line cut short by a kill is skipped; the rest still counts.
	f, _ := os.OpenFile(filepath.Join(dir, seenFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("bob 12")
	f.Close()
	if got := types(run(msg("bob", 8), msg("bob", 12))); !slices.Equal(got, []string{"duplicate", "chat_msg"}) {
		t.Fatalf("third run: %v", got)
	}
}

// TestSeenBounded: the file is rewritten with the newest seenKeep pairs
// once it holds twice as many.
func TestSeenBounded(t *testing.T) {
	dir := t.TempDir()
	s, err := openSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2*seenKeep + 10 {
		s.fresh("bob", uint64(i+1))
		if i%1000 == 0 {
			if err := s.save(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	r, err := openSeen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.lines > 2*seenKeep || len(r.order) != seenKeep {
		t.Fatalf("%d lines, %d kept, want at most %d and %d", r.lines, len(r.order), 2*seenKeep, seenKeep)
	}
	if !r.fresh("bob", 1) || r.fresh("bob", 2*seenKeep+10) {
		t.Fatal("kept the oldest, or lost the newest")
	}
}
