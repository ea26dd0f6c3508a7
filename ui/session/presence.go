package session

import (
	"strconv"
	"strings"
	"time"

	"peerchat/core/wire"
)

// presence is a burst of joins and leaves waiting to be announced in the
// feed as one line ("ana, bruno and 12 others joined"). Someone who joins
// and leaves within one burst (or leaves and comes back) is not announced.
type presence struct {
	order       []string          // keys, in the order they first came
	nicks       map[string]string // key → nickname as shown
	joined      map[string]bool   // key → joined (true) or left; absent: no change
	first, last time.Time
}

func (p *presence) empty() bool { return len(p.joined) == 0 }

// add records that nick joined (or left) at at.
func (p *presence) add(nick string, joined bool, at time.Time) {
	if p.empty() {
		p.first = at
		if p.joined == nil {
			p.joined, p.nicks = map[string]bool{}, map[string]string{}
		}
	}
	p.last = at
	key := wire.FoldNick(nick)
	if was, ok := p.joined[key]; ok {
		if was != joined {
			delete(p.joined, key) // back to how it was
		}
		return
	}
	if _, seen := p.nicks[key]; !seen {
		p.order = append(p.order, key)
	}
	p.nicks[key] = nick
	p.joined[key] = joined
}

// text is the line announcing the burst, "" if nothing changed.
func (p *presence) text() string {
	var joined, left []string
	for _, key := range p.order {
		if j, ok := p.joined[key]; ok {
			if j {
				joined = append(joined, p.nicks[key])
			} else {
				left = append(left, p.nicks[key])
			}
		}
	}
	var parts []string
	if len(joined) > 0 {
		parts = append(parts, names(joined)+" joined")
	}
	if len(left) > 0 {
		parts = append(parts, names(left)+" left")
	}
	return strings.Join(parts, "; ")
}

// namesShown is how many nicknames a presence line names before "and N
// others".
const namesShown = 2

// names lists nicks for a sentence: "ana", "ana and bruno", "ana, bruno and
// carla", "ana, bruno and 12 others".
func names(nicks []string) string {
	switch n := len(nicks); {
	case n == 1:
		return nicks[0]
	case n <= namesShown+1:
		return strings.Join(nicks[:n-1], ", ") + " and " + nicks[n-1]
	default:
		return strings.Join(nicks[:namesShown], ", ") + " and " + strconv.Itoa(n-namesShown) + " others"
	}
}
