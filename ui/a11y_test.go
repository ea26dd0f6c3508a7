package ui

import (
	"fmt"
	"strings"
	"testing"

	"gioui.org/io/input"
	"gioui.org/io/semantic"
)

// interactive reports whether a semantic node is something a user acts on:
// a clickable area, or a button, check box, radio button, switch or editor.
func interactive(d input.SemanticDesc) bool {
	if d.Gestures&input.ClickGesture != 0 && d.Gestures&input.ScrollGesture == 0 {
		// A list takes presses to drag; it is not a clickable.
		return true
	}
	switch d.Class {
	case semantic.Button, semantic.CheckBox, semantic.Editor, semantic.RadioButton, semantic.Switch:
		return true
	}
	return false
}

// named reports whether n, or (for anything but an editor, whose text is
// not its name) a node inside it, carries a label or a description.
func named(n input.SemanticNode) bool {
	if n.Desc.Label != "" || n.Desc.Description != "" {
		return true
	}
	if n.Desc.Class == semantic.Editor {
		return false
	}
	for _, c := range n.Children {
		if named(c) {
			return true
		}
	}
	return false
}

// scrollbar reports whether d looks like the scroll bar of a
// material.List: a thin, tall, unnamed clickable strip. Gio gives it no
// semantics, and a screen reader has no use for it: the list scrolls.
func scrollbar(d input.SemanticDesc) bool {
	w, h := d.Bounds.Dx(), d.Bounds.Dy()
	return d.Class == semantic.Unknown && d.Label == "" && d.Description == "" && w <= 12 && h >= 4*w
}

// unnamed returns the interactive nodes of the tree under n that carry
// no name, and no role if they are clickable. parent is n's parent: a
// widget.Editor has no way to carry a description itself, so an editor is
// named by the area that holds it (field).
func unnamed(n, parent input.SemanticNode, out []string) []string {
	d := n.Desc
	if interactive(d) && !scrollbar(d) {
		switch {
		case d.Class == semantic.Editor && !named(n) && parent.Desc.Description == "" && parent.Desc.Label == "":
			out = append(out, fmt.Sprintf("editor at %v: no label nor description, nor around it", d.Bounds))
		case d.Class == semantic.Editor:
		case !named(n):
			out = append(out, fmt.Sprintf("%v at %v: no label nor description", className(d.Class), d.Bounds))
		case d.Class == semantic.Unknown && !wraps(n) && !hasText(n):
			// Without a role, only text that reacts to a press (a name
			// whose tooltip a long press shows) is acceptable: it is read
			// as the text it is.
			out = append(out, fmt.Sprintf("clickable %q at %v: no role (semantic class)", firstName(n), d.Bounds))
		}
	}
	for _, c := range n.Children {
		out = unnamed(c, n, out)
	}
	return out
}

// wraps reports whether a node inside n is an element with a role: n is an
// area around it that only watches the pointer (a tooltip's).
func wraps(n input.SemanticNode) bool {
	for _, c := range n.Children {
		if interactive(c.Desc) && c.Desc.Class != semantic.Unknown || wraps(c) {
			return true
		}
	}
	return false
}

// hasText reports whether n or a node inside it is text (a label).
func hasText(n input.SemanticNode) bool {
	if n.Desc.Label != "" {
		return true
	}
	for _, c := range n.Children {
		if hasText(c) {
			return true
		}
	}
	return false
}

func firstName(n input.SemanticNode) string {
	if n.Desc.Description != "" {
		return n.Desc.Description
	}
	if n.Desc.Label != "" {
		return n.Desc.Label
	}
	for _, c := range n.Children {
		if s := firstName(c); s != "" {
			return s
		}
	}
	return ""
}

func className(c semantic.ClassOp) string {
	switch c {
	case semantic.Button:
		return "button"
	case semantic.CheckBox:
		return "check box"
	case semantic.Editor:
		return "editor"
	case semantic.RadioButton:
		return "radio button"
	case semantic.Switch:
		return "switch"
	}
	return "clickable"
}

// TestA11yLabels walks the semantic tree of every screen of the screenshot
// scenarios, at phone and desktop sizes, and fails on any clickable,
// button, editor or switch that a screen reader could not name, or a
// clickable without a role.
func TestA11yLabels(t *testing.T) {
	for _, sz := range sizes {
		for _, sc := range scenarios() {
			t.Run(sc.name+"-"+sz.name, func(t *testing.T) {
				h := newHarness(t, &fakeBackend{}, sz.w, sz.h)
				sc.setup(h)
				h.frame()
				h.frame()
				nodes := h.router.AppendSemantics(nil)
				if len(nodes) == 0 {
					t.Fatal("no semantic tree")
				}
				var clickables int
				var walk func(n input.SemanticNode)
				walk = func(n input.SemanticNode) {
					if interactive(n.Desc) {
						clickables++
					}
					for _, c := range n.Children {
						walk(c)
					}
				}
				walk(nodes[0])
				if clickables == 0 {
					t.Fatal("no interactive element found: the walk sees nothing")
				}
				if bad := unnamed(nodes[0], input.SemanticNode{}, nil); len(bad) > 0 {
					t.Errorf("%d of %d interactive elements cannot be named:\n\t%s", len(bad), clickables, strings.Join(bad, "\n\t"))
				}
			})
		}
	}
}
