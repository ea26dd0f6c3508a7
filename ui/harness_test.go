package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unicode/utf8"

	"gioui.org/f32"
	"gioui.org/gpu/headless"
	"gioui.org/io/input"
	"gioui.org/io/key"
	"gioui.org/io/pointer"
	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/unit"
	"gioui.org/widget"

	"peerchat/core/client"
)

// harness drives an App through frames and an input.Router, like a window would.
type harness struct {
	t      testing.TB
	a      *App
	be     *fakeBackend
	plat   *memPlatform
	router input.Router
	ops    op.Ops
	sizeDp image.Point
	scale  float32
	env    Env
	now    time.Time
	inv    chan struct{}
}

type harnessOpt func(*Config)

func newHarness(t testing.TB, be *fakeBackend, w, h int, opts ...harnessOpt) *harness {
	t.Helper()
	hs := &harness{
		t: t, be: be, plat: &memPlatform{dir: t.TempDir()},
		sizeDp: image.Pt(w, h), scale: 1, now: fixedNow,
		env: Env{Focused: true}, inv: make(chan struct{}, 1),
	}
	be.onPoll = hs.wake
	cfg := Config{
		Backend:  be,
		Platform: hs.plat,
		Invalidate: func() {
			select {
			case hs.inv <- struct{}{}:
			default:
			}
		},
		Now:        func() time.Time { return hs.now },
		Touch:      w < 600,
		ProbeEvery: time.Hour,
	}
	for _, o := range opts {
		o(&cfg)
	}
	hs.a = New(cfg)
	t.Cleanup(func() { hs.a.Close() })
	return hs
}

// wake makes waitFor run a frame. It never blocks.
func (h *harness) wake() {
	select {
	case h.inv <- struct{}{}:
	default:
	}
}

func (h *harness) px() image.Point {
	return image.Pt(int(float32(h.sizeDp.X)*h.scale+.5), int(float32(h.sizeDp.Y)*h.scale+.5))
}

// frame lays out one frame and hands its ops to the router.
func (h *harness) frame() {
	h.ops.Reset()
	gtx := layout.Context{
		Ops:         &h.ops,
		Now:         h.now,
		Metric:      unit.Metric{PxPerDp: h.scale, PxPerSp: h.scale},
		Constraints: layout.Exact(h.px()),
		Source:      h.router.Source(),
	}
	h.a.Layout(gtx, h.env)
	h.router.Frame(&h.ops)
}

// waitFor runs frames until cond holds, failing the test after a deadline.
// Between frames it waits for an invalidation, never a fixed sleep.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.frame()
		if cond() {
			h.frame()
			return
		}
		select {
		case <-h.inv:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (h *harness) chat() *chatScreen {
	s, _ := h.a.stack[len(h.a.stack)-1].(*chatScreen)
	return s
}

func (h *harness) connectScreen() *connectScreen {
	s, _ := h.a.stack[0].(*connectScreen)
	return s
}

// connect takes the App to the chat screen as nick.
func (h *harness) connect(nick string) *fakeSession {
	h.t.Helper()
	cs := h.connectScreen()
	cs.nick.SetText(nick)
	cs.addr.SetText("192.168.1.2:12345")
	cs.start(false)
	h.waitFor("the chat screen", func() bool { return h.chat() != nil })
	s := h.be.session()
	h.settle(s) // the session service seeds the threads and the people
	return s
}

// push queues events on the session and runs frames until they are applied.
func (h *harness) push(s *fakeSession, evs ...client.Event) {
	h.t.Helper()
	s.push(evs...)
	h.settle(s)
}

// settle waits until the session service has applied every event queued on
// s and everything the UI asked of it (history written, notifications
// raised), then runs frames until the UI has applied the changes.
func (h *harness) settle(s *fakeSession) {
	h.t.Helper()
	idle0, _ := s.idle()
	h.waitFor("the session service", func() bool {
		idle, empty := s.idle()
		if empty && idle > idle0 {
			return true
		}
		s.notify() // one more turn of the service: a Poll that finds nothing
		return false
	})
}

// key sends a key press and release to the focused widget (or the key filters).
func (h *harness) key(name key.Name, mods key.Modifiers) {
	h.router.Queue(key.Event{Name: name, Modifiers: mods, State: key.Press}, key.Event{Name: name, Modifiers: mods, State: key.Release})
	h.frame()
}

// tab presses Tab (Shift+Tab with key.ModShift) the way a window does: a
// Tab that no widget handles moves the focus.
func (h *harness) tab(mods key.Modifiers) {
	h.frame()
	h.router.WakeupTime() // forget the frame's own wakeup
	h.router.Queue(input.SystemEvent{Event: key.Event{Name: key.NameTab, Modifiers: mods, State: key.Press}})
	if _, handled := h.router.WakeupTime(); !handled {
		dir := key.FocusForward
		if mods == key.ModShift {
			dir = key.FocusBackward
		}
		h.router.MoveFocus(dir)
		h.router.RevealFocus(image.Rectangle{Max: h.px()})
	}
	h.router.Queue(key.Event{Name: key.NameTab, Modifiers: mods, State: key.Release})
	h.frame()
}

// typeText sends text input to the focused editor, which must be ed, at its caret.
func (h *harness) typeText(ed *widget.Editor, s string) {
	start, end := ed.Selection()
	caret := min(start, end) + utf8.RuneCountInString(s)
	// Like a window: the edit, then the new selection.
	h.router.Queue(key.EditEvent{Range: key.Range{Start: start, End: end}, Text: s}, key.SelectionEvent{Start: caret, End: caret})
	h.frame()
}

// click presses and releases the primary button at p (in dp).
func (h *harness) click(p image.Point) {
	h.t.Helper()
	pos := pointf(p, h.scale)
	h.router.Queue(
		pointer.Event{Kind: pointer.Move, Source: pointer.Mouse, Position: pos},
		pointer.Event{Kind: pointer.Press, Source: pointer.Mouse, Buttons: pointer.ButtonPrimary, Position: pos},
		pointer.Event{Kind: pointer.Release, Source: pointer.Mouse, Position: pos},
	)
	h.frame()
	h.frame()
}

func pointf(p image.Point, scale float32) f32.Point {
	return f32.Pt(float32(p.X)*scale, float32(p.Y)*scale)
}

// gpu renders frames to images. One per test binary (EGL contexts are costly).
type gpuWindow struct {
	win  *headless.Window
	size image.Point
}

func newGPU(t testing.TB, size image.Point) *gpuWindow {
	t.Helper()
	// Render with Mesa without any display.
	for k, v := range map[string]string{"EGL_PLATFORM": "surfaceless", "LIBGL_ALWAYS_SOFTWARE": "1"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	w, err := headless.NewWindow(size.X, size.Y)
	if err != nil {
		if os.Getenv("CI") != "" { // CI installs Mesa: the screens must be checked there
			t.Fatalf("no headless GPU: %v", err)
		}
		t.Skipf("no headless GPU: %v", err)
	}
	t.Cleanup(w.Release)
	return &gpuWindow{win: w, size: size}
}

func (g *gpuWindow) render(t testing.TB, ops *op.Ops) *image.RGBA {
	t.Helper()
	if err := g.win.Frame(ops); err != nil {
		t.Fatalf("frame: %v", err)
	}
	img := image.NewRGBA(image.Rectangle{Max: g.size})
	if err := g.win.Screenshot(img); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}

// Screenshot comparison tolerances: a pixel differs when one channel is off by
// more than pixelDelta; a screen differs when more than maxDiffFraction of
// its pixels do.
const (
	pixelDelta      = 48
	maxDiffFraction = 0.004
)

// artifactsDir is where screenshots are written for people to look at.
func artifactsDir() string {
	if d := os.Getenv("PEERCHAT_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "out")
}

// checkScreen writes img as an artifact and compares it with the committed
// reference testdata/screens/name.png (UPDATE_SCREENSHOTS=1 rewrites it).
func checkScreen(t *testing.T, name string, img *image.RGBA) {
	t.Helper()
	if err := writePNG(filepath.Join(artifactsDir(), name+".png"), img, png.BestSpeed); err != nil {
		t.Fatal(err)
	}
	refPath := filepath.Join("testdata", "screens", name+".png")
	if os.Getenv("UPDATE_SCREENSHOTS") != "" {
		if err := writePNG(refPath, img, png.BestCompression); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(refPath)
	if err != nil {
		t.Fatalf("no reference %s (run with UPDATE_SCREENSHOTS=1 and look at it): %v", refPath, err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", refPath, err)
	}
	if want.Bounds() != img.Bounds() {
		t.Fatalf("%s: size %v, reference %v", name, img.Bounds(), want.Bounds())
	}
	ref := image.NewRGBA(want.Bounds())
	draw.Draw(ref, ref.Bounds(), want, want.Bounds().Min, draw.Src)
	diff := countDiff(img.Pix, ref.Pix)
	b := img.Bounds()
	if frac := float64(diff) / float64(b.Dx()*b.Dy()); frac > maxDiffFraction {
		t.Errorf("%s: %.2f%% of pixels differ from %s (limit %.2f%%); artifact in %s", name, frac*100, refPath, maxDiffFraction*100, artifactsDir())
	}
}

// countDiff counts the RGBA pixels of a and b (same size) that differ by more
// than pixelDelta in some channel.
func countDiff(a, b []byte) int {
	n := 0
	// Identical stretches, most of a screen, are skipped with bytes.Equal,
	// which is fast even under the race detector.
	const chunk = 4 * 64
	for i := 0; i < len(a) && i < len(b); i += chunk {
		end := min(i+chunk, len(a), len(b))
		if bytes.Equal(a[i:end], b[i:end]) {
			continue
		}
		for j := i; j+3 < end; j += 4 {
			for c := 0; c < 4; c++ {
				d := int(a[j+c]) - int(b[j+c])
				if d > pixelDelta || d < -pixelDelta {
					n++
					break
				}
			}
		}
	}
	return n
}

func writePNG(path string, img image.Image, level png.CompressionLevel) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: level}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// waitGoroutines fails the test if more than n goroutines are still running
// after a deadline.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, want ≤ %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// focused reports whether tag has the keyboard focus.
func (h *harness) focused(tag any) bool {
	h.frame()
	return h.router.Source().Focused(tag)
}
