package model

import (
	"slices"
	"strings"
)

// This file is the roster: who is known and who is online, sorted for
// the sidebar, and the counts the Everyone thread shows.

// comparePeople is the order of Model.People: online first, then by key.
func comparePeople(a, b Person) int {
	if a.Online != b.Online {
		if a.Online {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Key, b.Key)
}

// person returns the index of key in People, or -1. People is sorted up
// to m.sorted (binary search) and holds after it the people added since the
// last sortPeople (the tail map).
func (m *Model) person(key string) int {
	for _, on := range [2]bool{true, false} {
		if i, ok := slices.BinarySearchFunc(m.People[:m.sorted], Person{Key: key, Online: on}, comparePeople); ok {
			return i
		}
	}
	if i, ok := m.tail[key]; ok {
		return i
	}
	return -1
}

// setPerson lists nick (key) online or offline. People is sorted again by
// sortPeople, once for a whole batch of Changes. Someone unknown who goes
// offline is listed only if list is true (a thread from the history).
func (m *Model) setPerson(key, nick string, online, list bool) {
	if key == "" || key == m.myKey() {
		return
	}
	if nick == "" {
		nick = key
	}
	if t := m.threads[key]; t != nil {
		t.Nick = nick
	}
	if i := m.person(key); i >= 0 {
		m.People[i].Nick = nick
		if m.People[i].Online == online {
			return
		}
		m.People[i].Online = online
		if i < m.sorted {
			// Move it to its new place in the sorted part: one copy.
			p, n := m.People[i], m.sorted
			copy(m.People[i:n-1], m.People[i+1:n])
			j, _ := slices.BinarySearchFunc(m.People[:n-1], p, comparePeople)
			copy(m.People[j+1:n], m.People[j:n-1])
			m.People[j] = p
		}
		return
	}
	if !online && !list {
		return
	}
	if m.tail == nil {
		m.tail = map[string]int{}
	}
	m.tail[key] = len(m.People)
	m.People = append(m.People, Person{Key: key, Nick: nick, Online: online})
}

// sortPeople puts People in order after a batch of Changes: the few people
// added are inserted where they belong (binary search, one copy each), many
// are sorted in with one sort of precomputed keys; never a fold per
// comparison.
func (m *Model) sortPeople() {
	n := len(m.People)
	switch {
	case m.sorted == n:
		return
	case n-m.sorted <= insertMax:
		for i := m.sorted; i < n; i++ {
			p := m.People[i]
			j, _ := slices.BinarySearchFunc(m.People[:i], p, comparePeople)
			copy(m.People[j+1:i+1], m.People[j:i])
			m.People[j] = p
		}
	default:
		slices.SortFunc(m.People, comparePeople)
	}
	m.sorted = n
	clear(m.tail)
}

// myKey returns Key(m.Me).
func (m *Model) myKey() string {
	if m.meFor != m.Me || m.meKey == "" {
		m.meFor, m.meKey = m.Me, Key(m.Me)
	}
	return m.meKey
}

// Online reports whether the peer with key is known to be online: listed
// online while the server link is up. While it is down (PresenceKnown is
// false) nobody is known to be online, whatever the list last said.
func (m *Model) Online(key string) bool {
	i := m.person(key)
	return i >= 0 && m.People[i].Online && m.PresenceKnown()
}

// PresenceKnown reports whether the people list is current: the server link
// is up and the server has spoken (not Unconfirmed). While it is not,
// Person.Online is what the server last said, and the UI shows presence as
// unknown.
func (m *Model) PresenceKnown() bool { return m.Conn.State == Connected }

// OnlineCount returns how many people are listed online, and whether that
// is current (PresenceKnown).
func (m *Model) OnlineCount() (n int, known bool) {
	for _, pe := range m.People {
		if pe.Online {
			n++
		}
	}
	return n, m.PresenceKnown()
}
