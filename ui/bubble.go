package ui

import (
	"image"
	"regexp"
	"strings"

	"gioui.org/font"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/text"
	"gioui.org/widget"
	"gioui.org/x/richtext"

	"peerchat/core/delivery"
	"peerchat/ui/model"
)

// messageState is the widget state of one message on screen: its links and
// its Retry button. Only messages with a link or a failed delivery have one.
type messageState struct {
	links richtext.InteractiveText
	retry widget.Clickable
}

// needsState reports whether msg has widgets of its own (see messageState).
func needsState(msg *model.Message) bool {
	return msg.State == delivery.Failed || strings.Contains(msg.Text, "://")
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
		return b.bubble(gtx, b.First && showAvatar)
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
	if msg.State != delivery.Failed || b.state == nil {
		return row(gtx)
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
			return D{Size: gtx.Constraints.Min}
		}),
		layout.Stacked(func(gtx C) D {
			return layout.Inset{Left: 12, Right: 12, Top: 7, Bottom: 6}.Layout(gtx, func(gtx C) D {
				return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						if !showName {
							return D{}
						}
						c := nickColor(msg.From)
						if msg.UnknownSender() {
							c = th.Pal.Muted
						}
						l := th.bold(sizeSmall, c, sender(msg))
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

// body draws the message text, with clickable links.
func (b bubbleStyle) body(gtx C, fg colorT) D {
	th, msg := b.th, b.msg
	if !strings.Contains(msg.Text, "://") || b.state == nil {
		l := th.label(sizeBody, fg, msg.Text)
		l.WrapPolicy = text.WrapHeuristically
		return l.Layout(gtx)
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
	return richtext.Text(&b.state.links, th.Shaper, spans...).Layout(gtx)
}

// meta draws the time and the delivery state, right-aligned.
func (b bubbleStyle) meta(gtx C, c colorT) D {
	th, msg := b.th, b.msg
	gtx.Constraints.Min.X = 0
	return layout.E.Layout(gtx, func(gtx C) D {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(th.label(sizeCaption, c, msg.Time.Format("15:04")).Layout),
			layout.Rigid(func(gtx C) D {
				if !msg.Mine {
					return D{}
				}
				ic := b.ic.clock
				switch msg.State {
				case delivery.Sent:
					ic = b.ic.done
				case delivery.Delivered:
					ic = b.ic.doneAll
				case delivery.Failed:
					ic = b.ic.failed
				}
				return layout.Inset{Left: 4}.Layout(gtx, func(gtx C) D {
					gtx.Constraints = layout.Exact(image.Pt(gtx.Dp(14), gtx.Dp(14)))
					return ic.Layout(gtx, c)
				})
			}),
		)
	})
}

// sender returns how to name the sender of msg: a base server does not say
// who sent a broadcast, and PeerChat does not guess.
func sender(msg *model.Message) string {
	if msg.UnknownSender() {
		return "Someone"
	}
	return msg.From
}
