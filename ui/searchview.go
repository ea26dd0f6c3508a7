package ui

import (
	"image"
	"time"

	"gioui.org/font"
	"gioui.org/io/semantic"
	"gioui.org/layout"
	"gioui.org/op/clip"
	"gioui.org/op/paint"
	"gioui.org/widget"
	"gioui.org/widget/material"
	"gioui.org/x/styledtext"

	"peerchat/ui/historystore"
	"peerchat/ui/model"
)

// snippetRunes is the most characters of a message a search result shows.
const snippetRunes = 140

// searchPaneStyle draws the search pane: a header with Close and the query
// field, what the search found (or why nothing), then the results, each
// with its thread, time and the message with the matched text
// highlighted.
type searchPaneStyle struct {
	th    *Theme
	ic    *iconSet
	m     *model.Model
	state *searchPane
	// Available is false when the session has no history to search.
	Available bool
}

func (p searchPaneStyle) Layout(gtx C) D {
	th, st := p.th, p.state
	paint.FillShape(gtx.Ops, th.Pal.Panel, clip.Rect{Max: gtx.Constraints.Max}.Op())
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D {
			return barHeader(gtx, th, func(gtx C) D {
				return layout.Flex{Alignment: layout.Middle}.Layout(gtx,
					layout.Rigid(func(gtx C) D {
						return iconButton(gtx, th, &st.close, p.ic.back, th.Pal.Muted, colorT{}, "Close search (Esc)")
					}),
					layout.Rigid(layout.Spacer{Width: 4}.Layout),
					layout.Flexed(1, func(gtx C) D {
						return describe(gtx, "Search messages", func(gtx C) D {
							return field(gtx, th, &st.field, "Search messages", false)
						})
					}),
				)
			})
		}),
		layout.Rigid(p.status),
		layout.Flexed(1, func(gtx C) D {
			l := material.List(th.Theme, &st.list)
			l.AnchorStrategy = material.Overlay
			now := p.m.Now()
			return wheelList(gtx, th, &st.list, func(gtx C) D {
				return l.Layout(gtx, len(st.results), func(gtx C, i int) D {
					return searchResultStyle{
						th: th, click: &st.rows[i], hit: &st.results[i], thread: threadName(p.m, st.results[i].Thread), now: now,
						Selected: st.picked == &st.results[i],
					}.Layout(gtx)
				})
			})
		}),
	)
}

// status says what the results are: none yet, searching, nothing found, an
// error, or how many.
func (p searchPaneStyle) status(gtx C) D {
	th, st := p.th, p.state
	var txt string
	switch {
	case !p.Available:
		txt = "Search needs the history, which is off."
	case st.err != nil:
		txt = "Search failed: " + st.err.Error()
	case st.query == "" && !st.running:
		txt = "Search the messages of every chat and of Everyone."
	case st.running && len(st.results) == 0:
		txt = "Searching…"
	case len(st.results) == 0:
		txt = "No messages found for “" + st.query + "”."
	case len(st.results) >= searchLimit:
		txt = "The newest " + itoa(len(st.results)) + " messages found"
	case len(st.results) == 1:
		txt = "1 message found"
	default:
		txt = itoa(len(st.results)) + " messages found"
	}
	return layout.Inset{Left: pad, Right: pad, Top: 10, Bottom: 6}.Layout(gtx, th.label(sizeSmall, th.Pal.Muted, txt).Layout)
}

// searchResultStyle draws one result: the thread's name and the message's
// time, then its sender and a snippet of its text, the matches in bold
// accent.
type searchResultStyle struct {
	th     *Theme
	click  *widget.Clickable
	hit    *historystore.Hit
	thread string
	now    time.Time
	// Selected is set on the result last opened.
	Selected bool
}

func (r searchResultStyle) Layout(gtx C) D {
	th, h := r.th, r.hit
	return r.click.Layout(gtx, func(gtx C) D {
		semantic.Button.Add(gtx.Ops)
		semantic.DescriptionOp("Message in " + r.thread + ": " + firstLine(h.Msg.Text)).Add(gtx.Ops)
		d := layout.Stack{}.Layout(gtx,
			layout.Expanded(func(gtx C) D {
				switch {
				case r.Selected:
					return fill(gtx, th.Pal.Hover)
				case r.click.Hovered():
					return fill(gtx, withAlpha(th.Pal.Hover, 0x99))
				}
				return D{Size: gtx.Constraints.Min}
			}),
			layout.Stacked(func(gtx C) D {
				gtx.Constraints.Min.X = gtx.Constraints.Max.X
				return layout.Inset{Left: pad, Right: pad, Top: 10, Bottom: 10}.Layout(gtx, func(gtx C) D {
					return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
						layout.Rigid(func(gtx C) D {
							return layout.Flex{Alignment: layout.Baseline}.Layout(gtx,
								layout.Flexed(1, func(gtx C) D {
									l := th.bold(sizeBody, th.Pal.Text, r.thread)
									l.MaxLines = 1
									return l.Layout(gtx)
								}),
								layout.Rigid(th.label(sizeCaption, th.Pal.Muted, shortTime(r.now, h.Msg.Time)).Layout),
							)
						}),
						layout.Rigid(layout.Spacer{Height: 2}.Layout),
						layout.Rigid(r.snippet),
					)
				})
			}),
		)
		in := gtx.Dp(3)
		focusRing(gtx, th, r.click, image.Rectangle{Min: image.Pt(in, in), Max: d.Size.Sub(image.Pt(in, in))}, gtx.Dp(8))
		return d
	})
}

// snippet draws who wrote the message and the part of it that matched.
func (r searchResultStyle) snippet(gtx C) D {
	th, h := r.th, r.hit
	who := h.Msg.From
	switch {
	case h.Msg.Mine:
		who = "You"
	case who == "":
		who = "Someone"
	}
	regular := font.Font{Weight: font.Normal}
	spans := []styledtext.SpanStyle{{Content: who + ": ", Size: sizeSmall, Color: th.Pal.Muted, Font: font.Font{Weight: font.SemiBold}}}
	for _, sp := range snippet(h.Msg.Text, h.Match, snippetRunes) {
		s := styledtext.SpanStyle{Content: sp.text, Size: sizeSmall, Color: th.Pal.Text, Font: regular}
		if sp.hit {
			s.Color, s.Font.Weight = th.Pal.Accent, font.Bold
		}
		spans = append(spans, s)
	}
	return styledtext.Text(th.Shaper, spans...).Layout(gtx, nil)
}

// searchPane draws the search pane in place of the people pane.
func (s *chatScreen) searchPane(gtx C) D {
	_, ok := s.sess.(searcher)
	return searchPaneStyle{th: s.a.th, ic: &s.a.ic, m: s.m, state: s.search, Available: ok && s.a.cfg.History != nil}.Layout(gtx)
}
