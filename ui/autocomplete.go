package ui

import (
	"image"
	"strings"
	"unicode"

	"gioui.org/io/key"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/widget"

	"peerchat/core/wire"
	"peerchat/ui/model"
)

// maxCompletions is how many nicknames the @-completion offers at most.
const maxCompletions = 5

// completeState is the @-completion of a composer: typing "@" and the
// start of a nickname offers the matching people online; Tab or Enter
// completes with the highlighted one, ↑/↓ move the highlight, a click
// completes with the one clicked, Esc dismisses the offer for that "@".
type completeState struct {
	m *model.Model // the people offered; set by update

	active  bool
	at      int // rune offset of the "@" in the editor's text
	caret   int // rune offset of the caret, the end of the prefix
	matches []string
	sel     int // the highlighted match
	// dismissed is the "@" (at+1, 0 for none) whose offer Esc closed.
	dismissed int
	items     []widget.Clickable
}

// update handles the completion's keys and clicks for ed, the composer's
// editor, before the editor reads its own (Enter, ↑, ↓), and offers the
// people of m.
func (c *completeState) update(gtx C, ed *widget.Editor, m *model.Model) {
	c.m = m
	c.keys(gtx, ed)
	for i := range c.items {
		if i < len(c.matches) && c.items[i].Clicked(gtx) && c.active {
			c.complete(ed, c.matches[i])
			gtx.Execute(focusCmd(ed))
		}
	}
}

// keys handles the keys of an open offer. Its filters are asked for only
// while the offer is open, so that Tab and Enter otherwise keep their
// meaning.
func (c *completeState) keys(gtx C, ed *widget.Editor) {
	if !c.active {
		return
	}
	for {
		ev, ok := gtx.Event(
			key.Filter{Focus: ed, Name: key.NameTab},
			key.Filter{Focus: ed, Name: key.NameReturn},
			key.Filter{Focus: ed, Name: key.NameEnter},
			key.Filter{Focus: ed, Name: key.NameUpArrow},
			key.Filter{Focus: ed, Name: key.NameDownArrow},
			key.Filter{Focus: ed, Name: key.NameEscape},
		)
		if !ok {
			return
		}
		e, ok := ev.(key.Event)
		if !ok || e.State != key.Press || !c.active {
			continue
		}
		switch e.Name {
		case key.NameTab, key.NameReturn, key.NameEnter:
			c.complete(ed, c.matches[c.sel])
		case key.NameUpArrow:
			c.sel = (c.sel + len(c.matches) - 1) % len(c.matches)
		case key.NameDownArrow:
			c.sel = (c.sel + 1) % len(c.matches)
		case key.NameEscape:
			c.dismiss()
		}
	}
}

// dismiss closes the offer for the "@" it completes.
func (c *completeState) dismiss() {
	c.dismissed, c.active = c.at+1, false
}

// complete replaces the "@" and the prefix typed with "@nick ".
func (c *completeState) complete(ed *widget.Editor, nick string) {
	ed.SetCaret(c.caret, c.at)
	ed.Insert("@" + nick + " ")
	c.active = false
}

// refresh finds the "@" and prefix the caret of ed ends, if any, and the
// people online whose nickname starts with it.
func (c *completeState) refresh(ed *widget.Editor) {
	c.active = false
	start, end := ed.Selection()
	if c.m == nil || start != end || start == 0 {
		c.dismissed = 0
		return
	}
	rs := []rune(ed.Text())
	if end > len(rs) {
		return
	}
	at := -1
	for i := end - 1; i >= 0 && end-i <= wire.MaxNickLen+1; i-- {
		r := rs[i]
		if r == '@' {
			if i == 0 || unicode.IsSpace(rs[i-1]) {
				at = i
			}
			break
		}
		if unicode.IsSpace(r) {
			break
		}
	}
	if at < 0 {
		c.dismissed = 0
		return
	}
	if c.dismissed == at+1 {
		return
	}
	c.dismissed = 0
	prefix := wire.FoldNick(string(rs[at+1 : end]))
	me := model.Key(c.m.Me)
	prev := ""
	if c.sel < len(c.matches) {
		prev = c.matches[c.sel]
	}
	c.matches, c.sel = c.matches[:0], 0
	for _, p := range c.m.People {
		if !p.Online || p.Key == me || !strings.HasPrefix(p.Key, prefix) {
			continue
		}
		if p.Nick == prev {
			c.sel = len(c.matches)
		}
		c.matches = append(c.matches, p.Nick)
		if len(c.matches) == maxCompletions {
			break
		}
	}
	c.at, c.caret, c.active = at, end, len(c.matches) > 0
	if len(c.items) < len(c.matches) {
		c.items = make([]widget.Clickable, maxCompletions)
	}
}

// completeStyle draws the offer of a completeState over what is above
// the composer, its bottom edge at the top of the composer.
type completeStyle struct {
	th    *Theme
	state *completeState
}

// Layout draws the offer, deferred so that it lies over the messages,
// and returns no size.
func (s completeStyle) Layout(gtx C) D {
	c := s.state
	if !c.active {
		return D{}
	}
	th := s.th
	gtx.Constraints.Min = image.Point{}
	gtx.Constraints.Max.X = min(gtx.Constraints.Max.X, gtx.Dp(300))
	rec := op.Record(gtx.Ops)
	d := popupCard(gtx, th, func(gtx C) D {
		children := make([]layout.FlexChild, len(c.matches))
		for i, nick := range c.matches {
			children[i] = layout.Rigid(func(gtx C) D { return s.item(gtx, i, nick) })
		}
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx, children...)
	})
	call := rec.Stop()
	m := op.Record(gtx.Ops)
	t := op.Offset(image.Pt(0, -d.Size.Y-gtx.Dp(4))).Push(gtx.Ops)
	call.Add(gtx.Ops)
	t.Pop()
	op.Defer(gtx.Ops, m.Stop())
	return D{}
}

// item draws match i, nick, highlighted if it is the one Tab takes.
func (s completeStyle) item(gtx C, i int, nick string) D {
	th, c := s.th, s.state
	click := &c.items[i]
	return click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Mention " + nick).Add(gtx.Ops)
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		gtx.Constraints.Min.Y = gtx.Dp(40)
		m := op.Record(gtx.Ops)
		d := layout.W.Layout(gtx, func(gtx C) D {
			gtx.Constraints.Min.Y = 0
			return layout.Inset{Left: 8, Right: 12}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx C) D { return avatar(gtx, th, nick, 24) }),
					layout.Rigid(layout.Spacer{Width: 10}.Layout),
					layout.Flexed(1, func(gtx C) D {
						l := th.label(sizeBody, th.Pal.Text, "@"+nick)
						l.MaxLines = 1
						return l.Layout(gtx)
					}),
				)
			})
		})
		call := m.Stop()
		if i == c.sel || click.Hovered() {
			th.fillRRect(gtx.Ops, th.Pal.Hover, clip.UniformRRect(image.Rectangle{Max: d.Size}, gtx.Dp(8)))
		}
		call.Add(gtx.Ops)
		return d
	})
}
