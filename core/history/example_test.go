package history_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"peerchat/core/delivery"
	"peerchat/core/history"
)

// A UI shows the newest page of a thread, then loads older pages as the user
// scrolls up, passing the Seq of the oldest message it has.
func Example() {
	dir, err := os.MkdirTemp("", "history")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := history.Open(filepath.Join(dir, "history.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	t := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	for i := 1; i <= 5; i++ {
		m := history.Message{From: "ana", Text: fmt.Sprint("hello ", i), Time: t, State: delivery.Sent}
		seq, err := s.Append("ana", m)
		if err != nil {
			log.Fatal(err)
		}
		if i%2 == 1 { // the peer acknowledged it
			s.SetState("ana", seq, delivery.Delivered)
		}
	}

	page, _ := s.Load("ana", 0, 2) // the newest two
	for len(page) > 0 {
		for _, m := range page {
			fmt.Println(m.Seq, m.Text, m.State)
		}
		page, _ = s.Load("ana", page[0].Seq, 2) // the two before those
	}
	threads, _ := s.Threads()
	fmt.Println(threads[0].Name, threads[0].Count)
	// Output:
	// 4 hello 4 sent
	// 5 hello 5 delivered
	// 2 hello 2 sent
	// 3 hello 3 delivered
	// 1 hello 1 delivered
	// ana 5
}

// A search screen lists hits newest first, highlights the matched ranges
// and opens the thread at the hit: Load(thread, seq+1, n) ends with it.
func ExampleStore_Search() {
	dir, err := os.MkdirTemp("", "history")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := history.Open(filepath.Join(dir, "history.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	t := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	s.Append(history.Broadcasts, history.Message{From: "bob", Text: "Lunch at the Café?", Time: t})
	s.Append("ana", history.Message{From: "ana", Text: "the cafe is closed today", Time: t.Add(time.Minute)})
	s.Append("ana", history.Message{From: "ana", Text: "see you", Time: t.Add(2 * time.Minute)})

	hits, err := s.Search("CAFE", history.SearchOptions{Limit: 20})
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range hits {
		r := h.Match[0]
		fmt.Printf("%s #%d %s: %s[%s]%s\n", h.Thread, h.Seq, h.From, h.Text[:r.Start], h.Text[r.Start:r.End], h.Text[r.End:])
		page, err := s.Load(h.Thread, h.Seq+1, 50)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("  opens at", page[len(page)-1].Seq)
	}
	// Output:
	// ana #1 ana: the [cafe] is closed today
	//   opens at 1
	// * everyone #1 bob: Lunch at the [Café]?
	//   opens at 1
}
