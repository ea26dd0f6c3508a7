package ui

import (
	"image"
	"io"
	"strings"
	"sync/atomic"

	"gioui.org/io/clipboard"
	"gioui.org/io/key"
	"gioui.org/io/transfer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/widget"
	"gioui.org/widget/material"

	"peerchat/core/client"
	"peerchat/ui/model"
)

// composerState is the widget state of a thread's composer.
type composerState struct {
	editor   widget.Editor
	send     iconButtonState
	attach   iconButtonState // the file picker (files.go)
	complete completeState   // the @-completion
	// pasted says that the paste shortcut was pressed in the field since
	// the last takePaste: the clipboard may hold a picture (paste.go).
	pasted   bool
	pasteGen uint64 // the number of the last clipboard read (pasteKey)
	// pasting is set while the clipboard's picture is read (paste.go).
	pasting atomic.Bool
}

// update handles the composer's input and reports whether the user asked
// to send: the Send button, or Enter where Enter submits (not on touch
// screens, see Config.Touch).
func (c *composerState) update(gtx C) (submit bool) {
	submit = c.send.Clicked(gtx)
	c.pasteKey(gtx)
	for {
		ev, ok := c.editor.Update(gtx)
		if !ok {
			break
		}
		if _, ok := ev.(widget.SubmitEvent); ok {
			submit = true
		}
	}
	return submit
}

// pasteKey notes the paste shortcut (Ctrl+V, Cmd+V on macOS) pressed in
// the field, for takePaste, and pastes the clipboard's text into the
// field as the editor would. It takes the key from the editor and reads
// the text under a tag of its own, new for each paste: Gio keeps a reader
// whose read found no text (the X11 clipboard holding only a picture)
// waiting for ever and asks nothing more for it, which would leave the
// editor's own paste dead after the first paste of a picture.
func (c *composerState) pasteKey(gtx C) {
	if c.pasteGen > 0 {
		for {
			ev, ok := gtx.Event(transfer.TargetFilter{Target: pasteTag{c, c.pasteGen}, Type: "application/text"})
			if !ok {
				break
			}
			if e, ok := ev.(transfer.DataEvent); ok {
				rc := e.Open()
				b, err := io.ReadAll(rc)
				rc.Close()
				if err == nil && !c.editor.ReadOnly {
					c.editor.Insert(string(b))
				}
			}
		}
	}
	for {
		ev, ok := gtx.Event(key.Filter{Focus: &c.editor, Name: "V", Required: key.ModShortcut})
		if !ok {
			return
		}
		if e, ok := ev.(key.Event); ok && e.State == key.Press {
			c.pasteGen++
			gtx.Execute(clipboard.ReadCmd{Tag: pasteTag{c, c.pasteGen}})
			c.pasted = true
		}
	}
}

// pasteTag is the tag of the n-th clipboard read of composer c.
type pasteTag struct {
	c *composerState
	n uint64
}

// takePaste reports whether the paste shortcut was pressed in the field
// since the last call: the chat screen then asks the platform for a
// picture in the clipboard (chatScreen.pasteImage).
func (c *composerState) takePaste() bool {
	p := c.pasted
	c.pasted = false
	return p
}

// composerStyle draws the bar under a thread: the message field and Send, or,
// when the thread cannot take messages, Gate instead.
type composerStyle struct {
	th     *Theme
	ic     *iconSet
	state  *composerState
	thread *model.Thread
	Gate   layout.Widget // nil: the field
	// Note, if not "", is a quiet line over the field that says what
	// sending does: the peer is away (the messages wait on the server), or
	// no chat is open (sending asks the peer for one). NoteIcon goes
	// before it; nil: the server's.
	Note     string
	NoteIcon *widget.Icon
	// Attach shows the attach button before the field.
	Attach bool
}

func newComposer(th *Theme, ic *iconSet, state *composerState, t *model.Thread) composerStyle {
	return composerStyle{th: th, ic: ic, state: state, thread: t}
}

func (c composerStyle) Layout(gtx C) D {
	d := c.bar(gtx)
	ac := &c.state.complete
	if c.Gate != nil {
		ac.active = false
		return d
	}
	// What the editor took this frame may open, change or close the offer.
	ac.refresh(&c.state.editor)
	ac.keys(gtx, &c.state.editor)
	defer op.Offset(image.Pt(gtx.Dp(12), 0)).Push(gtx.Ops).Pop()
	completeStyle{th: c.th, state: ac}.Layout(gtx)
	return d
}

// bar draws the bar itself.
func (c composerStyle) bar(gtx C) D {
	th, t := c.th, c.thread
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return hline(gtx, th.Pal.Divider) }),
		layout.Rigid(func(gtx C) D {
			return background(gtx, th, th.Pal.Panel, 0, func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: 12, Right: 8, Top: 8, Bottom: 8}.Layout(gtx, func(gtx C) D {
					if c.Gate != nil {
						return c.Gate(gtx)
					}
					hint := "Message everyone"
					if t.Peer != model.Everyone {
						hint = "Message " + t.Name()
					}
					ed := &c.state.editor
					if c.Note == "" {
						return c.field(gtx, ed, hint)
					}
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							return layout.Inset{Bottom: 6}.Layout(gtx, func(gtx C) D {
								return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
									layout.Rigid(func(gtx C) D {
										return layout.Inset{Right: 6}.Layout(gtx, func(gtx C) D {
											sz := gtx.Sp(sizeSmall)
											gtx.Constraints = layout.Exact(image.Pt(sz, sz))
											ic := c.NoteIcon
											if ic == nil {
												ic = c.ic.stored
											}
											return ic.Layout(gtx, th.Pal.Muted)
										})
									}),
									layout.Flexed(1, th.label(sizeSmall, th.Pal.Muted, c.Note).Layout),
								)
							})
						}),
						layout.Rigid(func(gtx C) D { return c.field(gtx, ed, hint) }),
					)
				})
			})
		}),
	)
}

// field draws the message field with hint and Send.
func (c composerStyle) field(gtx C, ed *widget.Editor, hint string) D {
	th := c.th
	return layout.Flex{Alignment: layout.End}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			if !c.Attach {
				return D{}
			}
			desc := "Attach a file"
			if c.thread.Peer == model.Everyone {
				desc = "Post a picture"
			}
			b := newIconButton(th, &c.state.attach, c.ic.attach, th.Pal.Muted, colorT{}, desc)
			b.Tip = tipAbove
			return layout.Inset{Right: 4}.Layout(gtx, b.Layout)
		}),
		layout.Flexed(1, func(gtx C) D {
			gtx.Constraints.Max.Y = min(gtx.Constraints.Max.Y, gtx.Dp(160))
			return field(gtx, th, ed, hint, false)
		}),
		layout.Rigid(layout.Spacer{Width: 4}.Layout),
		layout.Rigid(func(gtx C) D {
			b := newIconButton(th, &c.state.send, c.ic.send, th.Pal.OnAccent, th.Pal.Accent, "Send")
			b.Tip = tipEnd | tipAbove
			return b.Layout(gtx)
		}),
	)
}

// chatGateStyle stands for the composer of a private thread that cannot
// take messages: the peer is offline (and the server's mailbox cannot keep
// them), or the peer asked for a chat, which Accept or Decline answers.
// A thread whose peer is online takes messages at once: sending asks for
// the chat (see chatScreen.invitesOnSend).
type chatGateStyle struct {
	th     *Theme
	thread *model.Thread
	invite *inviteState // the peer's pending request, if any
}

func (g chatGateStyle) Layout(gtx C) D {
	msg, action := g.parts()
	d, _ := g.layout(gtx, msg, action)
	return d
}

// parts returns the gate's message and its action, nil for none.
func (g chatGateStyle) parts() (msg string, action layout.Widget) {
	th, t := g.th, g.thread
	name := t.Name()
	switch t.Chat {
	case client.ChatInviting:
		msg = "Waiting for " + name + " to accept your chat request…"
	case client.ChatInvited:
		msg = name + " wants to start a private chat."
		ic := g.invite
		action = func(gtx C) D {
			return layout.Flex{}.Layout(gtx,
				layout.Rigid(func(gtx C) D { return button(gtx, th, &ic.decline, secondary, "Decline") }),
				layout.Rigid(layout.Spacer{Width: 8}.Layout),
				layout.Rigid(func(gtx C) D { return button(gtx, th, &ic.accept, primary, "Accept") }),
			)
		}
	default:
		msg = name + " is offline."
	}
	return msg, action
}

// inviteNote is the line over the composer of private thread t, whose
// online peer has no open chat with us: what sending does. The client
// core's Send asks the peer for a chat (or waits for the one asked for) and
// sends the messages once it opens. Why an earlier chat ended, the thread
// says above (a system line).
func inviteNote(t *model.Thread) string {
	name := t.Name()
	switch {
	case t.Chat == client.ChatInviting:
		return "Your messages go out once " + name + " accepts"
	case t.Closed != "":
		return "Sending asks " + name + " for a new chat"
	}
	return "Sending asks " + name + " for a private chat"
}

// layout draws msg beside action, or above it when a word of msg would not
// fit beside it (phones, long nicknames): a line never breaks within a
// word. It returns the width msg was given.
func (g chatGateStyle) layout(gtx C, msg string, action layout.Widget) (D, int) {
	th := g.th
	label := th.label(sizeSmall, th.Pal.Muted, msg)
	if action == nil {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx C) D { return D{Size: image.Pt(0, gtx.Dp(touch))} }),
			layout.Flexed(1, label.Layout),
		), gtx.Constraints.Max.X
	}
	m := op.Record(gtx.Ops)
	mgtx := gtx
	mgtx.Constraints.Min = image.Point{}
	ad := action(mgtx)
	m.Stop()
	textW := gtx.Constraints.Max.X - ad.Size.X - gtx.Dp(8)
	if longestWord(gtx, label) <= textW {
		return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
			layout.Rigid(func(gtx C) D { return D{Size: image.Pt(0, gtx.Dp(touch))} }),
			layout.Flexed(1, label.Layout),
			layout.Rigid(func(gtx C) D { return layout.Inset{Left: 8}.Layout(gtx, action) }),
		), textW
	}
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return layout.Inset{Top: 4, Bottom: 4}.Layout(gtx, label.Layout)
		}),
		layout.Rigid(func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return layout.E.Layout(gtx, action)
		}),
	), gtx.Constraints.Max.X
}

// longestWord returns the width of the widest word of l's text, set as l.
func longestWord(gtx C, l material.LabelStyle) int {
	w := 0
	m := op.Record(gtx.Ops)
	gtx.Constraints = layout.Constraints{Max: image.Pt(1<<24, 1<<24)}
	for _, word := range strings.Fields(l.Text) {
		l.Text = word
		w = max(w, l.Layout(gtx).Size.X)
	}
	m.Stop()
	return w
}
