package ui

import (
	"context"
	"strings"
	"time"

	"gioui.org/io/key"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/widget"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// chatScreen is the main screen: the people pane beside the open thread
// (desktop) or instead of it (phone). It owns the session and the model,
// turns input into actions on them, and composes the views: the people pane
// (people.go) with the settings panel (settingspanel.go), the thread pane
// (thread.go) with its messages (messages.go, bubble.go) and composer
// (composer.go), and the cards (cards.go). What the session did reaches the
// model through events.go; history.go pages in older history.
type chatScreen struct {
	a      *App
	sess   chatSession
	m      *model.Model
	events *eventPump
	hist   *historyPager

	current string // the open thread (model.Everyone for the feed)
	// focusComposer says that the composer of thread focusFor takes the
	// keyboard focus as soon as it shows its field: the thread just opened,
	// or the chat just accepted or requested, once it opens.
	focusComposer bool
	focusFor      string
	showThread    bool // narrow layout: the thread pane is shown instead of the people pane
	narrow        bool // this frame (or the last) uses the one-pane layout

	people    *peoplePane
	settings  settingsPanel
	pane      threadPane
	threads   map[string]*threadState // by thread, see view
	msgs      messageStates
	cards     cardDeck
	reconnect widget.Clickable // Retry now, in the banner
	search    *searchPane      // in place of the people pane while open
	switcher  *switcher        // Ctrl+K, over everything while open
	seeking   *seek            // a search result to scroll to, see openAt
	sec       secUI            // verify dialog, key changes (verify.go)
	cardKeys  cardFocus        // Esc takes the focus off a card, see switcher.go

	ctx    context.Context // done when the screen closes
	cancel context.CancelFunc
}

func newChatScreen(a *App, sess chatSession) *chatScreen {
	s := &chatScreen{
		a: a, sess: sess,
		m:       model.New(sess.Nick(), sess.ServerAddr(), a.cfg.Now),
		people:  newPeoplePane(),
		threads: map[string]*threadState{},
	}
	s.ctx, s.cancel = context.WithCancel(a.ctx)
	s.search, s.switcher = newSearchPane(), newSwitcher()
	s.settings.load(a.settings, a.notifyErr())
	s.initMuted()
	s.hist = newHistoryPager(s.ctx, a, sess, s.m)
	s.events = &eventPump{sess: sess, m: s.m, reset: s.hist.reset}
	return s
}

// view returns the widget state of thread peer, making it if needed.
func (s *chatScreen) view(peer string) *threadState {
	ts := s.threads[peer]
	if ts == nil {
		ts = newThreadState(s.a.cfg.Touch)
		s.threads[peer] = ts
	}
	return ts
}

// CanBack reports whether Back would close something: the question of ✕,
// the settings panel, or a thread shown over the people list (narrow
// layout).
func (s *chatScreen) CanBack() bool {
	return s.sec.open || s.pane.menu.open || s.completing() || s.pane.head.menuOpen || s.people.confirmLeave || s.settings.open || s.switcher.open || s.cardKeys.on || s.showThread && s.narrow || s.search.open ||
		!s.narrow && s.current != model.Everyone
}

// Back closes what is open over the chat (dialog, menus, the @-offer, the
// question of ✕, settings, switcher, a card's focus), else returns from
// the thread: to the people list on a phone, to the Everyone feed on a
// wide window (which has no empty thread pane); else closes the search.
func (s *chatScreen) Back() {
	switch {
	case s.sec.open:
		s.sec.open = false
	case s.pane.menu.open:
		s.pane.menu.open = false
	case s.completing():
		s.view(s.current).composer.complete.dismiss()
	case s.pane.head.menuOpen:
		s.pane.head.menuOpen = false
	case s.people.confirmLeave:
		s.people.confirmLeave = false
	case s.settings.open:
		s.settings.open = false
	case s.switcher.open:
		s.switcher.open = false
	case s.cardKeys.on:
		s.cardKeys.blur()
	case s.showThread && s.narrow:
		s.showThread = false
	case !s.narrow && !s.search.open && s.current != model.Everyone:
		s.open(model.Everyone)
	default:
		s.search.open = false
	}
}

// Resume makes a session whose server link is down reconnect at once.
func (s *chatScreen) Resume() { s.sess.ReconnectNow() }

// Unread returns the number of unread private messages (model.UnreadPrivate).
func (s *chatScreen) Unread() int { return s.m.UnreadPrivate() }

// SetFocused passes the window's focus to the session's notification policy.
func (s *chatScreen) SetFocused(focused bool) { s.sess.SetFocused(focused) }

func (s *chatScreen) Close() {
	s.cancel()
	if err := s.sess.Close(); err != nil {
		s.a.log.Debug("close session", "err", err)
	}
}

// open shows the thread with peer.
func (s *chatScreen) open(peer string) {
	s.opening(peer) // unread.go
	if peer != s.current {
		s.pane.confirmDel = false
	}
	s.current = peer
	s.showThread = true
	s.focusComposer, s.focusFor = true, peer
	s.m.Thread(peer)
}

// sendText sends txt to thread peer.
func (s *chatScreen) sendText(peer, txt string) {
	if peer == model.Everyone {
		s.sess.Broadcast(txt)
	} else {
		s.sess.Send(peer, txt)
	}
}

// retry sends failed message key of the open thread again.
func (s *chatScreen) retry(key uint64) {
	if msg := s.m.Message(s.current, key); msg != nil {
		s.sess.Retry(s.current, *msg)
	}
}

// answer carries out what the user did with the chat request of thread.
func (s *chatScreen) answer(thread string, act inviteAction) {
	switch act {
	case inviteAccept:
		s.sess.Accept(thread)
		s.open(thread)
	case inviteDecline:
		s.sess.Decline(thread)
	case inviteOpen:
		s.open(thread)
	}
}

// canSend reports whether the thread with peer takes messages now: the
// feed; a private thread whose chat is open, whose peer is away with a
// mailbox to keep them (awayMail), or whose peer is online with no chat
// open (invitesOnSend). Never while a changed key of the peer waits.
func (s *chatScreen) canSend(peer string) bool {
	if peer == model.Everyone {
		return true
	}
	t := s.m.Lookup(peer)
	if t == nil || t.Sec.KeyChanged {
		return false
	}
	return t.Chat == client.ChatOpen || s.awayMail(t) || s.invitesOnSend(t)
}

// invitesOnSend reports whether sending on the private thread t asks its
// peer for a chat, like the command line's /msg: the peer is online, no
// chat is open and the peer has not asked for one (that request is
// answered first). The client core's Send invites the peer (or waits for
// the request already sent) and sends the messages once the chat opens;
// a declined or expired request fails them, each with its Retry.
func (s *chatScreen) invitesOnSend(t *model.Thread) bool {
	return t.Peer != model.Everyone && (t.Chat == client.ChatNone || t.Chat == client.ChatInviting) &&
		!t.Sec.KeyChanged && s.m.Online(t.Peer)
}

// awayMail reports whether the private thread t takes messages for the
// server's mailbox: its peer is known to be away (offline while the server
// link is up), no chat is open or being set up, and the session has device
// identities (the mailbox keeps messages sealed to the peer's key). The
// client core stores them (delivery.Stored) or says why it cannot.
func (s *chatScreen) awayMail(t *model.Thread) bool {
	return t.Peer != model.Everyone && t.Chat == client.ChatNone && (t.Sec.Known || s.m.Keyed) && !t.Sec.KeyChanged &&
		s.m.PresenceKnown() && !s.m.Online(t.Peer)
}

// updateLeave handles ✕ and the question it asks, and reports whether the
// user left the server (the screen is closed). Leaving asks first, so that
// no single key or click ends every chat; when ✕ was reached with the
// keyboard, the question takes the focus on Cancel.
func (s *chatScreen) updateLeave(gtx C) (left bool) {
	p := s.people
	if p.disconnect.Clicked(gtx) {
		p.confirmLeave = !p.confirmLeave
		if p.confirmLeave && gtx.Focused(&p.disconnect.Clickable) {
			gtx.Execute(focusCmd(&p.leaveCancel))
		}
	}
	if p.leaveCancel.Clicked(gtx) {
		p.confirmLeave = false
	}
	if p.leaveOK.Clicked(gtx) && p.confirmLeave {
		s.a.pop()
		return true
	}
	if !p.confirmLeave && (gtx.Focused(&p.leaveCancel) || gtx.Focused(&p.leaveOK)) {
		// Cancelled (or Esc) from the keyboard: back to ✕.
		gtx.Execute(focusCmd(&p.disconnect.Clickable))
	}
	return false
}

// update brings in what happened since the last frame and handles the input.
func (s *chatScreen) update(gtx C) {
	s.narrow = gtx.Constraints.Max.X < gtx.Dp(narrowWidth)
	s.events.frame(s.a.env.Focused, s.current, !s.narrow || s.showThread)
	s.markSeen()
	s.hist.applyPages(func(peer string, n int) {
		// Keep what the user sees in place.
		if ts := s.threads[peer]; ts != nil {
			ts.list.Position.First += n
		}
	})
	s.m.Expire()
	s.people.update(gtx, s.open)
	s.shortcuts(gtx) // switcher.go
	s.updateSearch(gtx)
	if s.pane.back.Clicked(gtx) {
		s.showThread = false
	}
	if s.reconnect.Clicked(gtx) {
		s.sess.ReconnectNow()
	}
	if s.updateLeave(gtx) || s.updateSec(gtx) { // verify.go
		return
	}
	if (s.pane.leave.Clicked(gtx) || s.pane.head.leaveIcon.Clicked(gtx)) && s.current != model.Everyone {
		s.sess.Leave(s.current)
	}
	if s.people.menu.Clicked(gtx) {
		s.settings.open = !s.settings.open
	}
	s.updateMute(gtx)
	if s.settings.update(gtx) {
		s.settings.apply(&s.a.settings)
		s.sess.SetMuted(s.a.settings.MuteNotifications)
		s.a.saveSettings()
	}
	if s.pane.del.Clicked(gtx) {
		s.pane.confirmDel = !s.pane.confirmDel
	}
	if s.pane.delCancel.Clicked(gtx) {
		s.pane.confirmDel = false
	}
	if s.pane.delConfirm.Clicked(gtx) && s.pane.confirmDel {
		s.hist.delete(s.current)
		if ts := s.threads[s.current]; ts != nil {
			ts.list.Position = layout.Position{}
		}
		s.pane.confirmDel = false
	}
	if s.cards.update(gtx, s.answer) {
		s.m.Notices = nil
	}
	s.updateThread(gtx) // unread.go
	ts := s.view(s.current)
	if ts.composer.attach.Clicked(gtx) && s.canSend(s.current) {
		s.attach(s.current) // files.go
	}
	if ts.composer.update(gtx) {
		ed := &ts.composer.editor
		txt := strings.TrimSpace(ed.Text())
		if txt != "" && s.canSend(s.current) {
			s.sendText(s.current, txt)
			ed.SetText("")
			ts.list.Position.BeforeEnd = false
		}
		gtx.Execute(focusCmd(ed))
	}
	if ts.composer.takePaste() && s.canSend(s.current) {
		s.pasteImage(s.current) // paste.go
	}
	if s.pane.jump.Clicked(gtx) {
		ts.list.Position.BeforeEnd = false
	}
	s.events.drain() // what the actions above changed
	s.markSeen()
}

// markSeen marks the open thread read if it is on screen and scrolled to
// its end (as last laid out). It runs after every drain, before anything
// is drawn, so that no badge nor window title counts what the user sees.
func (s *chatScreen) markSeen() {
	if s.narrow && !s.showThread {
		return
	}
	if ts := s.threads[s.current]; ts == nil || !ts.list.Position.BeforeEnd {
		s.m.MarkRead(s.current)
	}
}

// Layout draws the chat screen.
func (s *chatScreen) Layout(gtx C) D {
	s.update(gtx)
	if s.a.top() != screen(s) {
		return D{Size: gtx.Constraints.Max}
	}
	// Countdowns (invites, reconnect) need a frame each second.
	if len(s.m.Invites) > 0 || s.m.Conn.State == model.Reconnecting || len(s.m.Notices) > 0 {
		gtx.Execute(op.InvalidateCmd{At: gtx.Now.Truncate(time.Second).Add(time.Second)})
	}
	narrow := s.narrow
	shown := "" // the thread on screen, whose request the thread itself shows
	if !narrow || s.showThread {
		shown = s.current
	}
	th := s.a.th
	s.cards.collect(th, &s.a.ic, s.m, shown)
	d := layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(bannerStyle{th: th, conn: s.m.Conn, now: s.m.Now(), retry: &s.reconnect}.Layout),
		layout.Rigid(func(gtx C) D {
			if !s.m.ServerKeyChanged {
				return D{}
			}
			return serverKeyBanner{th: th, sec: &s.sec, server: s.m.Server}.Layout(gtx) // serverkey.go
		}),
		layout.Flexed(1, func(gtx C) D {
			if narrow {
				if s.showThread {
					return s.thread(gtx, true)
				}
				return s.sidebar(gtx)
			}
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					gtx.Constraints.Min.X = gtx.Dp(sidebarWidth)
					gtx.Constraints.Max.X = gtx.Constraints.Min.X
					return s.sidebar(gtx)
				}),
				layout.Rigid(func(gtx C) D { return vline(gtx, th.Pal.Divider) }),
				layout.Flexed(1, func(gtx C) D { return s.thread(gtx, false) }),
			)
		}),
	)
	if s.switcher.open {
		s.layoutSwitcher(gtx)
	}
	if s.sec.open {
		s.layoutVerify(gtx) // verify.go
	}
	// Keep widget state only for what is on screen, so that it does not grow
	// with the history.
	s.msgs.prune()
	return d
}

// sidebar draws the people pane.
func (s *chatScreen) sidebar(gtx C) D {
	th := s.a.th
	if s.search.open {
		return s.searchPane(gtx) // search.go
	}
	return peoplePaneStyle{
		th: th, ic: &s.a.ic, m: s.m, state: s.people,
		Current: s.current, ThreadShown: s.showThread,
		Settings: settingsPanelStyle{th: th, state: &s.settings, Server: s.a.settings.Server}.Layout,
		Cards:    &s.cards,
		Muted:    s.a.settings.Muted,
	}.Layout(gtx)
}

// thread draws the thread pane of the open thread.
func (s *chatScreen) thread(gtx C, narrow bool) D {
	th, ic := s.a.th, &s.a.ic
	peer := s.current
	t := s.m.Thread(peer)
	ts := s.view(peer)
	if !ts.list.Position.BeforeEnd && (s.showThread || !narrow) {
		s.m.MarkRead(peer)
	}
	comp := newComposer(th, ic, &ts.composer, t)
	switch {
	case peer == model.Everyone || t.Chat == client.ChatOpen && !t.Sec.KeyChanged:
	case t.Sec.KeyChanged:
		comp.Gate = keyChangeGate{th: th, thread: t, sec: &s.sec}.Layout // keychange.go
	case s.awayMail(t):
		comp.Note = t.Name() + " is away — messages wait on the server"
	case s.invitesOnSend(t):
		comp.Note, comp.NoteIcon = inviteNote(t), ic.invite
		if t.Chat == client.ChatInviting {
			comp.NoteIcon = ic.clock
		}
	default:
		g := chatGateStyle{th: th, thread: t}
		if t.Chat == client.ChatInvited {
			g.invite = s.cards.invite(peer)
		}
		comp.Gate = g.Layout
	}
	comp.Attach = s.a.cfg.Picker != nil && s.canSend(peer)
	s.pane.head.muted = s.a.settings.Muted(peer)
	p := threadPaneStyle{
		th: th, ic: ic, m: s.m, pane: &s.pane, thread: t, state: ts,
		Composer: comp.Layout,
		Narrow:   narrow, CanDelete: s.a.cfg.History != nil,
	}
	p.Messages = func(gtx C) D {
		ml := newMessageList(th, ic, t, &ts.list, &s.msgs, s.m.Now())
		ml.Me = s.m.Me
		ml.Divider, ml.HasDivider = ts.divider, ts.hasDivider
		ml.Highlight, ml.HasHighlight = ts.highlight(gtx)
		ml.Thumbs = &s.a.thumbs
		d := ml.Layout(gtx)
		if len(t.Messages) > 0 && ts.list.Position.First < historyAhead {
			s.hist.loadOlder(t)
		}
		return d
	}
	if narrow {
		p.Cards = s.cards.flowCards
	}
	d := p.Layout(gtx)
	if s.focusComposer && s.focusFor == peer {
		switch {
		case comp.Gate == nil:
			gtx.Execute(focusCmd(&ts.composer.editor))
			s.focusComposer = false
		case t.Chat == client.ChatInvited || t.Chat == client.ChatInviting:
			// The chat is on its way: the composer takes the focus when it
			// opens. Meanwhile keys must not go on filtering the people.
			if gtx.Focused(&s.people.filter) {
				gtx.Execute(key.FocusCmd{})
			}
		default:
			s.focusComposer = false
		}
	}
	return d
}

// bannerStyle shows the state of the server connection when it is not
// plainly connected, with Retry now.
type bannerStyle struct {
	th    *Theme
	conn  model.Conn
	now   time.Time
	retry *widget.Clickable
}

func (b bannerStyle) Layout(gtx C) D {
	th, c := b.th, b.conn
	if c.State == model.Connected {
		return D{}
	}
	bg, fg := th.Pal.Warn, th.Pal.OnWarn
	msg := "Connection to the server lost. Reconnecting…"
	retry := true
	if c.State == model.Unconfirmed {
		// Issue 9, defect 5: a port that took our registration and said
		// nothing is not an empty room. Retrying would not change that.
		msg, retry = "No answer from the server yet: it may not be a PeerChat server", false
	} else if c.State == model.Reconnecting {
		if left := c.RetryAt.Sub(b.now); left > 0 {
			msg = "Connection to the server lost. Reconnecting in " + itoa(int(left.Round(time.Second)/time.Second)) + " s…"
		}
		if c.Attempt > 1 {
			msg += " (attempt " + itoa(c.Attempt) + ")"
		}
	} else {
		bg, fg = th.Pal.Danger, th.Pal.OnDanger
		msg = "The server is gone"
		if c.Err != "" {
			msg += ": " + c.Err
		}
	}
	return background(gtx, th, bg, 0, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Inset{Left: pad, Right: 8, Top: 2, Bottom: 2}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
				layout.Flexed(1, th.bold(sizeSmall, fg, msg).Layout),
				layout.Rigid(func(gtx C) D {
					if !retry {
						// Keeps the banner's height: a button's, with or without it.
						return layout.Spacer{Height: touch}.Layout(gtx)
					}
					return smallButton(gtx, th, b.retry, "Retry now", fg)
				}),
			)
		})
	})
}
