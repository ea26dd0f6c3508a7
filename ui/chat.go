package ui

import (
	"context"
	"image"
	"regexp"
	"strings"
	"time"

	"gioui.org/font"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/text"
	"gioui.org/unit"
	"gioui.org/widget"
	"gioui.org/widget/material"
	"gioui.org/x/richtext"

	"peerchat/core/client"
	"peerchat/core/wire"
	"peerchat/ui/model"
)

// Chat screen limits.
const (
	// filterThreshold is the number of people above which the people list
	// offers a filter field.
	filterThreshold = 8
	// groupWindow is how close in time consecutive messages of one sender
	// must be to share one header.
	groupWindow = 5 * time.Minute
	// noticeFor is how long an error notice stays up.
	noticeFor = 8 * time.Second
)

// chatScreen is the main screen: people and threads.
type chatScreen struct {
	a    *App
	sess Session
	m    *model.Model
	evs  []client.Event

	current    string // the open thread (model.Everyone for the feed)
	showThread bool   // narrow layout: the thread pane is shown instead of the people pane
	narrow     bool   // the last frame used the one-pane layout

	people     widget.List
	rows       map[string]*widget.Clickable
	everyone   widget.Clickable
	filter     widget.Editor
	threads    map[string]*threadView
	invites    map[string]*inviteCard
	retry      map[uint64]*widget.Clickable
	links      map[uint64]*richtext.InteractiveText
	shown      map[uint64]bool // keys of the messages laid out this frame
	reconnect  widget.Clickable
	disconnect widget.Clickable
	back       widget.Clickable
	request    widget.Clickable
	leave      widget.Clickable
	jump       widget.Clickable
	dismiss    widget.Clickable
	del        widget.Clickable // "Delete history" in the thread header
	delCancel  widget.Clickable
	delConfirm widget.Clickable
	confirmDel bool             // the thread shows the confirmation of Delete history
	menu       widget.Clickable // the settings button of the people pane
	settings   bool             // the settings panel is open
	notifyOn   widget.Bool      // the notifications setting

	cards []layout.Widget // this frame's chat requests and notice, see collectCards

	// History paging: older pages are loaded off the UI goroutine and
	// handed back through pages.
	ctx    context.Context // done when the screen closes
	cancel context.CancelFunc
	pagers map[string]*pager
	pages  chan page
}

// pager is the paging state of one thread's history.
type pager struct {
	more    bool // older messages may be in History
	loading bool // a Load is running
	gen     int  // bumped by a delete: a page loaded before it is dropped
}

// page is the result of loading an older page of a thread.
type page struct {
	peer string
	gen  int
	msgs []model.Message
	err  error
}

// threadView is the per-thread widget state.
type threadView struct {
	list   widget.List
	editor widget.Editor
	send   widget.Clickable
}

type inviteCard struct {
	accept, decline, open widget.Clickable
}

func newChatScreen(a *App, sess Session) *chatScreen {
	s := &chatScreen{
		a: a, sess: sess,
		m:       model.New(sess.Nick(), sess.ServerAddr(), a.cfg.Now),
		rows:    map[string]*widget.Clickable{},
		threads: map[string]*threadView{},
		invites: map[string]*inviteCard{},
		retry:   map[uint64]*widget.Clickable{},
		links:   map[uint64]*richtext.InteractiveText{},
		shown:   map[uint64]bool{},
		pagers:  map[string]*pager{},
		pages:   make(chan page, 1),
	}
	s.ctx, s.cancel = context.WithCancel(a.ctx)
	s.notifyOn.Value = !a.settings.MuteNotifications
	s.people.Axis = layout.Vertical
	s.filter.SingleLine = true
	var nicks []string
	for _, p := range sess.Peers() {
		nicks = append(nicks, p.Nick)
	}
	s.m.SetPeers(nicks)
	if h := a.cfg.History; h != nil {
		s.seed(h)
		s.m.OnAdd = h.Save
		s.m.OnChange = h.Update
	}
	return s
}

// seed loads the newest page of every thread of earlier runs.
func (s *chatScreen) seed(h History) {
	threads, err := h.Threads()
	if err != nil {
		s.a.log.Warn("history", "err", err)
	}
	for _, name := range append([]string{model.Everyone}, threads...) {
		msgs, err := h.Load(name, 0, HistoryPage)
		if err != nil {
			s.a.log.Warn("history", "thread", name, "err", err)
			continue
		}
		peer := name
		if name != model.Everyone {
			peer = s.displayNick(name, msgs)
		}
		s.addPage(peer, msgs)
		s.pagers[peer] = &pager{more: len(msgs) == HistoryPage}
	}
}

// displayNick is how to show the peer of the private thread stored as
// folded: as the peer online now, or as they last wrote, or folded.
func (s *chatScreen) displayNick(folded string, msgs []model.Message) string {
	for _, p := range s.m.People {
		if wire.FoldNick(p.Nick) == folded {
			return p.Nick
		}
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Kind == model.KindText && m.From != s.m.Me && wire.FoldNick(m.From) == folded {
			return m.From
		}
	}
	return folded
}

// addPage puts msgs, older than what thread peer shows, before it.
func (s *chatScreen) addPage(peer string, msgs []model.Message) {
	for i := range msgs {
		msgs[i].Mine = msgs[i].Kind == model.KindText && msgs[i].From == s.m.Me
	}
	s.m.Seed(peer, msgs)
}

// loadOlder starts loading the page of History before the oldest message
// of t, unless one is loading or there is none.
func (s *chatScreen) loadOlder(t *model.Thread) {
	h := s.a.cfg.History
	p := s.pagers[t.Peer]
	if h == nil || p == nil || !p.more || p.loading || len(t.Messages) == 0 || t.Messages[0].Seq == 0 {
		return
	}
	p.loading = true
	peer, before, gen := t.Peer, t.Messages[0].Seq, p.gen
	s.a.go_(func(context.Context) {
		msgs, err := h.Load(peer, before, HistoryPage)
		select {
		case s.pages <- page{peer: peer, gen: gen, msgs: msgs, err: err}:
			s.a.cfg.Invalidate()
		case <-s.ctx.Done():
		}
	})
}

// applyPages prepends the pages loaded since the last frame, keeping what
// the user sees in place.
func (s *chatScreen) applyPages() {
	for {
		var pg page
		select {
		case pg = <-s.pages:
		default:
			return
		}
		p := s.pagers[pg.peer]
		if p == nil || p.gen != pg.gen {
			continue
		}
		p.loading = false
		if pg.err != nil {
			s.a.log.Warn("history", "thread", pg.peer, "err", pg.err)
			p.more = false
			continue
		}
		p.more = len(pg.msgs) == HistoryPage
		s.addPage(pg.peer, pg.msgs)
		if tv := s.threads[pg.peer]; tv != nil {
			tv.list.Position.First += len(pg.msgs)
		}
	}
}

// deleteHistory deletes the history of thread peer and empties it.
func (s *chatScreen) deleteHistory(peer string) {
	if h := s.a.cfg.History; h != nil {
		h.Delete(peer)
	}
	s.m.Clear(peer)
	p := s.pagers[peer]
	if p == nil {
		p = new(pager)
		s.pagers[peer] = p
	}
	p.gen++
	p.more, p.loading = false, false
	if tv := s.threads[peer]; tv != nil {
		tv.list.Position = layout.Position{}
	}
}

func (s *chatScreen) view(peer string) *threadView {
	tv := s.threads[peer]
	if tv == nil {
		tv = &threadView{}
		tv.list.Axis = layout.Vertical
		tv.list.ScrollToEnd = true
		tv.editor.Submit = !s.a.cfg.Touch
		s.threads[peer] = tv
	}
	return tv
}

// CanBack reports whether a thread is shown over the people list (narrow layout).
func (s *chatScreen) CanBack() bool { return s.showThread && s.narrow }

// Back returns from the thread to the people list.
func (s *chatScreen) Back() { s.showThread = false }

func (s *chatScreen) Close() {
	s.cancel()
	if err := s.sess.Close(); err != nil {
		s.a.log.Debug("close session", "err", err)
	}
}

// open shows the thread with peer.
func (s *chatScreen) open(peer string) {
	if peer != s.current {
		s.confirmDel = false
	}
	s.current = peer
	s.showThread = true
	s.m.Thread(peer)
}

// drain applies the session's pending events to the model.
func (s *chatScreen) drain() {
	s.evs = s.sess.Poll(s.evs[:0])
	for _, ev := range s.evs {
		thread, attention := s.m.Apply(ev)
		if !attention {
			continue
		}
		title, body := thread, ev.Text
		switch ev.Kind {
		case client.EventInvite:
			title, body = ev.From+" wants to chat", "Open PeerChat to accept or decline."
		case client.EventBroadcast:
			m := lastText(s.m.Thread(model.Everyone))
			if m == nil || !mentions(m.Text, s.m.Me) {
				continue // only broadcasts that mention the user notify
			}
			title, body = m.From+" mentioned you", m.Text
		case client.EventChatClosed:
			title, body = "Chat with "+ev.Peer+" lost", "The connection to "+ev.Peer+" broke."
		}
		s.a.notify(title, body)
	}
	clear(s.evs)
}

func (s *chatScreen) sendText(peer, txt string) {
	s.transmit(peer, s.m.Outgoing(peer, txt), txt)
}

// transmit hands message key of thread peer to the session.
func (s *chatScreen) transmit(peer string, key uint64, txt string) {
	if peer == model.Everyone {
		if err := s.sess.Broadcast(txt); err != nil {
			s.m.Fail(peer, key, err)
		}
		return
	}
	id, err := s.sess.Send(peer, txt)
	if err != nil {
		s.m.Fail(peer, key, err)
		return
	}
	s.m.Sent(peer, key, id)
}

func (s *chatScreen) update(gtx C) {
	s.drain()
	s.applyPages()
	s.m.Expire()
	if s.everyone.Clicked(gtx) {
		s.open(model.Everyone)
	}
	for nick, c := range s.rows {
		if c.Clicked(gtx) {
			s.open(nick)
		}
	}
	if s.back.Clicked(gtx) {
		s.showThread = false
	}
	if s.reconnect.Clicked(gtx) {
		s.sess.ReconnectNow()
	}
	if s.disconnect.Clicked(gtx) {
		s.a.pop()
		return
	}
	if s.request.Clicked(gtx) && s.current != model.Everyone {
		if err := s.sess.Invite(s.current); err != nil {
			s.m.System(s.current, "Could not send the chat request: "+err.Error())
		} else {
			s.m.Inviting(s.current)
		}
	}
	if s.leave.Clicked(gtx) && s.current != model.Everyone {
		if err := s.sess.LeaveChat(s.current); err != nil {
			s.m.Notify(err.Error())
		}
	}
	if s.menu.Clicked(gtx) {
		s.settings = !s.settings
	}
	if s.notifyOn.Update(gtx) {
		s.a.settings.MuteNotifications = !s.notifyOn.Value
		s.a.saveSettings()
	}
	if s.del.Clicked(gtx) {
		s.confirmDel = !s.confirmDel
	}
	if s.delCancel.Clicked(gtx) {
		s.confirmDel = false
	}
	if s.delConfirm.Clicked(gtx) && s.confirmDel {
		s.deleteHistory(s.current)
		s.confirmDel = false
	}
	if s.dismiss.Clicked(gtx) {
		s.m.Notices = nil
	}
	for nick, ic := range s.invites {
		switch {
		case ic.accept.Clicked(gtx):
			if err := s.sess.Accept(nick); err != nil {
				s.m.Notify("Could not accept " + nick + ": " + err.Error())
			}
			s.m.Answered(nick, true)
			s.open(nick)
		case ic.decline.Clicked(gtx):
			if err := s.sess.Decline(nick); err != nil {
				s.m.Notify("Could not decline " + nick + ": " + err.Error())
			}
			s.m.Answered(nick, false)
		case ic.open.Clicked(gtx):
			s.open(nick)
		}
	}
	for key, c := range s.retry {
		if !c.Clicked(gtx) {
			continue
		}
		if txt, ok := s.m.Resend(s.current, key); ok {
			s.transmit(s.current, key, txt)
		}
		delete(s.retry, key)
	}
	for _, st := range s.links {
		for {
			span, ev, ok := st.Update(gtx)
			if !ok {
				break
			}
			if ev.Type == richtext.Click {
				if u, ok := span.Get("url").(string); ok {
					s.a.openURL(u)
				}
			}
		}
	}
	tv := s.view(s.current)
	submit := tv.send.Clicked(gtx)
	for {
		ev, ok := tv.editor.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			submit = true
		}
	}
	if submit {
		txt := strings.TrimSpace(tv.editor.Text())
		if txt != "" && s.canSend(s.current) {
			s.sendText(s.current, txt)
			tv.editor.SetText("")
			tv.list.Position.BeforeEnd = false
		}
		gtx.Execute(focusCmd(&tv.editor))
	}
	if s.jump.Clicked(gtx) {
		tv.list.Position.BeforeEnd = false
	}
}

func (s *chatScreen) canSend(peer string) bool {
	if peer == model.Everyone {
		return true
	}
	t := s.m.Lookup(peer)
	return t != nil && t.Chat == model.ChatOpen
}

// Layout draws the chat screen.
func (s *chatScreen) Layout(gtx C) D {
	s.update(gtx)
	if len(s.a.stack) == 0 || s.a.stack[len(s.a.stack)-1] != screen(s) {
		return D{Size: gtx.Constraints.Max}
	}
	// Countdowns (invites, reconnect) need a frame each second.
	if len(s.m.Invites) > 0 || s.m.Conn.State == model.Reconnecting || len(s.m.Notices) > 0 {
		gtx.Execute(op.InvalidateCmd{At: gtx.Now.Truncate(time.Second).Add(time.Second)})
	}
	narrow := gtx.Constraints.Max.X < gtx.Dp(narrowWidth)
	s.narrow = narrow
	s.collectCards(narrow)
	th := s.a.th
	d := layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(s.banner),
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
	// Keep widget state only for what is on screen, so that it does not grow
	// with the history.
	for k := range s.links {
		if !s.shown[k] {
			delete(s.links, k)
		}
	}
	for k := range s.retry {
		if !s.shown[k] {
			delete(s.retry, k)
		}
	}
	clear(s.shown)
	return d
}

// banner shows the connection state when it is not plainly connected.
func (s *chatScreen) banner(gtx C) D {
	th := s.a.th
	c := s.m.Conn
	if c.State == model.Connected {
		return D{}
	}
	bg, fg := th.Pal.Warn, th.Pal.OnWarn
	msg := "Connection to the server lost. Reconnecting…"
	if c.State == model.Reconnecting {
		if left := c.RetryAt.Sub(s.m.Now()); left > 0 {
			msg = "Connection to the server lost. Reconnecting in " + itoa(int(left.Round(time.Second)/time.Second)) + " s…"
		}
		if c.Attempt > 1 {
			msg += " (attempt " + itoa(c.Attempt) + ")"
		}
	} else {
		bg, fg = th.Pal.Danger, rgb(0xffffff)
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
					return s.smallButton(gtx, &s.reconnect, "Retry now", fg)
				}),
			)
		})
	})
}

// smallButton is a text-only button with a touch-sized target.
func (s *chatScreen) smallButton(gtx C, click *widget.Clickable, label string, fg colorT) D {
	th := s.a.th
	return click.Layout(gtx, func(gtx C) D {
		gtx.Constraints.Min.Y = gtx.Dp(touch)
		return layout.Center.Layout(gtx, func(gtx C) D {
			return layout.Inset{Left: 12, Right: 12}.Layout(gtx, func(gtx C) D {
				l := th.bold(sizeSmall, fg, label)
				l.MaxLines = 1
				return l.Layout(gtx)
			})
		})
	})
}

func (s *chatScreen) header(gtx C, w layout.Widget) D {
	th := s.a.th
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				gtx.Constraints.Min.Y = gtx.Dp(64)
				return layout.Inset{Left: 8, Right: 8}.Layout(gtx, func(gtx C) D {
					return layout.Center.Layout(gtx, w)
				})
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}

// sidebar lists the feed and the people.
func (s *chatScreen) sidebar(gtx C) D {
	th := s.a.th
	paint.FillShape(gtx.Ops, th.Pal.Panel, clip.Rect{Max: gtx.Constraints.Max}.Op())
	people := s.m.People
	showFilter := len(people) > filterThreshold
	q := ""
	if showFilter {
		q = strings.ToLower(strings.TrimSpace(s.filter.Text()))
	}
	var shown []model.Person
	for _, p := range people {
		if q == "" || strings.Contains(strings.ToLower(p.Nick), q) {
			shown = append(shown, p)
		}
	}
	online := 0
	for _, p := range people {
		if p.Online {
			online++
		}
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return s.header(gtx, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(layout.Spacer{Width: 4}.Layout),
					layout.Rigid(func(gtx C) D { return avatar(gtx, th, s.m.Me, avatarSize) }),
					layout.Rigid(layout.Spacer{Width: 12}.Layout),
					layout.Flexed(1, func(gtx C) D {
						return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
							layout.Rigid(func(gtx C) D {
								l := th.bold(sizeBody, th.Pal.Text, s.m.Me)
								l.MaxLines = 1
								return l.Layout(gtx)
							}),
							layout.Rigid(func(gtx C) D {
								return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
									layout.Rigid(func(gtx C) D {
										c := th.Pal.Success
										if s.m.Conn.State != model.Connected {
											c = th.Pal.Warn
										}
										return dot(gtx, th, c, 8)
									}),
									layout.Rigid(layout.Spacer{Width: 6}.Layout),
									layout.Flexed(1, func(gtx C) D {
										l := th.label(sizeCaption, th.Pal.Muted, s.m.Server)
										l.MaxLines = 1
										return l.Layout(gtx)
									}),
								)
							}),
						)
					}),
					layout.Rigid(func(gtx C) D {
						return iconButton(gtx, th, &s.menu, s.a.ic.more, th.Pal.Muted, colorT{}, "Settings")
					}),
					layout.Rigid(func(gtx C) D {
						return iconButton(gtx, th, &s.disconnect, s.a.ic.close, th.Pal.Muted, colorT{}, "Disconnect")
					}),
				)
			})
		}),
		layout.Rigid(s.settingsPanel),
		layout.Rigid(func(gtx C) D {
			if !showFilter {
				return D{}
			}
			return layout.Inset{Left: 12, Right: 12, Top: 10, Bottom: 4}.Layout(gtx, func(gtx C) D {
				return field(gtx, th, &s.filter, "Filter people", gtx.Focused(&s.filter), false)
			})
		}),
		layout.Flexed(1, func(gtx C) D {
			// The cards lead the list, pushing the people down.
			nc := len(s.cards)
			n := nc + 2 + len(shown)
			l := material.List(th.Theme, &s.people)
			l.AnchorStrategy = material.Overlay
			return l.Layout(gtx, n, func(gtx C, i int) D {
				if i < nc {
					return s.flowCard(gtx, i)
				}
				i -= nc
				switch i {
				case 0:
					feed := s.m.Thread(model.Everyone)
					preview := itoa(online) + " people online"
					switch online {
					case 0:
						preview = "Nobody else here yet"
					case 1:
						preview = "1 person online"
					}
					if m := lastText(feed); m != nil {
						preview = m.From + ": " + firstLine(m.Text)
						if m.Mine {
							preview = "You: " + firstLine(m.Text)
						}
					}
					return s.row(gtx, &s.everyone, model.Everyone, "Everyone", preview, feed, true)
				case 1:
					return layout.Inset{Left: pad, Top: 14, Bottom: 6}.Layout(gtx, func(gtx C) D {
						txt := "PEOPLE · " + itoa(online) + " ONLINE"
						return th.bold(sizeCaption, th.Pal.Muted, txt).Layout(gtx)
					})
				}
				p := shown[i-2]
				c := s.rows[p.Nick]
				if c == nil {
					c = new(widget.Clickable)
					s.rows[p.Nick] = c
				}
				t := s.m.Lookup(p.Nick)
				preview := "online"
				if !p.Online {
					preview = "offline"
				}
				if t != nil {
					switch t.Chat {
					case model.ChatInvited:
						preview = "wants to chat with you"
					case model.ChatInviting:
						preview = "waiting for an answer…"
					}
					if m := lastText(t); m != nil && t.Chat != model.ChatInvited {
						preview = firstLine(m.Text)
						if m.Mine {
							preview = "You: " + preview
						}
					}
				}
				return s.row(gtx, c, p.Nick, p.Nick, preview, t, p.Online)
			})
		}),
	)
}

// settingsPanel shows the settings under the people pane's header when the
// settings button opened it.
func (s *chatScreen) settingsPanel(gtx C) D {
	if !s.settings {
		return D{}
	}
	th := s.a.th
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return layout.Inset{Left: pad, Right: pad, Top: 12, Bottom: 12}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Flexed(1, func(gtx C) D {
						return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
							layout.Rigid(th.bold(sizeBody, th.Pal.Text, "Notifications").Layout),
							layout.Rigid(th.label(sizeCaption, th.Pal.Muted, "Private messages, mentions and chat requests while PeerChat is in the background").Layout),
						)
					}),
					layout.Rigid(layout.Spacer{Width: 12}.Layout),
					layout.Rigid(func(gtx C) D {
						sw := material.Switch(th.Theme, &s.notifyOn, "Notifications")
						sw.Color.Enabled = th.Pal.Accent
						return sw.Layout(gtx)
					}),
				)
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}

func lastText(t *model.Thread) *model.Message {
	if t == nil {
		return nil
	}
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if t.Messages[i].Kind == model.KindText {
			return &t.Messages[i]
		}
	}
	return nil
}

// row is one entry of the people list.
func (s *chatScreen) row(gtx C, click *widget.Clickable, key, name, preview string, t *model.Thread, online bool) D {
	th := s.a.th
	selected := s.current == key && (s.showThread || gtx.Constraints.Max.X <= gtx.Dp(sidebarWidth)+1)
	return click.Layout(gtx, func(gtx C) D {
		return layout.Stack{}.Layout(gtx,
			layout.Expanded(func(gtx C) D {
				switch {
				case selected:
					return fill(gtx, th.Pal.Hover)
				case click.Hovered():
					return fill(gtx, withAlpha(th.Pal.Hover, 0x99))
				}
				return D{Size: gtx.Constraints.Min}
			}),
			layout.Stacked(func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: 12, Right: 12, Top: 10, Bottom: 10}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							if key == model.Everyone {
								return iconAvatar(gtx, th, s.a.ic.people, th.Pal.Accent, 44)
							}
							return layout.Stack{Alignment: layout.SE}.Layout(gtx,
								layout.Stacked(func(gtx C) D { return avatar(gtx, th, name, 44) }),
								layout.Stacked(func(gtx C) D {
									if !online {
										return D{}
									}
									return background(gtx, th, th.Pal.Panel, 8, func(gtx C) D {
										return layout.UniformInset(2).Layout(gtx, func(gtx C) D { return dot(gtx, th, th.Pal.Success, 10) })
									})
								}),
							)
						}),
						layout.Rigid(layout.Spacer{Width: 12}.Layout),
						layout.Flexed(1, func(gtx C) D {
							return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
								layout.Rigid(func(gtx C) D {
									return layout.Flex{Alignment: layout.Baseline}.Layout(gtx,
										layout.Flexed(1, func(gtx C) D {
											c := th.Pal.Text
											if !online && key != model.Everyone {
												c = th.Pal.Muted
											}
											l := th.bold(sizeBody, c, name)
											l.MaxLines = 1
											return l.Layout(gtx)
										}),
										layout.Rigid(func(gtx C) D {
											if m := lastText(t); m != nil {
												return th.label(sizeCaption, th.Pal.Muted, s.shortTime(m.Time)).Layout(gtx)
											}
											return D{}
										}),
									)
								}),
								layout.Rigid(layout.Spacer{Height: 2}.Layout),
								layout.Rigid(func(gtx C) D {
									return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
										layout.Flexed(1, func(gtx C) D {
											c := th.Pal.Muted
											if t != nil && t.Chat == model.ChatInvited {
												c = th.Pal.Accent
											}
											l := th.label(sizeSmall, c, preview)
											l.MaxLines = 1
											return l.Layout(gtx)
										}),
										layout.Rigid(func(gtx C) D {
											if t == nil || t.Unread == 0 {
												return D{}
											}
											return layout.Inset{Left: 6}.Layout(gtx, func(gtx C) D { return badge(gtx, th, t.Unread) })
										}),
									)
								}),
							)
						}),
					)
				})
			}),
		)
	})
}

// shortTime formats a message time for the people list.
func (s *chatScreen) shortTime(t time.Time) string {
	now := s.m.Now()
	t = t.In(now.Location())
	y1, m1, d1 := now.Date()
	y2, m2, d2 := t.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04")
	case now.Sub(t) < 6*24*time.Hour:
		return t.Format("Mon")
	}
	return t.Format("2 Jan")
}

// dayLabel names the day of t for separators.
func (s *chatScreen) dayLabel(t time.Time) string {
	now := s.m.Now()
	t = t.In(now.Location())
	sameDay := func(a, b time.Time) bool {
		y1, m1, d1 := a.Date()
		y2, m2, d2 := b.Date()
		return y1 == y2 && m1 == m2 && d1 == d2
	}
	switch {
	case sameDay(t, now):
		return "Today"
	case sameDay(t, now.AddDate(0, 0, -1)):
		return "Yesterday"
	case t.Year() == now.Year():
		return t.Format("Monday, 2 January")
	}
	return t.Format("2 January 2006")
}

// thread draws the open thread: header, messages, composer.
func (s *chatScreen) thread(gtx C, narrow bool) D {
	th := s.a.th
	peer := s.current
	t := s.m.Thread(peer)
	tv := s.view(peer)
	paint.FillShape(gtx.Ops, th.Pal.Bg, clip.Rect{Max: gtx.Constraints.Max}.Op())
	atEnd := !tv.list.Position.BeforeEnd
	if atEnd && (s.showThread || !narrow) {
		s.m.MarkRead(peer)
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return s.threadHeader(gtx, t, narrow) }),
		layout.Rigid(func(gtx C) D { return s.confirmDelete(gtx, t) }),
		layout.Flexed(1, func(gtx C) D {
			return layout.Stack{Alignment: layout.SE}.Layout(gtx,
				layout.Expanded(func(gtx C) D { return s.messages(gtx, t, tv) }),
				layout.Stacked(func(gtx C) D {
					if !tv.list.Position.BeforeEnd {
						return D{}
					}
					return layout.Inset{Right: pad, Bottom: pad}.Layout(gtx, func(gtx C) D {
						return layout.Stack{Alignment: layout.NE}.Layout(gtx,
							layout.Stacked(func(gtx C) D {
								return layout.UniformInset(6).Layout(gtx, func(gtx C) D {
									return iconButton(gtx, th, &s.jump, s.a.ic.down, th.Pal.Text, th.Pal.Panel, "Jump to the newest messages")
								})
							}),
							layout.Stacked(func(gtx C) D {
								if t.Unread == 0 {
									return D{}
								}
								return badge(gtx, th, t.Unread)
							}),
						)
					})
				}),
			)
		}),
		layout.Rigid(func(gtx C) D {
			if !narrow {
				return D{}
			}
			return s.flowCards(gtx)
		}),
		layout.Rigid(func(gtx C) D { return s.composer(gtx, t, tv) }),
	)
}

func (s *chatScreen) threadHeader(gtx C, t *model.Thread, narrow bool) D {
	th := s.a.th
	return s.header(gtx, func(gtx C) D {
		var children []layout.FlexChild
		if narrow {
			children = append(children, layout.Rigid(func(gtx C) D {
				return iconButton(gtx, th, &s.back, s.a.ic.back, th.Pal.Text, colorT{}, "Back")
			}))
		} else {
			children = append(children, layout.Rigid(layout.Spacer{Width: 8}.Layout))
		}
		title, status := t.Peer, ""
		if t.Peer == model.Everyone {
			title = "Everyone"
			n := 1
			for _, p := range s.m.People {
				if p.Online {
					n++
				}
			}
			status = itoa(n) + " people here, you included"
			if n == 1 {
				status = "Just you so far"
			}
		} else {
			online := s.m.Online(t.Peer)
			status = "offline"
			if online {
				status = "online"
			}
			switch t.Chat {
			case model.ChatOpen:
				status = "private chat · connected"
			case model.ChatInviting:
				status = "waiting for " + t.Peer + " to accept…"
			case model.ChatInvited:
				status = "wants to chat with you"
			}
		}
		children = append(children,
			layout.Rigid(func(gtx C) D {
				if t.Peer == model.Everyone {
					return iconAvatar(gtx, th, s.a.ic.people, th.Pal.Accent, avatarSize)
				}
				return avatar(gtx, th, t.Peer, avatarSize)
			}),
			layout.Rigid(layout.Spacer{Width: 12}.Layout),
			layout.Flexed(1, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						l := th.bold(sizeTitle, th.Pal.Text, title)
						l.MaxLines = 1
						return l.Layout(gtx)
					}),
					layout.Rigid(func(gtx C) D {
						c := th.Pal.Muted
						if t.Chat == model.ChatOpen {
							c = th.Pal.Success
						}
						l := th.label(sizeCaption, c, status)
						l.MaxLines = 1
						return l.Layout(gtx)
					}),
				)
			}),
		)
		if t.Peer != model.Everyone && t.Chat == model.ChatOpen {
			children = append(children, layout.Rigid(func(gtx C) D {
				return s.smallButton(gtx, &s.leave, "Leave chat", th.Pal.Danger)
			}))
		}
		if s.a.cfg.History != nil {
			children = append(children, layout.Rigid(func(gtx C) D {
				return iconButton(gtx, th, &s.del, s.a.ic.del, th.Pal.Muted, colorT{}, "Delete history")
			}))
		}
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx, children...)
	})
}

// confirmDelete asks whether to delete the history of thread t.
func (s *chatScreen) confirmDelete(gtx C, t *model.Thread) D {
	if !s.confirmDel {
		return D{}
	}
	th := s.a.th
	what := "all messages with " + t.Peer
	if t.Peer == model.Everyone {
		what = "all messages to everyone"
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: pad, Right: 8, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Flexed(1, th.label(sizeSmall, th.Pal.Text, "Delete "+what+" from this device?").Layout),
						layout.Rigid(func(gtx C) D { return s.smallButton(gtx, &s.delCancel, "Cancel", th.Pal.Accent) }),
						layout.Rigid(func(gtx C) D { return s.smallButton(gtx, &s.delConfirm, "Delete", th.Pal.Danger) }),
					)
				})
			})
		}),
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
	)
}

// messages draws the virtualised message list.
func (s *chatScreen) messages(gtx C, t *model.Thread, tv *threadView) D {
	th := s.a.th
	gtx.Constraints.Min = gtx.Constraints.Max
	if len(t.Messages) == 0 {
		return layout.Center.Layout(gtx, func(gtx C) D {
			txt := "No messages yet. Say hello to everyone!"
			if t.Peer != model.Everyone {
				txt = "No messages with " + t.Peer + " yet."
			}
			return s.pill(gtx, txt)
		})
	}
	gtx.Constraints.Min = gtx.Constraints.Max
	l := material.List(th.Theme, &tv.list)
	l.AnchorStrategy = material.Overlay
	defer func() {
		if tv.list.Position.First < historyAhead {
			s.loadOlder(t)
		}
	}()
	return l.Layout(gtx, len(t.Messages), func(gtx C, i int) D {
		msg := &t.Messages[i]
		s.shown[msg.Key] = true
		var prev *model.Message
		if i > 0 {
			prev = &t.Messages[i-1]
		}
		newDay := prev == nil || !sameDate(prev.Time, msg.Time)
		first := newDay || prev.Kind != model.KindText || prev.From != msg.From || msg.Time.Sub(prev.Time) > groupWindow
		top := unit.Dp(2)
		if first {
			top = 10
		}
		if i == 0 {
			top = 12
		}
		return layout.Inset{Top: top, Left: 12, Right: 12, Bottom: bottomPad(i, len(t.Messages))}.Layout(gtx, func(gtx C) D {
			return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
				layout.Rigid(func(gtx C) D {
					if !newDay {
						return D{}
					}
					return layout.Inset{Top: 6, Bottom: 10}.Layout(gtx, func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return layout.Center.Layout(gtx, func(gtx C) D { return s.pill(gtx, s.dayLabel(msg.Time)) })
					})
				}),
				layout.Rigid(func(gtx C) D {
					if msg.Kind == model.KindSystem {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return layout.Center.Layout(gtx, func(gtx C) D {
							return s.pill(gtx, msg.Text+" · "+msg.Time.Format("15:04"))
						})
					}
					return s.bubbleRow(gtx, t, msg, first)
				}),
			)
		})
	})
}

func bottomPad(i, n int) unit.Dp {
	if i == n-1 {
		return 12
	}
	return 0
}

func sameDate(a, b time.Time) bool {
	y1, m1, d1 := a.Date()
	y2, m2, d2 := b.Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// pill draws a centered muted line (day separators, system lines).
func (s *chatScreen) pill(gtx C, txt string) D {
	th := s.a.th
	return background(gtx, th, th.Pal.System, 12, func(gtx C) D {
		return layout.Inset{Left: 12, Right: 12, Top: 4, Bottom: 4}.Layout(gtx, func(gtx C) D {
			l := th.label(sizeSmall, th.Pal.Muted, txt)
			l.Alignment = text.Middle
			return l.Layout(gtx)
		})
	})
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]'’”]`)

// bubbleRow draws one message with its avatar column.
func (s *chatScreen) bubbleRow(gtx C, t *model.Thread, msg *model.Message, first bool) D {
	th := s.a.th
	feed := t.Peer == model.Everyone
	showAvatar := feed && !msg.Mine
	maxW := min(gtx.Constraints.Max.X*4/5, gtx.Dp(maxBubble))
	bubble := func(gtx C) D {
		gtx.Constraints.Max.X = maxW
		gtx.Constraints.Min.X = 0
		return s.bubble(gtx, msg, first && showAvatar)
	}
	var children []layout.FlexChild
	if msg.Mine {
		children = append(children, layout.Flexed(1, func(gtx C) D { return D{Size: image.Pt(gtx.Constraints.Min.X, 0)} }))
		children = append(children, layout.Rigid(bubble))
	} else {
		if showAvatar {
			children = append(children,
				layout.Rigid(func(gtx C) D {
					if !first {
						return D{Size: image.Pt(gtx.Dp(36), 0)}
					}
					return avatar(gtx, th, msg.From, 36)
				}),
				layout.Rigid(layout.Spacer{Width: 8}.Layout),
			)
		}
		children = append(children, layout.Rigid(bubble))
	}
	row := func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Flex{Alignment: layout.Start}.Layout(gtx, children...)
	}
	if msg.State != model.Failed {
		return row(gtx)
	}
	return layout.Flex{Axis: layout.Vertical, Alignment: layout.End}.Layout(gtx,
		layout.Rigid(row),
		layout.Rigid(func(gtx C) D {
			c := s.retry[msg.Key]
			if c == nil {
				c = new(widget.Clickable)
				s.retry[msg.Key] = c
			}
			why := "Not delivered"
			if msg.Err != "" {
				why += ": " + msg.Err
			}
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return layout.E.Layout(gtx, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						gtx.Constraints.Max.X = maxW
						return th.label(sizeCaption, th.Pal.Danger, why).Layout(gtx)
					}),
					layout.Rigid(func(gtx C) D { return s.smallButton(gtx, c, "Retry", th.Pal.Accent) }),
				)
			})
		}),
	)
}

// bubble draws the message body, the sender (feed) and the time with the delivery state.
func (s *chatScreen) bubble(gtx C, msg *model.Message, showName bool) D {
	th := s.a.th
	bg, fg, meta := th.Pal.Theirs, th.Pal.Text, th.Pal.Muted
	if msg.Mine {
		bg, fg, meta = th.Pal.Mine, th.Pal.OnMine, withAlpha(th.Pal.OnMine, 0xbb)
	}
	if msg.State == model.Failed {
		bg = withAlpha(th.Pal.Danger, 0x30)
		fg, meta = th.Pal.Text, th.Pal.Danger
	}
	return layout.Stack{}.Layout(gtx,
		layout.Expanded(func(gtx C) D {
			r := gtx.Dp(bubbleRadius)
			rr := clip.RRect{Rect: image.Rectangle{Max: gtx.Constraints.Min}, NE: r, NW: r, SE: r, SW: r}
			if msg.Mine {
				rr.SE = gtx.Dp(4)
			} else {
				rr.SW = gtx.Dp(4)
			}
			if !th.Dark && !msg.Mine && msg.State != model.Failed {
				// A soft outline separates white bubbles from the light background.
				sh := rr
				sh.Rect = sh.Rect.Add(image.Pt(0, 1))
				th.fillRRect(gtx.Ops, argb(0x12000000), sh)
			}
			th.fillRRect(gtx.Ops, bg, rr)
			return D{Size: gtx.Constraints.Min}
		}),
		layout.Stacked(func(gtx C) D {
			return layout.Inset{Left: 12, Right: 12, Top: 7, Bottom: 6}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						if !showName {
							return D{}
						}
						l := th.bold(sizeSmall, nickColor(msg.From), msg.From)
						l.MaxLines = 1
						return layout.Inset{Bottom: 2}.Layout(gtx, l.Layout)
					}),
					layout.Rigid(func(gtx C) D { return s.body(gtx, msg, fg) }),
					layout.Rigid(func(gtx C) D {
						return layout.Inset{Top: 2}.Layout(gtx, func(gtx C) D {
							return s.meta(gtx, msg, meta)
						})
					}),
				)
			})
		}),
	)
}

// body draws the message text, with clickable links.
func (s *chatScreen) body(gtx C, msg *model.Message, fg colorT) D {
	th := s.a.th
	if !strings.Contains(msg.Text, "://") {
		l := th.label(sizeBody, fg, msg.Text)
		l.WrapPolicy = text.WrapHeuristically
		return l.Layout(gtx)
	}
	st := s.links[msg.Key]
	if st == nil {
		st = new(richtext.InteractiveText)
		s.links[msg.Key] = st
	}
	link := th.Pal.Accent
	if msg.Mine {
		link = fg
	}
	var spans []richtext.SpanStyle
	txt := fixEmojiSpaces(msg.Text)
	last := 0
	for _, m := range linkRE.FindAllStringIndex(txt, -1) {
		if m[0] > last {
			spans = append(spans, richtext.SpanStyle{Content: txt[last:m[0]], Color: fg, Size: sizeBody, Font: font.Font{Typeface: th.Face}})
		}
		sp := richtext.SpanStyle{Content: txt[m[0]:m[1]], Color: link, Size: sizeBody, Font: font.Font{Typeface: th.Face}, Interactive: true}
		sp.Font.Weight = font.Medium
		sp.Set("url", txt[m[0]:m[1]])
		spans = append(spans, sp)
		last = m[1]
	}
	if last < len(txt) {
		spans = append(spans, richtext.SpanStyle{Content: txt[last:], Color: fg, Size: sizeBody, Font: font.Font{Typeface: th.Face}})
	}
	pointer.CursorPointer.Add(gtx.Ops)
	return richtext.Text(st, th.Shaper, spans...).Layout(gtx)
}

// meta draws the time and the delivery state, right-aligned.
func (s *chatScreen) meta(gtx C, msg *model.Message, c colorT) D {
	th := s.a.th
	gtx.Constraints.Min.X = 0
	return layout.E.Layout(gtx, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(th.label(sizeCaption, c, msg.Time.Format("15:04")).Layout),
			layout.Rigid(func(gtx C) D {
				if !msg.Mine {
					return D{}
				}
				ic := s.a.ic.clock
				switch msg.State {
				case model.Sent:
					ic = s.a.ic.done
				case model.Delivered:
					ic = s.a.ic.doneAll
				case model.Failed:
					ic = s.a.ic.failed
				}
				return layout.Inset{Left: 4}.Layout(gtx, func(gtx C) D {
					gtx.Constraints = layout.Exact(image.Pt(gtx.Dp(14), gtx.Dp(14)))
					return ic.Layout(gtx, c)
				})
			}),
		)
	})
}

// composer draws the message field, or what stands in for it when the
// private chat is not open.
func (s *chatScreen) composer(gtx C, t *model.Thread, tv *threadView) D {
	th := s.a.th
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: 12, Right: 8, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
					if t.Peer != model.Everyone && t.Chat != model.ChatOpen {
						return s.chatGate(gtx, t)
					}
					hint := "Message everyone"
					if t.Peer != model.Everyone {
						hint = "Message " + t.Peer
					}
					return layout.Flex{Alignment: layout.End}.Layout(gtx,
						layout.Flexed(1, func(gtx C) D {
							gtx.Constraints.Max.Y = min(gtx.Constraints.Max.Y, gtx.Dp(160))
							return field(gtx, th, &tv.editor, hint, gtx.Focused(&tv.editor), false)
						}),
						layout.Rigid(layout.Spacer{Width: 4}.Layout),
						layout.Rigid(func(gtx C) D {
							return iconButton(gtx, th, &tv.send, s.a.ic.send, th.Pal.OnAccent, th.Pal.Accent, "Send")
						}),
					)
				})
			})
		}),
	)
}

// chatGate explains why a private thread cannot take messages and offers the way forward.
func (s *chatScreen) chatGate(gtx C, t *model.Thread) D {
	th := s.a.th
	online := s.m.Online(t.Peer)
	var msg string
	var action layout.Widget
	switch t.Chat {
	case model.ChatInviting:
		msg = "Waiting for " + t.Peer + " to accept your chat request…"
	case model.ChatInvited:
		msg = t.Peer + " wants to start a private chat."
		ic := s.invite(t.Peer)
		action = func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return button(gtx, th, &ic.decline, secondary, "Decline") }),
				layout.Rigid(layout.Spacer{Width: 8}.Layout),
				layout.Rigid(func(gtx C) D { return button(gtx, th, &ic.accept, primary, "Accept") }),
			)
		}
	default:
		if !online {
			msg = t.Peer + " is offline."
		} else {
			msg = "Private messages go straight to " + t.Peer + "."
			if t.Closed == client.ReasonLost {
				msg = "The connection to " + t.Peer + " was lost."
			}
			label := "Start private chat"
			if t.Closed != "" {
				label = "Chat again"
			}
			action = func(gtx C) D { return button(gtx, th, &s.request, primary, label) }
		}
	}
	return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return D{Size: image.Pt(0, gtx.Dp(touch))} }),
		layout.Flexed(1, th.label(sizeSmall, th.Pal.Muted, msg).Layout),
		layout.Rigid(func(gtx C) D {
			if action == nil {
				return D{}
			}
			return layout.Inset{Left: 8}.Layout(gtx, action)
		}),
	)
}

func (s *chatScreen) invite(nick string) *inviteCard {
	ic := s.invites[nick]
	if ic == nil {
		ic = new(inviteCard)
		s.invites[nick] = ic
	}
	return ic
}

// collectCards gathers the pending chat requests and the latest notice as
// cards for this frame (s.cards), pruning the state of answered requests.
// The request of the thread on screen is left out: the thread itself shows
// Accept and Decline.
func (s *chatScreen) collectCards(narrow bool) {
	for nick := range s.invites {
		if !s.hasInvite(nick) {
			delete(s.invites, nick)
		}
	}
	s.cards = s.cards[:0]
	now := s.m.Now()
	for _, iv := range s.m.Invites {
		if s.current == iv.From && (!narrow || s.showThread) {
			continue
		}
		ic := s.invite(iv.From)
		s.cards = append(s.cards, func(gtx C) D { return s.inviteCard(gtx, iv, ic, now) })
	}
	if n := len(s.m.Notices); n > 0 {
		last := s.m.Notices[n-1]
		if now.Sub(last.Time) > noticeFor {
			s.m.Notices = nil
		} else {
			s.cards = append(s.cards, func(gtx C) D { return s.noticeCard(gtx, last.Text) })
		}
	}
}

// flowCard lays out card i of s.cards in the flow of a pane, full width
// with margins, so that it pushes the content instead of covering it: at the
// top of the people list, or above the composer when the phone shows a thread.
func (s *chatScreen) flowCard(gtx C, i int) D {
	in := layout.Inset{Left: 12, Right: 12, Top: 10}
	if i == len(s.cards)-1 {
		in.Bottom = 6
	}
	return in.Layout(gtx, s.cards[i])
}

// flowCards lays out all of s.cards in the flow (phone layout, thread shown).
func (s *chatScreen) flowCards(gtx C) D {
	if len(s.cards) == 0 {
		return D{}
	}
	gtx.Constraints.Min.Y = 0
	children := make([]layout.FlexChild, len(s.cards))
	for i := range s.cards {
		children[i] = layout.Rigid(func(gtx C) D { return s.flowCard(gtx, i) })
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx, children...)
}

func (s *chatScreen) hasInvite(nick string) bool {
	for _, iv := range s.m.Invites {
		if iv.From == nick {
			return true
		}
	}
	if t := s.m.Lookup(nick); t != nil && t.Chat == model.ChatInvited {
		return true
	}
	return false
}

func (s *chatScreen) card(gtx C, w layout.Widget) D {
	th := s.a.th
	m := op.Record(gtx.Ops)
	d := layout.UniformInset(14).Layout(gtx, w)
	call := m.Stop()
	r := gtx.Dp(14)
	for i, a := range []uint8{0x10, 0x0c, 0x08} {
		o := gtx.Dp(unit.Dp(i + 1))
		rect := image.Rectangle{Min: image.Pt(-o, -o+o), Max: d.Size.Add(image.Pt(o, o+o))}
		th.fillRRect(gtx.Ops, argb(uint32(a)<<24), clip.UniformRRect(rect, r+o))
	}
	th.fillRRect(gtx.Ops, th.Pal.Panel, clip.UniformRRect(image.Rectangle{Max: d.Size}, r))
	border(gtx, th, d.Size, th.Pal.Divider, 14, 1)
	call.Add(gtx.Ops)
	return d
}

func (s *chatScreen) inviteCard(gtx C, iv model.Invite, ic *inviteCard, now time.Time) D {
	th := s.a.th
	left := iv.Expires.Sub(now)
	if left < 0 {
		left = 0
	}
	secs := int((left + time.Second - 1) / time.Second)
	return s.card(gtx, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
			layout.Rigid(func(gtx C) D {
				return ic.open.Layout(gtx, func(gtx C) D {
					return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
						layout.Rigid(func(gtx C) D { return avatar(gtx, th, iv.From, avatarSize) }),
						layout.Rigid(layout.Spacer{Width: 12}.Layout),
						layout.Flexed(1, func(gtx C) D {
							return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
								layout.Rigid(th.bold(sizeBody, th.Pal.Text, iv.From+" wants to chat").Layout),
								layout.Rigid(th.label(sizeSmall, th.Pal.Muted, "Request expires in "+itoa(secs)+" s").Layout),
							)
						}),
					)
				})
			}),
			layout.Rigid(func(gtx C) D {
				// Countdown bar.
				return layout.Inset{Top: 10, Bottom: 6}.Layout(gtx, func(gtx C) D {
					w := gtx.Constraints.Max.X
					h := gtx.Dp(4)
					paint.FillShape(gtx.Ops, th.Pal.Field, clip.UniformRRect(image.Rect(0, 0, w, h), h/2).Op(gtx.Ops))
					frac := float64(left) / float64(client30s)
					frac = min(1, max(0, frac))
					paint.FillShape(gtx.Ops, th.Pal.Accent, clip.UniformRRect(image.Rect(0, 0, int(float64(w)*frac), h), h/2).Op(gtx.Ops))
					return D{Size: image.Pt(w, h)}
				})
			}),
			layout.Rigid(func(gtx C) D {
				return layout.Flex{}.Layout(gtx,
					layout.Flexed(1, func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return button(gtx, th, &ic.decline, secondary, "Decline")
					}),
					layout.Rigid(layout.Spacer{Width: 8}.Layout),
					layout.Flexed(1, func(gtx C) D {
						gtx.Constraints.Min.X = gtx.Constraints.Max.X
						return button(gtx, th, &ic.accept, primary, "Accept")
					}),
				)
			}),
		)
	})
}

func (s *chatScreen) noticeCard(gtx C, txt string) D {
	th := s.a.th
	return s.card(gtx, func(gtx C) D {
		gtx.Constraints.Min.X = gtx.Constraints.Max.X
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx C) D {
				gtx.Constraints = layout.Exact(image.Pt(gtx.Dp(20), gtx.Dp(20)))
				return s.a.ic.failed.Layout(gtx, th.Pal.Danger)
			}),
			layout.Rigid(layout.Spacer{Width: 10}.Layout),
			layout.Flexed(1, th.label(sizeSmall, th.Pal.Text, capital(txt)).Layout),
			layout.Rigid(func(gtx C) D {
				return iconButton(gtx, th, &s.dismiss, s.a.ic.close, th.Pal.Muted, colorT{}, "Dismiss")
			}),
		)
	})
}
