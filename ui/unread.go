package ui

import (
	"image"

	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/widget"

	"peerchat/ui/model"
)

// firstUnread returns the index in t.Messages of the oldest of its
// t.Unread unread messages (the newest messages of others), or -1.
func firstUnread(t *model.Thread) int {
	n := t.Unread
	if n <= 0 {
		return -1
	}
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if msg := &t.Messages[i]; msg.Said() && !msg.Mine {
			if n--; n == 0 {
				return i
			}
		}
	}
	return -1
}

// maxMentionScan bounds how many of a thread's unread messages
// unreadMentions looks at, the newest first: folding text costs.
const maxMentionScan = 1000

// unreadMentions counts the unread messages of t that mention me
// (model.Mentions), among its newest maxMentionScan unread ones: the
// badges show them apart from the others.
func unreadMentions(t *model.Thread, me string) int {
	n, left := 0, min(t.Unread, maxMentionScan)
	for i := len(t.Messages) - 1; i >= 0 && left > 0; i-- {
		msg := &t.Messages[i]
		if !msg.Said() || msg.Mine {
			continue
		}
		left--
		if model.Mentions(msg.Text, me) {
			n++
		}
	}
	return n
}

// mentionCount caches unreadMentions for one thread, recounted when the
// thread's messages, its unread count or the user's nickname change.
type mentionCount struct {
	n, unread int
	last      uint64
	me        string
	count     int
}

// get returns unreadMentions(t, me).
func (c *mentionCount) get(t *model.Thread, me string) int {
	var last uint64
	if len(t.Messages) > 0 {
		last = t.Messages[len(t.Messages)-1].Key
	}
	if c.n != len(t.Messages) || c.unread != t.Unread || c.last != last || c.me != me {
		*c = mentionCount{n: len(t.Messages), unread: t.Unread, last: last, me: me, count: unreadMentions(t, me)}
	}
	return c.count
}

// messageIndex returns the index of the message with key in t, or -1.
func messageIndex(t *model.Thread, key uint64) int {
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if t.Messages[i].Key == key {
			return i
		}
	}
	return -1
}

// opening is told that thread peer is about to be shown instead of the
// current one. The thread left forgets its divider; if the new one has
// unread messages, the "New messages" divider goes above the first of
// them and the list opens there.
func (s *chatScreen) opening(peer string) {
	if peer == s.current {
		return
	}
	if old := s.threads[s.current]; old != nil {
		old.hasDivider = false
	}
	s.pane.menu.open = false
	t := s.m.Lookup(peer)
	if t == nil {
		return
	}
	i := firstUnread(t)
	if i < 0 {
		return
	}
	ts := s.view(peer)
	ts.divider, ts.hasDivider = t.Messages[i].Key, true
	ts.list.Position = layout.Position{First: i, BeforeEnd: true}
}

// updateThread handles the input of the open thread's messages: links,
// Retry, the selection and Ctrl+C, the message menu, the jump to the
// first unread message and the composer's @-completion.
func (s *chatScreen) updateThread(gtx C) {
	s.msgs.update(gtx, s.retry, s.a.openURL)
	s.msgs.updateFiles(gtx, s.fileAct) // files.go
	act, key := s.pane.menu.update(gtx, s.msgs.pressed, s.msgs.pressedOK)
	if act == msgCopy {
		s.copyMessage(gtx, key)
	}
	ts := s.view(s.current)
	if s.pane.jumpUnread.Clicked(gtx) && ts.hasDivider {
		if i := messageIndex(s.m.Thread(s.current), ts.divider); i >= 0 {
			ts.list.Position = layout.Position{First: i, BeforeEnd: true}
		}
	}
	ts.composer.complete.update(gtx, &ts.composer.editor, s.m)
}

// completing reports whether the composer of the open thread offers
// nicknames to complete an @mention: Esc (Android: back) dismisses it.
func (s *chatScreen) completing() bool {
	ts := s.threads[s.current]
	return ts != nil && ts.composer.complete.active
}

// copyMessage copies message key of the open thread: its selected text if
// some is selected, else all of it.
func (s *chatScreen) copyMessage(gtx C, key uint64) {
	if st := s.msgs.states[key]; st != nil && !s.a.cfg.Touch {
		if txt := st.sel.SelectedText(); txt != "" {
			copyText(gtx, txt)
			return
		}
	}
	if msg := s.m.Message(s.current, key); msg != nil {
		copyText(gtx, msg.Text)
	}
}

// unreadBadge draws an unread count, preceded by an "@" badge when
// mentions of them mention the user.
func unreadBadge(gtx C, th *Theme, n, mentions int) D {
	if mentions == 0 {
		return badge(gtx, th, n)
	}
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return mentionBadge(gtx, th) }),
		layout.Rigid(layout.Spacer{Width: 3}.Layout),
		layout.Rigid(func(gtx C) D { return badge(gtx, th, n) }),
	)
}

// mentionBadge draws the "@" badge: unread messages mention the user.
func mentionBadge(gtx C, th *Theme) D {
	return background(gtx, th, th.Pal.Danger, 10, func(gtx C) D {
		semantic.LabelOp("mentions you").Add(gtx.Ops)
		gtx.Constraints.Min = image.Pt(gtx.Dp(20), gtx.Dp(20))
		return layout.Center.Layout(gtx, th.bold(sizeCaption, rgb(0xffffff), "@").Layout)
	})
}

// pillButton is a small rounded button floating over a list.
func pillButton(gtx C, th *Theme, click *widget.Clickable, label string) D {
	return click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		bg := th.Pal.Accent
		if click.Hovered() {
			bg = hover(bg, th.Dark)
		}
		d := background(gtx, th, bg, 16, func(gtx C) D {
			gtx.Constraints.Min.Y = gtx.Dp(32)
			return layout.Inset{Left: 14, Right: 14}.Layout(gtx, func(gtx C) D {
				return layout.Center.Layout(gtx, th.bold(sizeSmall, th.Pal.OnAccent, label).Layout)
			})
		})
		g := gtx.Dp(3)
		focusRing(gtx, th, click, outset(image.Rectangle{Max: d.Size}, g), gtx.Dp(16)+g)
		return d
	})
}
