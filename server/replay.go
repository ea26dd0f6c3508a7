package server

import (
	"encoding/binary"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"peerchat/core/wire"
)

// Missed broadcasts (docs/PROTOCOL.md §2.9): with a key, the server gives
// every broadcast a server-wide id (BID, strictly increasing across
// restarts: ids are reserved on disk bidBlock at a time), keeps the last
// ReplayCount of them for ReplayAge in memory (kept) and in the
// MailStore (written in batches by bcastLoop, so a kill may lose the last
// few), and sends a replay client BID before each BCAST or SBCAST. SINCE
// <id> replays, under s.mu (so no live broadcast comes in between), the
// kept broadcasts after id that came before the client registered, in
// order, up to relayShare bytes, then SINCE_END.

// bidBlock is how many broadcast ids are reserved on disk at once.
const bidBlock = 1024

// kept is one kept broadcast: its fields, and its frames, shared by
// every recipient.
type kept struct {
	id, seq    uint64
	time, sent time.Time
	from, text string
	sig        []byte // nil: not signed
	bidFrame   []byte // BID
	base       []byte // BROADCAST "<from>: <text>"
	v2         []byte // BCAST
	sv2        []byte // SBCAST, if signed
}

// newKept returns k with its frames.
func newKept(k kept) *kept {
	k.bidFrame = wire.Encode(wire.BroadcastID{ID: k.id})
	k.base = wire.Encode(wire.Broadcast{Text: k.from + ": " + k.text})
	k.v2 = wire.Encode(wire.Bcast{Seq: k.seq, Time: k.time, From: k.from, Text: k.text})
	if k.sig != nil {
		k.sv2 = wire.Encode(wire.SignedBcast{Seq: k.seq, Time: k.time, From: k.from, Sent: k.sent, Sig: k.sig, Text: k.text})
	}
	return &k
}

// frameFor returns the form of k that p gets (as broadcast does).
func (k *kept) frameFor(p *conn) *[]byte {
	switch {
	case k.sv2 != nil && p.keys:
		return &k.sv2
	case p.bcast:
		return &k.v2
	}
	return &k.base
}

func encodeKept(k *kept) []byte {
	b := binary.BigEndian.AppendUint64(nil, k.seq)
	b = binary.BigEndian.AppendUint64(b, uint64(k.time.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(k.sent.UnixMilli()))
	b = append(append(b, byte(len(k.sig))), k.sig...)
	b = append(append(b, byte(len(k.from))), k.from...)
	return append(b, k.text...)
}

func decodeKept(key, v []byte) (*kept, bool) {
	if len(key) != 8 || len(v) < 25 {
		return nil, false
	}
	k := kept{id: binary.BigEndian.Uint64(key), seq: binary.BigEndian.Uint64(v)}
	k.time = time.UnixMilli(int64(binary.BigEndian.Uint64(v[8:])))
	k.sent = time.UnixMilli(int64(binary.BigEndian.Uint64(v[16:])))
	v = v[24:]
	n := int(v[0])
	if len(v) < 1+n+1 {
		return nil, false
	}
	if n > 0 {
		k.sig = append([]byte(nil), v[1:1+n]...)
	}
	v = v[1+n:]
	n = int(v[0])
	if len(v) < 1+n {
		return nil, false
	}
	k.from, k.text = string(v[1:1+n]), string(v[1+n:])
	return newKept(k), true
}

// loadKept reads the kept broadcasts not older than cutoff, the newest
// max of them, and the ids reserved so far.
func (ms *MailStore) loadKept(cutoff time.Time, max int) ([]*kept, uint64, error) {
	var out []*kept
	var ceil uint64
	err := ms.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyBid); len(v) == 8 {
			ceil = binary.BigEndian.Uint64(v)
		}
		cur := tx.Bucket(bucketBcasts).Cursor()
		for k, v := cur.Last(); k != nil && len(out) < max; k, v = cur.Prev() {
			kp, ok := decodeKept(k, v)
			if !ok || kp.time.Before(cutoff) {
				break
			}
			out = append(out, kp)
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, ceil, err
}

// reserveBids records that ids up to ceil may be used.
func (ms *MailStore) reserveBids(ceil uint64) error {
	return ms.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyBid, u64(ceil)) })
}

// storeKept writes ks and deletes the kept broadcasts beyond the newest
// max or older than cutoff.
func (ms *MailStore) storeKept(ks []*kept, cutoff time.Time, max int) error {
	return ms.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBcasts)
		for _, k := range ks {
			if err := b.Put(u64(k.id), encodeKept(k)); err != nil {
				return err
			}
		}
		n := b.Stats().KeyN
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.First() {
			kp, ok := decodeKept(k, v)
			if n <= max && ok && !kp.time.Before(cutoff) {
				break
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			n--
		}
		return nil
	})
}

// startReplay loads the kept broadcasts; Serve calls it before accepting.
func (s *Server) startReplay() error {
	ks, ceil, err := s.mail.loadKept(s.cfg.Now().Add(-s.cfg.ReplayAge), s.cfg.ReplayCount)
	if err != nil {
		return err
	}
	s.kept, s.bid, s.bidCeil = ks, ceil, ceil
	return nil
}

// keep numbers a broadcast and keeps it; s.mu must be held. It returns the
// kept broadcast, whose frames the fan-out uses.
func (s *Server) keep(c *conn, seq uint64, now time.Time, text string, signed *wire.SignedBroadcast) *kept {
	s.bid++
	if s.bid > s.bidCeil {
		if err := s.mail.reserveBids(s.bid + bidBlock - 1); err != nil {
			s.log.Error("mailbox database", "err", err)
		} else {
			s.bidCeil = s.bid + bidBlock - 1
		}
	}
	k := kept{id: s.bid, seq: seq, time: now, from: c.nick, text: text}
	if signed != nil {
		k.sent, k.sig = signed.Time, signed.Sig
	}
	kp := newKept(k)
	s.kept = append(s.kept, kp)
	if len(s.kept) > 2*s.cfg.ReplayCount {
		s.kept = append(s.kept[:0:0], s.kept[len(s.kept)-s.cfg.ReplayCount:]...)
	}
	s.bmu.Lock()
	s.bpend = append(s.bpend, kp)
	s.bmu.Unlock()
	return kp
}

// wakeBcasts wakes bcastLoop.
func (s *Server) wakeBcasts() {
	select {
	case s.bWake <- struct{}{}:
	default:
	}
}

// bcastLoop writes the new kept broadcasts until the server shuts down.
func (s *Server) bcastLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			s.flushKept()
			return
		case <-s.bWake:
			s.flushKept()
		}
	}
}

// flushKept writes the kept broadcasts not written yet.
func (s *Server) flushKept() {
	s.bmu.Lock()
	ks := s.bpend
	s.bpend = nil
	s.bmu.Unlock()
	if len(ks) == 0 {
		return
	}
	if err := s.mail.storeKept(ks, s.cfg.Now().Add(-s.cfg.ReplayAge), s.cfg.ReplayCount); err != nil {
		s.log.Error("mailbox database", "err", err)
	}
}

// replayMissed answers c's SINCE: the kept broadcasts after id that came before
// c registered and are not older than ReplayAge, as BID and the form c
// gets, oldest first, up to relayShare bytes (at least one), then
// SINCE_END: the id of the last broadcast sent if the byte bound cut the
// answer short, else the newest id so far.
func (c *conn) replayMissed(id uint64) {
	s := c.s
	cutoff := s.cfg.Now().Add(-s.cfg.ReplayAge)
	s.mu.Lock()
	defer s.mu.Unlock()
	last, size, n := s.bid, 0, 0
	var sent uint64
	cut := false
	start := len(s.kept)
	for start > 0 && s.kept[start-1].id > id {
		start--
	}
	n0 := len(s.kept) - s.cfg.ReplayCount
	for _, k := range s.kept[max(start, n0, 0):] {
		if k.id >= c.liveFrom {
			break
		}
		if k.time.Before(cutoff) {
			continue
		}
		f := k.frameFor(c)
		if n > 0 && size+len(k.bidFrame)+len(*f) > s.relayShare() {
			cut = true
			break
		}
		c.enqueue(&k.bidFrame, true)
		c.enqueue(f, true)
		size += len(k.bidFrame) + len(*f)
		sent = k.id
		n++
	}
	if cut {
		last = sent
	}
	end := wire.Encode(wire.SinceEnd{Last: last})
	c.enqueue(&end, true)
	s.replayed.Add(uint64(n))
	s.delivered.Add(uint64(2*n + 1))
	c.kick()
	c.logf(slog.LevelDebug, "since", "id", id, "replayed", n)
}
