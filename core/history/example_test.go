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
