package model

import (
	"slices"
	"strings"

	"peerchat/core/client"
	"peerchat/core/history"
)

// Ordered appends People to dst in the order the people list shows them and
// returns it: first the people with unread private messages or missed chat
// requests, then those with a chat open, asked for or offered, then those
// with any private message, each group most recent first; then everyone
// else in the order of People (online first, then by key). So an unread
// private message is never below the fold of a long list. It is called every
// frame: only the people with a thread are sorted, the rest are copied in
// order.
func (m *Model) Ordered(dst []Person) []Person {
	start := len(dst)
	for _, p := range m.People {
		if m.rank(p.Key) < rankOthers {
			dst = append(dst, p)
		}
	}
	slices.SortStableFunc(dst[start:], func(a, b Person) int {
		if ra, rb := m.rank(a.Key), m.rank(b.Key); ra != rb {
			return ra - rb
		}
		return m.threads[b.Key].LastSeen.Compare(m.threads[a.Key].LastSeen)
	})
	for _, p := range m.People {
		if m.rank(p.Key) == rankOthers {
			dst = append(dst, p)
		}
	}
	return dst
}

// Ranks of Ordered's groups.
const (
	rankUnread = iota // unread private messages or a missed request
	rankChat          // a chat open, asked for or offered
	rankRecent        // any private message
	rankOthers        // everyone else
)

// rank returns the group of Ordered that the person with key belongs to.
func (m *Model) rank(key string) int {
	t := m.threads[key]
	switch {
	case t == nil:
		return rankOthers
	case t.Unread > 0 || t.Missed > 0:
		return rankUnread
	case t.Chat != client.ChatNone:
		return rankChat
	case !t.LastSeen.IsZero():
		return rankRecent
	}
	return rankOthers
}

// HasChat reports whether the person with key leads the people list with
// the chats (see Ordered): unread private messages or a missed request, a
// chat open, asked for or offered, or any private message. The people list
// shows them apart from everyone else.
func (m *Model) HasChat(key string) bool { return m.rank(key) < rankOthers }

// Find appends to dst the people whose nickname contains query and returns
// it, for the quick switcher. Nicknames and query are compared folded as
// history search folds them (history.Fold: case and accents do not count),
// white space around query ignored.
// Those whose nickname starts with query come first; within each group the
// order is Ordered's (chats first, unread first, most recent first). An
// empty query finds everyone.
func (m *Model) Find(dst []Person, query string) []Person {
	start := len(dst)
	dst = m.Ordered(dst)
	q := history.Fold(strings.TrimSpace(query))
	if q == "" {
		return dst
	}
	found := dst[start:start]
	var later []Person
	for _, p := range dst[start:] {
		switch i := strings.Index(history.Fold(p.Nick), q); {
		case i == 0:
			found = append(found, p)
		case i > 0:
			later = append(later, p)
		}
	}
	return append(found, later...)
}
