package history

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/cases"

	"peerchat/core/delivery"
)

// appendText appends a chat message with text to thread at t0 + sec seconds.
func appendText(t testing.TB, s *Store, thread string, sec int, text string) uint64 {
	t.Helper()
	seq, err := s.Append(thread, Message{From: "ana", Text: text, Time: t0.Add(time.Duration(sec) * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// hitTexts returns the text of every hit.
func hitTexts(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Text
	}
	return out
}

// matched returns the matched parts of h's text.
func matched(h Hit) []string {
	var out []string
	for _, r := range h.Match {
		out = append(out, h.Text[r.Start:r.End])
	}
	return out
}

func TestSearchFolding(t *testing.T) {
	s := openTemp(t)
	texts := []string{
		"Rendez-vous au Café de Flore", // 1
		"Die Straße ist LANG",          // 2
		"joyeux Noël à tous",           // 3
		"ÇA VA? très bien",             // 4
		"plain ascii line",             // 5
		"Ελληνικά: ΣΟΦΙΑ",              // 6
		"cafe\u0301 decomposed",        // 7: é as e + U+0301
		"line one\nline two",           // 8
		"no\u00a0break space",          // 9
		"İstanbul",                     // 10
		"PeerChat rocks",               // 11
		"ﬁnal ligature",                // 12: case folding turns ﬁ into fi
		"한국어 가나다",                      // 13
	}
	for i, text := range texts {
		appendText(t, s, "bob", i, text)
	}
	for _, tc := range []struct {
		query string
		want  []string // matched parts, newest hit first
	}{
		{"cafe", []string{"cafe\u0301", "Café"}},
		{"CAFÉ", []string{"cafe\u0301", "Café"}},
		{"strasse", []string{"Straße"}},
		{"stras", []string{"Straß"}}, // a match inside ß takes all of it
		{"STRAẞE", []string{"Straße"}},
		{"noel", []string{"Noël"}},
		{"ca va", []string{"ÇA VA"}},
		{"TRES", []string{"très"}},
		{"σοφια", []string{"ΣΟΦΙΑ"}},
		{"ελληνικα", []string{"Ελληνικά"}},
		{"one line", []string{"one\nline"}}, // a line break is a space
		{"one line two", []string{"one\nline two"}},
		{"two one", []string{"one", "two"}}, // both words, not as a phrase
		{"one two", []string{"one", "two"}},
		{"no break", []string{"no\u00a0break"}},
		{"istanbul", []string{"İstanbul"}},
		{"chat", []string{"Chat"}},
		{"  PLAIN\tASCII  ", []string{"plain ascii"}},
		{"ascii plain", []string{"plain", "ascii"}},
		{"ﬁnal", []string{"ﬁnal"}},
		{"final", []string{"ﬁnal"}},
		{"가", []string{"가"}},
		{"\u1100\u1161", []string{"가"}}, // a syllable decomposes into its letters
		{"\u1100", []string{"국"}},       // the first match in the text, inside a syllable
		{"absent", nil},
		{"cafe absent", nil},
	} {
		hs, err := s.Search(tc.query, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hs {
			got = append(got, matched(h)...)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q) matched %q, want %q (texts %q)", tc.query, got, tc.want, hitTexts(hs))
		}
	}
	for _, q := range []string{"", "   ", "\u0301", "\n\t"} {
		hs, err := s.Search(q, SearchOptions{})
		if err != nil || hs != nil {
			t.Errorf("Search(%q) = %q, %v; want no hits", q, hitTexts(hs), err)
		}
	}
}

// TestSearchOrder checks newest-first order across threads, the limit, the
// thread filter, system lines and deleted threads.
func TestSearchOrder(t *testing.T) {
	s := openTemp(t)
	// Times interleave across threads, and one thread's times are not in
	// Seq order (a message received late with an older time).
	appendText(t, s, Broadcasts, 10, "hello everyone")      // B#1 @10
	appendText(t, s, "bob", 20, "hello bob")                // bob#1 @20
	appendText(t, s, "carol", 30, "HELLO carol")            // carol#1 @30
	appendText(t, s, "bob", 5, "hello, late and early")     // bob#2 @5
	appendText(t, s, Broadcasts, 40, "Hello again")         // B#2 @40
	appendText(t, s, "carol", 40, "hello at the same time") // carol#2 @40
	appendText(t, s, "bob", 50, "nothing to see")           // bob#3 @50
	if _, err := s.Append("bob", Message{Text: "hello from the system", Kind: KindSystem, Time: t0.Add(60 * time.Second)}); err != nil {
		t.Fatal(err)
	}

	type ref struct {
		thread string
		seq    uint64
	}
	refs := func(hs []Hit) []ref {
		var out []ref
		for _, h := range hs {
			out = append(out, ref{h.Thread, h.Seq})
			if h.From != "ana" || h.Kind != KindMessage || !strings.Contains(strings.ToLower(h.Text), "hello") {
				t.Errorf("hit %q #%d: %+v", h.Thread, h.Seq, h.Message)
			}
			if len(h.Match) != 1 || !strings.EqualFold(h.Text[h.Match[0].Start:h.Match[0].End], "hello") {
				t.Errorf("hit %q #%d: match %v in %q", h.Thread, h.Seq, h.Match, h.Text)
			}
		}
		return out
	}
	all := []ref{{Broadcasts, 2}, {"carol", 2}, {"carol", 1}, {"bob", 1}, {Broadcasts, 1}, {"bob", 2}}
	for _, tc := range []struct {
		opt  SearchOptions
		want []ref
	}{
		{SearchOptions{}, all},
		{SearchOptions{Limit: -1}, all},
		{SearchOptions{Limit: 1}, all[:1]},
		{SearchOptions{Limit: 4}, all[:4]},
		{SearchOptions{Limit: 100}, all},
		{SearchOptions{Thread: "bob"}, []ref{{"bob", 1}, {"bob", 2}}},
		{SearchOptions{Thread: "bob", Limit: 1}, []ref{{"bob", 1}}},
		{SearchOptions{Thread: Broadcasts}, []ref{{Broadcasts, 2}, {Broadcasts, 1}}},
		{SearchOptions{Thread: "nobody"}, nil},
	} {
		hs, err := s.Search("hello", tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := refs(hs); !slices.Equal(got, tc.want) {
			t.Errorf("Search(hello, %+v) = %v, want %v", tc.opt, got, tc.want)
		}
	}

	// A hit is where Load opens the thread.
	hs, err := s.Search("late early", SearchOptions{})
	if err != nil || len(hs) != 1 {
		t.Fatal(hitTexts(hs), err)
	}
	ms, err := s.Load(hs[0].Thread, hs[0].Seq+1, 1)
	if err != nil || len(ms) != 1 || !sameMessage(ms[0], hs[0].Message) {
		t.Fatalf("Load at hit: %v, %v; hit %+v", ms, err, hs[0].Message)
	}
	if got := matched(hs[0]); !slices.Equal(got, []string{"late", "early"}) {
		t.Errorf("matched %q", got)
	}

	// Deleting a thread removes its hits, by Delete and by a Batch.
	if err := s.Delete("carol"); err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.Append("dave", Message{From: "ana", Text: "hello dave", Time: t0})
	b.Delete(Broadcasts)
	if _, err := s.Write(&b); err != nil {
		t.Fatal(err)
	}
	hs, err = s.Search("hello", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refs(hs), []ref{{"bob", 1}, {"bob", 2}, {"dave", 1}}; !slices.Equal(got, want) {
		t.Errorf("after delete: %v, want %v", got, want)
	}
	// A thread started again after Delete finds only its new messages.
	appendText(t, s, "carol", 70, "hello new carol")
	hs, err = s.Search("carol", SearchOptions{})
	if err != nil || len(hs) != 1 || hs[0].Seq != 1 || hs[0].Text != "hello new carol" {
		t.Errorf("recreated thread: %q, %v", hitTexts(hs), err)
	}

	if _, err := s.Search("x", SearchOptions{Thread: strings.Repeat("x", MaxThreadName+1)}); err == nil {
		t.Error("overlong thread filter accepted")
	}
	s.Close()
	if _, err := s.Search("hello", SearchOptions{}); err == nil {
		t.Error("Search on a closed store succeeded")
	}
}

// TestSearchStates checks that a message is found whatever its delivery
// state, including after SetState.
func TestSearchStates(t *testing.T) {
	s := openTemp(t)
	for st := range delivery.State(5) {
		if _, err := s.Append("bob", Message{Text: fmt.Sprintf("state %d", st), State: st, Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetState("bob", 2, delivery.Delivered); err != nil {
		t.Fatal(err)
	}
	hs, err := s.Search("STATE", SearchOptions{})
	if err != nil || len(hs) != 5 {
		t.Fatalf("%q, %v", hitTexts(hs), err)
	}
}

// TestSearchConcurrent searches while another goroutine writes: every
// search sees a whole number of batches, never part of one, and never fewer
// messages than the search before it.
func TestSearchConcurrent(t *testing.T) {
	s := openTemp(t)
	const batches, perBatch = 40, 5
	done := make(chan error, 1)
	go func() {
		var b Batch
		for i := range batches {
			b.Reset()
			for j := range perBatch {
				b.Append("bob", Message{From: "ana", Text: fmt.Sprintf("Word %d", i*perBatch+j), Time: t0})
			}
			if _, err := s.Write(&b); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	prev := 0
	check := func() {
		hs, err := s.Search("word", SearchOptions{Limit: batches * perBatch})
		if err != nil {
			t.Fatal(err)
		}
		if len(hs)%perBatch != 0 || len(hs) < prev {
			t.Fatalf("%d hits after %d", len(hs), prev)
		}
		for i, h := range hs { // same time: newest Seq first
			if h.Seq != uint64(len(hs)-i) {
				t.Fatalf("hit %d is #%d of %d", i, h.Seq, len(hs))
			}
		}
		prev = len(hs)
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			check()
			if prev != batches*perBatch {
				t.Fatalf("%d hits at the end", prev)
			}
			return
		default:
			check()
		}
	}
}

// refFold is the folding that Search documents, written the slow way: whole
// character by character through x/text, with no fast path or cache.
func refFold(s string) string {
	var b strings.Builder
	caser := cases.Fold()
	for _, r := range s { // an invalid byte is one U+FFFD
		b.WriteString(foldRuneSlow(caser, r))
	}
	return b.String()
}

// FuzzSearchFold checks the fast folding and the matching against the
// definition: the fast paths fold like x/text, folding is idempotent, every
// match range is inside the text, on character boundaries, and folds to a
// word of the query, and a text always matches itself and its upper case.
func FuzzSearchFold(f *testing.F) {
	for _, seed := range [][2]string{
		{"Café de Flore", "cafe"},
		{"Straße", "STRASSE"},
		{"İstanbul\u0301 ß", "i ss"},
		{"a\xffb\xc3", "\xff"},
		{"\x82", "\x82"},
		{"\x8e\x8f", "\x8f"},
		{"ı", "I"},
		{"ΣΟΦΙΑ ς", "σ"},
		{"e\u0301\u0301 x", "é x"},
		{"banab", "ana nab"},
		{"\u00a0\n\t", " "},
		{"ǅ ǆ Ǆ ﬁ ㎏", "dž"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, text, q string) {
		ft := fold(text)
		if want := refFold(text); ft != want {
			t.Fatalf("fold(%q) = %q, want %q", text, ft, want)
		}
		if fb := string(appendFold(nil, []byte(text))); fb != ft {
			t.Fatalf("fold of bytes %q = %q, of string %q", text, fb, ft)
		}
		if ff := fold(ft); ff != ft {
			t.Fatalf("fold not idempotent: %q → %q → %q", text, ft, ff)
		}
		folded, from := foldMap(text)
		if string(folded) != ft {
			t.Fatalf("foldMap(%q) = %q, fold %q", text, folded, ft)
		}
		if len(from) != len(folded) {
			t.Fatalf("foldMap(%q): %d offsets for %d bytes", text, len(from), len(folded))
		}
		boundary := make(map[int]bool)
		for i := range text {
			boundary[i] = true
		}
		asciiUpper := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, text)
		for _, query := range []string{q, text, asciiUpper} {
			cq := compileQuery(query)
			if cq == nil {
				continue
			}
			match := cq.matches(folded)
			if query != q && !match {
				t.Fatalf("%q does not match %q", text, query)
			}
			if !match {
				continue
			}
			rs := cq.ranges(text)
			if len(rs) == 0 {
				t.Fatalf("%q matches %q with no range", text, query)
			}
			end := 0
			for _, r := range rs {
				if r.Start < end || r.End <= r.Start || r.End > len(text) {
					t.Fatalf("%q in %q: bad ranges %v", query, text, rs)
				}
				for _, i := range []int{r.Start, r.End} {
					if i < len(text) && !boundary[i] {
						t.Fatalf("%q in %q: range %v not on a character boundary", query, text, r)
					}
				}
				end = r.End
			}
			if len(rs) == 1 && len(cq.words) == 1 && !strings.Contains(fold(text[rs[0].Start:rs[0].End]), string(cq.words[0])) {
				t.Fatalf("%q in %q: range %v folds to %q", query, text, rs[0], fold(text[rs[0].Start:rs[0].End]))
			}
		}
	})
}

// searchWords is the vocabulary of BenchmarkSearch100k: about one word in
// six has an accent or is not Latin.
var searchWords = []string{
	"the", "meeting", "is", "at", "noon", "tomorrow", "can", "you", "send", "me", "file",
	"ok", "thanks", "see", "later", "lunch", "today", "where", "are", "we", "going", "build",
	"broken", "again", "fixed", "it", "now", "release", "server", "client", "network", "lol",
	"café", "Noël", "très", "Straße", "señor", "ÇA", "déjà", "vu", "Привет", "日本語", "😀",
}

// searchWordsCyrillic is the vocabulary of BenchmarkSearch100kCyrillic:
// no ASCII letter at all, so that every character takes the slow path.
var searchWordsCyrillic = []string{
	"Привет", "как", "дела", "встреча", "завтра", "в", "полдень", "можешь", "прислать",
	"файл", "спасибо", "увидимся", "обед", "сегодня", "где", "мы", "сервер", "сеть", "ёлка", "ЁЖ",
}

// searchCorpus returns a chat line of 2 to 36 words of vocabulary.
func searchCorpus(r *rand.Rand, vocabulary []string) string {
	var b strings.Builder
	n := 2 + r.IntN(35)
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		w := vocabulary[r.IntN(len(vocabulary))]
		if r.IntN(8) == 0 {
			w = strings.ToUpper(w)
		}
		b.WriteString(w)
	}
	return b.String()
}

// benchmarkSearch fills a store with 100,000 messages of vocabulary, 40,000
// in the feed and the rest spread over 60 private threads, then runs each
// query as a sub-benchmark.
func benchmarkSearch(b *testing.B, vocabulary []string, queries [][2]string) {
	s := openTemp(b)
	s.db.NoSync = true
	r := rand.New(rand.NewPCG(1, 2))
	threads := []string{Broadcasts}
	for i := range 60 {
		threads = append(threads, fmt.Sprintf("peer%02d", i))
	}
	var batch Batch
	for i := range 100_000 {
		th := Broadcasts
		if i%5 >= 2 {
			th = threads[1+r.IntN(60)]
		}
		batch.Append(th, Message{From: "ana", Text: searchCorpus(r, vocabulary), Time: t0.Add(time.Duration(i) * time.Second)})
		if batch.Len() == 5000 {
			if _, err := s.Write(&batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	s.db.NoSync = false
	for _, q := range queries {
		b.Run(q[0], func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				hs, err := s.Search(q[1], SearchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n = len(hs)
			}
			b.ReportMetric(float64(n), "hits")
		})
	}
}

// BenchmarkSearch100k searches 100,000 messages of mostly ASCII text. The
// limit is the default, 100 hits.
func BenchmarkSearch100k(b *testing.B) {
	benchmarkSearch(b, searchWords, [][2]string{
		{"none", "zebra"},             // no hit: every message folded and compared
		{"rare", "cafe noel tres"},    // hits all through the history
		{"common", "meeting"},         // hits in most messages
		{"accent", "STRASSE deja vu"}, // folding in the query
	})
}

// BenchmarkSearch100kCyrillic searches 100,000 messages with no ASCII
// letter, the slowest text to fold.
func BenchmarkSearch100kCyrillic(b *testing.B) {
	benchmarkSearch(b, searchWordsCyrillic, [][2]string{
		{"none", "зебра"},
		{"common", "ЕЛКА"}, // "ё" folds to "е"
	})
}
