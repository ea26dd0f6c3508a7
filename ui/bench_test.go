package ui

import (
	"fmt"
	"image"
	"testing"
	"time"

	"gioui.org/op"
	"gioui.org/op/paint"

	"peerchat/core/client"
)

// longThread opens a private thread with n messages of varied length.
func longThread(b *testing.B, n int) *harness {
	b.Helper()
	be := &fakeBackend{peers: []string{"bruno"}}
	h := newHarness(b, be, 1280, 800)
	s := h.connect("ana")
	evs := []client.Event{{Kind: client.EventChatOpen, Peer: "bruno"}}
	texts := []string{
		"ok", "Sounds good 👍", "Can you send me the logs from yesterday's run?",
		"Here is the whole story, because it is a long one: the box came with an old image, and the data directory was created by root before the package ran.",
		"see https://wiki.example.com/ops/peerchat-box",
	}
	start := fixedNow.Add(-time.Duration(n) * time.Minute)
	for i := 0; i < n; i++ {
		evs = append(evs, client.Event{Kind: client.EventChatMsg, From: "bruno", Peer: "bruno", Text: fmt.Sprintf("%d %s", i, texts[i%len(texts)]), Time: start.Add(time.Duration(i) * time.Minute)})
	}
	h.push(s, evs...)
	h.chat().open("bruno")
	h.frame()
	if got := len(h.chat().m.Thread("bruno").Messages); got < n {
		b.Fatalf("%d messages, want %d", got, n)
	}
	return h
}

// BenchmarkThreadFrame lays out and renders (gpu/headless) one desktop frame
// of a thread with 10,000 messages. Sub-benchmarks: "jump" shows a different
// place each frame (all text shaped and rasterized anew: the worst case),
// "scroll" moves by 4 px a frame (a person scrolling), "idle" redraws the
// bottom of the thread.
func BenchmarkThreadFrame(b *testing.B) {
	for _, mode := range []string{"jump", "scroll", "idle"} {
		b.Run(mode, func(b *testing.B) {
			h := longThread(b, 10000)
			g := newGPU(b, h.px())
			tv := h.chat().view("bruno")
			g.render(b, &h.ops)
			img := image.NewRGBA(image.Rectangle{Max: h.px()})
			if mode == "scroll" {
				tv.list.Position.First = 5000
				tv.list.Position.BeforeEnd = true
			}
			cpu0 := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				switch mode {
				case "jump":
					tv.list.Position.First = (i * 37) % 9990
					tv.list.Position.BeforeEnd = true
				case "scroll":
					tv.list.Position.Offset += 4
				}
				h.frame()
				if err := g.win.Frame(&h.ops); err != nil {
					b.Fatal(err)
				}
			}
			// Read the frame back so the GPU work is finished and counted.
			g.win.Screenshot(img)
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// BenchmarkThreadLayout is BenchmarkThreadFrame without the GPU: the UI's own CPU cost.
func BenchmarkThreadLayout(b *testing.B) {
	h := longThread(b, 10000)
	tv := h.chat().view("bruno")
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tv.list.Position.First = (i * 37) % 9990
		tv.list.Position.BeforeEnd = true
		h.frame()
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkThreadIdle is a steady frame at the bottom of the thread (nothing changed).
func BenchmarkThreadIdle(b *testing.B) {
	h := longThread(b, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.frame()
	}
}

// BenchmarkBlankFrame renders a frame that only fills the window: the fixed
// cost of the headless renderer (with Mesa's software rasterizer here), to
// compare BenchmarkThreadFrame with.
func BenchmarkBlankFrame(b *testing.B) {
	var ops op.Ops
	size := image.Pt(1280, 800)
	g := newGPU(b, size)
	img := image.NewRGBA(image.Rectangle{Max: size})
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ops.Reset()
		paint.Fill(&ops, LightPalette.Bg)
		if err := g.win.Frame(&ops); err != nil {
			b.Fatal(err)
		}
	}
	g.win.Screenshot(img)
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}
