package ui

import (
	"image"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gioui.org/io/event"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/op/clip"
	"gioui.org/text"
	"gioui.org/widget"
	"gioui.org/x/component"

	"peerchat/core/delivery"
	"peerchat/ui/model"
)

// messageState is the widget state of one message on screen: its links,
// its Retry button, the selection of its text (desktop) and the area that
// takes presses for the message menu (msgmenu.go). Every text message on
// screen has one; system lines have none.
type messageState struct {
	links []*linkHit
	retry widget.Clickable
	// sel selects the text with the mouse and copies it (Ctrl+C). It is
	// laid out only while it is in use (selecting), for it shapes the text
	// once more; never on touch screens, where a drag scrolls the list and
	// a long press opens the message menu instead.
	sel widget.Selectable
	// hover says that the mouse is over the message.
	hover bool
	// stateTip is the tooltip of the delivery state of our message.
	stateTip tipArea
	// file holds the buttons of a file message (files.go).
	file fileWidgets
}

// selecting reports whether the text of the message is laid out as
// selectable: the mouse is over it, or it has the focus or a selection.
func (st *messageState) selecting() bool {
	return st.hover || st.sel.Focused() || st.sel.SelectionLen() > 0
}

// needsState reports whether msg has widgets of its own (see messageState).
func needsState(msg *model.Message) bool {
	return msg.Said()
}

// bubbleStyle draws one message of a thread: the bubble with the text, the
// sender (feed), the time and the delivery state, the sender's avatar (feed)
// and, under a failed message, why and a Retry button.
type bubbleStyle struct {
	th    *Theme
	ic    *iconSet
	msg   *model.Message
	state *messageState // nil if !needsState(msg)
	// Avatar leaves room on the left for the sender's avatar (feed); First
	// is the first message of a group by one sender: it shows the avatar
	// and the name.
	Avatar, First bool
	// Me is the user's nickname: "@Me" in the text stands out more than
	// other mentions.
	Me string
	// Highlight draws the bubble tinted and ringed, and selected for a
	// screen reader: the message opened from the search pane.
	Highlight bool
	// Peer is the name of the private thread's peer ("" in the feed),
	// which the delivery state of our messages names.
	Peer string
	// Thumbs decodes the pictures of file messages (nil: shown as cards).
	Thumbs *thumbCache
}

func newBubble(th *Theme, ic *iconSet, msg *model.Message, state *messageState) bubbleStyle {
	return bubbleStyle{th: th, ic: ic, msg: msg, state: state}
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]'’”]`)

// Layout draws the message with its avatar column across the width.
func (b bubbleStyle) Layout(gtx C) D {
	th, msg := b.th, b.msg
	showAvatar := b.Avatar && !msg.Mine
	maxW := min(gtx.Constraints.Max.X*4/5, gtx.Dp(maxBubble))
	bubble := func(gtx C) D {
		gtx.Constraints.Max.X = maxW
		gtx.Constraints.Min.X = 0
		if b.state == nil {
			return b.bubble(gtx, b.First && showAvatar)
		}
		// The bubble's area takes the presses of the message menu; it is
		// the parent of the text's and the links' areas, so that it sees
		// their presses too.
		m := op.Record(gtx.Ops)
		d := b.bubble(gtx, b.First && showAvatar)
		call := m.Stop()
		defer clip.Rect{Max: d.Size}.Push(gtx.Ops).Pop()
		event.Op(gtx.Ops, b.state)
		// A screen reader names the message by its sender; its text is
		// the label inside. Acting on it opens the message menu.
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Message from " + sender(msg)).Add(gtx.Ops)
		if b.Highlight {
			semantic.SelectedOp(true).Add(gtx.Ops)
		}
		call.Add(gtx.Ops)
		return d
	}
	var children []layout.FlexChild
	if msg.Mine {
		children = append(children, layout.Flexed(1, func(gtx C) D { return D{Size: image.Pt(gtx.Constraints.Min.X, 0)} }))
		children = append(children, layout.Rigid(bubble))
	} else {
		if showAvatar {
			children = append(children,
				layout.Rigid(func(gtx C) D {
					if !b.First {
						return D{Size: image.Pt(gtx.Dp(36), 0)}
					}
					return avatar(gtx, th, sender(msg), 36)
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
	if msg.State != delivery.Failed || b.state == nil || msg.Kind == model.KindFile {
		return row(gtx) // a file's card says why it failed
	}
	return layout.Flex{Axis: layout.Vertical, Alignment: layout.End}.Layout(gtx,
		layout.Rigid(row),
		layout.Rigid(func(gtx C) D {
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
					layout.Rigid(func(gtx C) D { return smallButton(gtx, th, &b.state.retry, "Retry", th.Pal.Accent) }),
				)
			})
		}),
	)
}

// bubble draws the message body, the sender (showName) and the time with the delivery state.
func (b bubbleStyle) bubble(gtx C, showName bool) D {
	th, msg := b.th, b.msg
	bg, fg, meta := th.Pal.Theirs, th.Pal.Text, th.Pal.Muted
	if msg.Mine {
		bg, fg, meta = th.Pal.Mine, th.Pal.OnMine, withAlpha(th.Pal.OnMine, 0xbb)
	}
	if msg.State == delivery.Failed {
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
			if !th.Dark && !msg.Mine && msg.State != delivery.Failed {
				// A soft outline separates white bubbles from the light background.
				sh := rr
				sh.Rect = sh.Rect.Add(image.Pt(0, 1))
				th.fillRRect(gtx.Ops, argb(0x12000000), sh)
			}
			th.fillRRect(gtx.Ops, bg, rr)
			if b.Highlight {
				// The message opened from the search: tinted (its own
				// bubbles are already the accent) and ringed.
				ring := th.Pal.Accent
				if msg.Mine {
					ring = th.Pal.Warn
				} else {
					th.fillRRect(gtx.Ops, withAlpha(th.Pal.Accent, 0x30), rr)
				}
				th.strokeRRect(gtx.Ops, ring, rr.Rect, r, gtx.Dp(2))
			}
			if b.state != nil {
				// The message whose text has the keyboard focus: the one
				// Ctrl+C copies from.
				focusRing(gtx, th, &b.state.sel, rr.Rect, r)
			}
			return D{Size: gtx.Constraints.Min}
		}),
		layout.Stacked(func(gtx C) D {
			return layout.Inset{Left: 12, Right: 12, Top: 7, Bottom: 6}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						if !showName {
							return D{}
						}
						l := th.bold(sizeSmall, b.nameColor(), sender(msg))
						l.MaxLines = 1
						return layout.Inset{Bottom: 2}.Layout(gtx, l.Layout)
					}),
					layout.Rigid(func(gtx C) D { return b.body(gtx, fg) }),
					layout.Rigid(func(gtx C) D {
						return layout.Inset{Top: 2}.Layout(gtx, func(gtx C) D {
							return b.meta(gtx, meta)
						})
					}),
				)
			})
		}),
	)
}

// body draws the message text, with links colored, underlined and (with a
// state) clickable, and (with a state, not on touch screens) selectable.
func (b bubbleStyle) body(gtx C, fg colorT) D {
	th, msg := b.th, b.msg
	if msg.Kind == model.KindFile && msg.File != nil {
		meta := th.Pal.Muted
		if msg.Mine && msg.State != delivery.Failed {
			meta = withAlpha(th.Pal.OnMine, 0xbb)
		}
		c := fileCardStyle{th: th, ic: b.ic, msg: msg, thumbs: b.Thumbs, fg: fg, meta: meta, peer: b.Peer}
		if b.state != nil {
			c.state = &b.state.file
		}
		return c.Layout(gtx)
	}
	txt := fixEmojiSpaces(msg.Text)
	spans := b.spans(txt, fg)
	draw := func(gtx C) D {
		if len(spans) == 0 {
			l := th.label(sizeBody, fg, msg.Text)
			l.WrapPolicy = text.WrapHeuristically
			return l.Layout(gtx)
		}
		bt := bodyTextStyle{th: th, text: txt, size: sizeBody, color: fg, spans: spans}
		if b.state != nil {
			bt.hits = &b.state.links
		}
		return bt.Layout(gtx)
	}
	if b.state == nil || th.Touch || !b.state.selecting() {
		return draw(gtx)
	}
	selColor := withAlpha(th.Pal.Accent, 0x66)
	if msg.Mine {
		selColor = withAlpha(th.Pal.OnMine, 0x66)
	}
	return selectableStyle{th: th, state: &b.state.sel, text: txt, selColor: selColor, Text: draw}.Layout(gtx)
}

// spans returns the links and the @mentions of txt, the text of the
// message as drawn, in order. A mention of the user (model.Mentions) is
// tinted; a mention of anyone else is only colored.
func (b bubbleStyle) spans(txt string, fg colorT) []textSpan {
	hasLink, hasAt := strings.Contains(txt, "://"), strings.IndexByte(txt, '@') >= 0
	if !hasLink && !hasAt {
		return nil
	}
	accent := b.th.Pal.Accent
	if b.msg.Mine {
		accent = fg
	}
	var spans []textSpan
	if hasLink {
		for _, m := range linkRE.FindAllStringIndex(txt, -1) {
			spans = append(spans, textSpan{start: m[0], end: m[1], color: accent, url: txt[m[0]:m[1]]})
		}
	}
	if !hasAt {
		return spans
	}
	links := spans
	for i := 0; i < len(txt); i++ {
		if txt[i] != '@' || inSpan(links, i) {
			continue
		}
		if r, _ := utf8.DecodeLastRuneInString(txt[:i]); i > 0 && isWordRune(r) {
			continue // an e-mail address
		}
		end := i + 1
		for end < len(txt) && !inSpan(links, end) {
			r, n := utf8.DecodeRuneInString(txt[end:])
			if unicode.IsSpace(r) || strings.ContainsRune(mentionStop, r) {
				break
			}
			end += n
		}
		end = i + 1 + len(strings.TrimRight(txt[i+1:end], "."))
		if end == i+1 {
			continue
		}
		sp := textSpan{start: i, end: end, color: accent}
		if b.Me != "" && model.Mentions(txt[i:end], b.Me) {
			sp.tint = withAlpha(accent, 0x2a)
		}
		spans = append(spans, sp)
		i = end - 1
	}
	slices.SortFunc(spans, func(a, b textSpan) int { return a.start - b.start })
	return spans
}

// mentionStop are the runes that end an @mention besides spaces: what a
// nickname cannot hold (quotes) and punctuation that follows a name.
const mentionStop = "\"'“”‘’,;:!?()[]{}<>@"

// isWordRune reports whether r belongs to a word, where an @ is an
// address's, not a mention.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
}

// inSpan reports whether byte i of the text is in one of spans.
func inSpan(spans []textSpan, i int) bool {
	for _, s := range spans {
		if s.start <= i && i < s.end {
			return true
		}
	}
	return false
}

// meta draws the time and the delivery state, right-aligned.
func (b bubbleStyle) meta(gtx C, c colorT) D {
	th, msg := b.th, b.msg
	gtx.Constraints.Min.X = 0
	return layout.E.Layout(gtx, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(b.sigMark), // verify.go
			layout.Rigid(th.label(sizeCaption, c, msg.Time.Format("15:04")).Layout),
			layout.Rigid(func(gtx C) D {
				if !msg.Mine {
					return D{}
				}
				ic, label := b.stateMark()
				read := msg.State == delivery.Read
				mark := func(gtx C) D {
					return layout.Inset{Left: 4}.Layout(gtx, func(gtx C) D {
						if read {
							// ✓✓ in the bubble's own color on a chip of
							// Palette.Read: unlike the faded ✓✓ of
							// Delivered at a glance.
							sz := image.Pt(gtx.Dp(20), gtx.Dp(14))
							gtx.Constraints = layout.Exact(sz)
							defer clip.Rect{Max: sz}.Push(gtx.Ops).Pop()
							semantic.LabelOp(label).Add(gtx.Ops)
							r := sz.Y / 2
							th.fillRRect(gtx.Ops, th.Pal.Read, clip.RRect{Rect: image.Rectangle{Max: sz}, NE: r, NW: r, SE: r, SW: r})
							in := gtx.Dp(1)
							gtx.Constraints = layout.Exact(image.Pt(sz.Y-2*in, sz.Y-2*in))
							defer op.Offset(image.Pt((sz.X-sz.Y)/2+in, in)).Push(gtx.Ops).Pop()
							ic.Layout(gtx, th.Pal.Mine)
							return D{Size: sz}
						}
						sz := image.Pt(gtx.Dp(14), gtx.Dp(14))
						gtx.Constraints = layout.Exact(sz)
						defer clip.Rect{Max: sz}.Push(gtx.Ops).Pop()
						semantic.LabelOp(label).Add(gtx.Ops)
						return ic.Layout(gtx, c)
					})
				}
				if b.state == nil {
					return mark(gtx)
				}
				tip := component.DesktopTooltip(th.Theme, label)
				if th.Touch {
					tip = component.MobileTooltip(th.Theme, label)
				}
				return b.state.stateTip.Layout(gtx, tip, tipEnd|tipAbove, mark)
			}),
		)
	})
}

// stateMark returns the icon of the delivery state of our message and
// what it means, for its tooltip and screen readers: pending (a clock),
// sent (✓), on the server (a server), delivered (✓✓), read (✓✓ on a
// chip of Palette.Read, drawn by meta), failed.
func (b bubbleStyle) stateMark() (*widget.Icon, string) {
	switch b.msg.State {
	case delivery.Sent:
		return b.ic.done, "Sent"
	case delivery.Stored:
		who := b.Peer
		if who == "" {
			who = "the recipient"
		}
		return b.ic.stored, "On the server — delivered when " + who + " is back"
	case delivery.Delivered:
		return b.ic.doneAll, "Delivered"
	case delivery.Read:
		return b.ic.doneAll, "Read"
	case delivery.Failed:
		return b.ic.failed, "Not delivered"
	}
	return b.ic.clock, "Waiting to be sent"
}

// nameColor is the color of the sender's name over the bubble: the
// contrast-checked color of the nickname (Theme.nickText), or muted for
// an unknown sender.
func (b bubbleStyle) nameColor() colorT {
	if b.msg.UnknownSender() {
		return b.th.Pal.Muted
	}
	return b.th.nickText(b.msg.From)
}

// sender returns how to name the sender of msg: a base server does not say
// who sent a broadcast, and PeerChat does not guess.
func sender(msg *model.Message) string {
	if msg.UnknownSender() {
		return "Someone"
	}
	return msg.From
}
