package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"peerchat/core/wire"
)

// Incoming is a file being received into directory Dir: its bytes go to a
// hidden partial file `.<name>.<fid>.part`, and a small state file
// `.<name>.<fid>.state` beside it records the offset up to which the
// partial file is durable and verified, with the SHA-256 state at that
// offset. The state file is rewritten (atomically, after the partial
// file's data is fsynced) every SyncEvery bytes, on Close, and on a full
// disk. The checkpoints every SyncEvery bytes run in the background while
// Write goes on (a Write waits only for a checkpoint still under way when
// the next one is due). Besides, every Write records its offset and hash
// state in a mark file `.<name>.<fid>.mark`, without fsync: after the app
// was killed (the system's page cache survives it) the transfer resumes
// from the last chunk written, once the bytes between the checkpoint and
// the mark hash to the mark's state; after a system crash that lost them,
// it resumes from the checkpoint. Bytes past what was verified so are
// never trusted.
//
// An Incoming is not safe for concurrent use; distinct ones are, in the
// same directory. Its background checkpoint never outlives Close, Cancel
// or Finish.
type Incoming struct {
	dir   string
	from  string
	offer Offer
	name  string // sanitised
	part  string // path of the partial file
	state string // path of the state file
	mark  string // path of the mark file

	f     *os.File
	w     writerAt // f, but for tests
	h     hash.Hash
	off   int64      // bytes written and hashed
	saved int64      // off at the last checkpoint completed
	ckOff int64      // off at the last checkpoint started (saved if none runs)
	ck    chan error // the background checkpoint under way, or nil
	done  bool       // closed, cancelled or finished

	mf      *os.File // the mark file, open while receiving (nil if it could not be)
	markBuf []byte

	wdone    chan error // writeHash's write
	hashSnap []byte     // writeHash's hash state before the chunk
}

// writerAt is the seam through which Incoming writes its partial file.
type writerAt interface {
	WriteAt(p []byte, off int64) (int, error)
}

// Partial is a transfer that can resume: Pending lists them.
type Partial struct {
	From   string // the peer it came from, as given to Receive
	Offer  Offer  // what that peer offered
	Offset int64  // the last checkpoint (Resume may find less, or more from the mark)
}

// syncEvery is SyncEvery, but for tests.
var syncEvery int64 = SyncEvery

// stateVersion is the version of the state file's format.
const stateVersion = 1

// stateFile is the state file's JSON.
type stateFile struct {
	Version int    `json:"v"`
	From    string `json:"from"`
	ID      string `json:"id"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"` // "" until known (an offer with SumLater)
	MIME    string `json:"mime"`
	Name    string `json:"name"`
	Offset  int64  `json:"offset"`
	Hash    []byte `json:"hash"` // marshaled crypto/sha256 state at Offset
}

// Receive starts (or resumes) receiving offer from peer from into
// directory dir, which it creates (0700) if it does not exist. An offer
// of more than limit bytes is refused with ErrTooLarge before anything is
// created; an invalid id or negative size gives ErrBadOffer. If dir holds
// a partial file of the same offer (same peer, and wire.FileOffer.SameFile:
// same id and size, same SHA-256 where both name one), Receive resumes it
// and Offset tells where (the FILE_ACCEPT offset); a partial of the same
// peer and id but of another file is discarded; one of another peer under
// the same id and name gives ErrBusy.
func Receive(dir, from string, offer Offer, limit int64) (*Incoming, error) {
	if !wire.ValidFileID(offer.ID) || offer.Size < 0 {
		return nil, ErrBadOffer
	}
	if offer.Size > limit {
		return nil, ErrTooLarge
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	in := newIncoming(dir, from, offer)
	st, err := readState(in.state)
	var old Offer
	ok := err == nil
	if ok {
		old, ok = st.offer()
	}
	switch {
	case err == nil && st.From != from:
		return nil, ErrBusy
	case ok && old.SameFile(offer):
		if offer.SumLater { // the sum an earlier offer named still holds
			in.offer.SHA256, in.offer.SumLater = old.SHA256, old.SumLater
		}
		if err := in.open(st); err != nil {
			return nil, err
		}
		return in, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		// An unreadable state: start again.
	}
	if err := in.open(nil); err != nil {
		return nil, err
	}
	return in, nil
}

// Resume reopens the partial file of transfer fid from peer from in dir
// (after a restart: see Pending), from its last saved offset. It gives
// ErrNotFound if there is none.
func Resume(dir, from, fid string) (*Incoming, error) {
	ps, err := pending(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.st.From == from && p.st.ID == fid {
			in := newIncoming(dir, from, p.Offer)
			if in.state != p.path {
				continue // not a name Receive would have made
			}
			if err := in.open(p.st); err != nil {
				return nil, err
			}
			return in, nil
		}
	}
	return nil, ErrNotFound
}

// Pending lists the partial files in dir that can resume, in no
// particular order. State files it cannot read are skipped.
func Pending(dir string) ([]Partial, error) {
	ps, err := pending(dir)
	out := make([]Partial, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Partial)
	}
	return out, err
}

type pendingState struct {
	Partial
	st   *stateFile
	path string
}

func pending(dir string) ([]pendingState, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []pendingState
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".state") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		st, err := readState(path)
		if err != nil {
			continue
		}
		o, ok := st.offer()
		if !ok {
			continue
		}
		out = append(out, pendingState{Partial{st.From, o, st.Offset}, st, path})
	}
	return out, nil
}

func newIncoming(dir, from string, offer Offer) *Incoming {
	name := SanitizeName(offer.Name)
	tail := "." + offer.ID
	// Keep the hidden names within MaxNameLen too.
	base := "." + shorten(name, MaxNameLen-len(".")-len(tail)-len(".state")) + tail
	return &Incoming{
		dir:   dir,
		from:  from,
		offer: offer,
		name:  name,
		part:  filepath.Join(dir, base+".part"),
		state: filepath.Join(dir, base+".state"),
		mark:  filepath.Join(dir, base+".mark"),
	}
}

// open opens the partial file: from st's offset if st is not nil and the
// partial file holds that much, else from 0.
func (in *Incoming) open(st *stateFile) error {
	in.h = sha256.New()
	if st != nil {
		if err := in.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil || st.Offset < 0 || st.Offset > in.offer.Size {
			st = nil
			in.h = sha256.New()
		}
	}
	if st == nil {
		// The state exists before the partial file does, so a partial
		// file never lacks its state (which names its peer).
		if err := in.saveState(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(in.part, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	in.f, in.w = f, f
	if st != nil {
		fi, err := f.Stat()
		if err == nil && fi.Size() >= st.Offset {
			in.off, in.saved, in.ckOff = st.Offset, st.Offset, st.Offset
			in.fromMark(fi.Size())
		} else {
			in.h.Reset() // lost data the state vouched for: start over
		}
	}
	if err := f.Truncate(in.off); err != nil {
		f.Close()
		return err
	}
	// The mark is rewritten by every Write; one that cannot be opened
	// only costs a resume from the checkpoint.
	if mf, err := os.OpenFile(in.mark, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err == nil {
		in.mf = mf
	}
	switch {
	case st != nil && in.off == 0:
		return in.saveState()
	case st != nil && st.SHA256 != offerSum(in.offer):
		// This offer names the SHA-256 the saved one did not: keep it.
		return in.writeState(in.saved, st.Hash)
	}
	return nil
}

// Offer is the offer being received.
func (in *Incoming) Offer() Offer { return in.offer }

// Name is the sanitised name the file will have (before any suffix that
// Finish adds to avoid an existing name).
func (in *Incoming) Name() string { return in.name }

// Offset is how much of the file is written and hashed: where the next
// chunk must start, the offset of FILE_ACCEPT and of FILE_ACK.
func (in *Incoming) Offset() int64 { return in.off }

// Write writes the chunk p that starts at offset. Offset must be Offset()
// (else ErrOffset), and the chunk must not pass the offered size (else
// ErrSize); a refused chunk changes nothing. A full disk gives an error
// wrapping ErrNoSpace, after which the partial file and its state are
// still good for a later resume (Close, then Receive or Resume again).
func (in *Incoming) Write(offset int64, p []byte) error {
	if in.done {
		return ErrClosed
	}
	if offset != in.off {
		return fmt.Errorf("%w: chunk at %d, want %d", ErrOffset, offset, in.off)
	}
	if int64(len(p)) > in.offer.Size-in.off {
		return fmt.Errorf("%w: chunk of %d bytes at %d passes the size %d", ErrSize, len(p), offset, in.offer.Size)
	}
	if err := in.reap(false); err != nil {
		return noSpace(err)
	}
	if err := in.writeHash(p); err != nil {
		if isNoSpace(err) {
			in.checkpoint() // best effort: the last state stays valid if it fails
			return fmt.Errorf("%w: %w", ErrNoSpace, err)
		}
		return err
	}
	in.off += int64(len(p))
	in.writeMark()
	if in.off-in.ckOff >= syncEvery {
		// The previous checkpoint must be done before the next starts.
		if err := in.reap(true); err != nil {
			return noSpace(err)
		}
		if err := in.startCheckpoint(); err != nil {
			return err
		}
	}
	return nil
}

// parallelWrite is the chunk size from which writeHash writes and hashes
// at once.
const parallelWrite = 16 << 10

// writeHash writes p at in.off and adds it to the hash. A large chunk is
// written by another goroutine while this one hashes it (on a receiver
// the two are the costliest work per byte, and the rest of the pipeline
// runs on other goroutines). If the write fails, the hash is left as it
// was.
func (in *Incoming) writeHash(p []byte) error {
	if len(p) < parallelWrite {
		if _, err := in.w.WriteAt(p, in.off); err != nil {
			return err
		}
		in.h.Write(p)
		return nil
	}
	if in.wdone == nil {
		in.wdone = make(chan error, 1)
	}
	w, off := in.w, in.off
	go func() {
		_, err := w.WriteAt(p, off)
		in.wdone <- err
	}()
	var err error
	in.hashSnap, err = in.h.(encoding.BinaryAppender).AppendBinary(in.hashSnap[:0])
	if err == nil {
		in.h.Write(p)
	}
	werr := <-in.wdone
	switch {
	case err != nil:
		return err
	case werr != nil:
		in.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(in.hashSnap)
		return werr
	}
	return nil
}

// noSpace wraps err with ErrNoSpace if the disk is full.
func noSpace(err error) error {
	if err != nil && isNoSpace(err) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// startCheckpoint starts a background checkpoint at in.off: the partial
// file is fsynced (everything written so far), then the state file records
// in.off and the hash state taken now. reap collects it.
func (in *Incoming) startCheckpoint() error {
	hs, err := in.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	off, f, ck := in.off, in.f, make(chan error, 1)
	in.ck, in.ckOff = ck, off
	go func() {
		err := f.Sync()
		if err == nil {
			err = in.writeState(off, hs)
		}
		ck <- err
	}()
	return nil
}

// reap collects the background checkpoint, if one runs: it waits for it
// if wait, else only looks whether it ended. It returns its error (the
// last saved state then stays the one before it).
func (in *Incoming) reap(wait bool) error {
	if in.ck == nil {
		return nil
	}
	var err error
	if wait {
		err = <-in.ck
	} else {
		select {
		case err = <-in.ck:
		default:
			return nil
		}
	}
	in.ck = nil
	if err != nil {
		in.ckOff = in.saved
		return err
	}
	in.saved = in.ckOff
	return nil
}

// checkpoint makes the partial file durable up to in.off, then records
// in.off and the hash state in the state file, now (after any background
// checkpoint ended).
func (in *Incoming) checkpoint() error {
	in.reap(true) // this checkpoint supersedes it
	if in.off == in.saved {
		return nil
	}
	if err := in.f.Sync(); err != nil {
		return err
	}
	return in.saveState()
}

// saveState atomically replaces the state file with in.off and the hash
// state (the data before in.off must already be durable).
func (in *Incoming) saveState() error {
	hs, err := in.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	if err := in.writeState(in.off, hs); err != nil {
		return err
	}
	in.saved, in.ckOff = in.off, in.off
	return nil
}

// writeState atomically replaces the state file with offset off and hash
// state hs. It reads only what never changes after Receive (but for
// SetSum, which waits for the background checkpoint), so a background
// checkpoint may call it.
func (in *Incoming) writeState(off int64, hs []byte) error {
	st := stateFile{
		Version: stateVersion,
		From:    in.from,
		ID:      in.offer.ID,
		Size:    in.offer.Size,
		SHA256:  offerSum(in.offer),
		MIME:    in.offer.MIME,
		Name:    in.offer.Name,
		Offset:  off,
		Hash:    hs,
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := in.state + ".tmp"
	if err := writeSync(tmp, b); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, in.state); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(in.dir)
	return nil
}

func writeSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes renames in dir durable, where the platform can.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func readState(path string) (*stateFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("transfer: state file %s: version %d", path, st.Version)
	}
	return &st, nil
}

// offerSum is the state file's SHA256 field of offer o.
func offerSum(o Offer) string {
	if o.SumLater {
		return ""
	}
	return hex.EncodeToString(o.SHA256[:])
}

// offer rebuilds the offer a state file records.
func (st *stateFile) offer() (Offer, bool) {
	var o Offer
	if !wire.ValidFileID(st.ID) || st.Size < 0 {
		return o, false
	}
	o = Offer{ID: st.ID, Size: st.Size, MIME: st.MIME, Name: st.Name, SumLater: st.SHA256 == ""}
	if !o.SumLater {
		sum, err := hex.DecodeString(st.SHA256)
		if err != nil || len(sum) != len(o.SHA256) {
			return o, false
		}
		copy(o.SHA256[:], sum)
	}
	return o, true
}

// Close stops receiving for now: it saves the state (data first) and
// closes the partial file, which stays for a later Receive or Resume.
func (in *Incoming) Close() error {
	if in.done {
		return nil
	}
	in.done = true
	err := in.checkpoint()
	if cerr := in.f.Close(); err == nil {
		err = cerr
	}
	in.closeMark()
	return err
}

// Cancel gives the transfer up: it removes the partial file and its
// state. It may follow Close.
func (in *Incoming) Cancel() error {
	in.reap(true)
	if !in.done {
		in.f.Close()
	}
	in.closeMark()
	in.done = true
	return in.remove()
}

func (in *Incoming) remove() error {
	err := os.Remove(in.part)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if serr := os.Remove(in.state); serr != nil && !errors.Is(serr, fs.ErrNotExist) && err == nil {
		err = serr
	}
	os.Remove(in.state + ".tmp") // left by a kill during saveState
	os.Remove(in.mark)
	return err
}

// SetSum records the SHA-256 that FILE_END named, for Finish. It gives
// ErrHash (and changes nothing) if the offer named another.
func (in *Incoming) SetSum(sum [32]byte) error {
	if !in.offer.SumLater && in.offer.SHA256 != sum {
		return ErrHash
	}
	in.reap(true) // a background checkpoint reads in.offer
	in.offer.SHA256, in.offer.SumLater = sum, false
	return nil
}

// Finish completes the transfer once every byte arrived: it checks the
// size (ErrSize, the partial file kept) and the SHA-256 that the offer or
// SetSum named (ErrHash, the partial file removed; also when neither
// named one), then moves the file into the directory under its
// sanitised name without ever replacing a file: if the name is taken, it
// uses "name (1).ext", "name (2).ext" and so on (each name is claimed
// atomically, so concurrent Finishes cannot pick the same one). It returns
// the file's path and removes the state file.
func (in *Incoming) Finish() (path string, err error) {
	if in.done {
		return "", ErrClosed
	}
	in.reap(true) // the final fsync below makes everything durable anyway
	if in.off != in.offer.Size {
		return "", fmt.Errorf("%w: have %d of %d bytes", ErrSize, in.off, in.offer.Size)
	}
	var sum [sha256.Size]byte
	if in.offer.SumLater || !bytes.Equal(in.h.Sum(sum[:0]), in.offer.SHA256[:]) {
		in.done = true
		in.f.Close()
		in.closeMark()
		in.remove()
		return "", ErrHash
	}
	if err := in.f.Sync(); err != nil {
		return "", err
	}
	in.done = true
	in.closeMark()
	if err := in.f.Close(); err != nil {
		return "", err
	}
	path, err = place(in.part, in.dir, in.name)
	if err != nil {
		return "", err // the partial and its state stay: Resume, then Finish
	}
	os.Remove(in.state)
	os.Remove(in.mark)
	syncDir(in.dir)
	return path, nil
}

// maxSuffix bounds the " (n)" suffixes Finish tries.
const maxSuffix = 10000

// place moves the file at src to dir/name, or the first of dir/"name (n)"
// that does not exist, without replacing anything.
func place(src, dir, name string) (string, error) {
	for i := 0; i <= maxSuffix; i++ {
		dst := filepath.Join(dir, suffixed(name, i))
		err := os.Link(src, dst)
		if err == nil {
			os.Remove(src)
			return dst, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		// No hard links here (FAT, some Android storage): claim the name
		// with an exclusive create, then rename over the placeholder.
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		f.Close()
		if err := os.Rename(src, dst); err != nil {
			os.Remove(dst)
			return "", err
		}
		return dst, nil
	}
	return "", fmt.Errorf("transfer: %d files named like %q in %s", maxSuffix, name, dir)
}

// suffixed is name with " (i)" before its extension (name itself for 0),
// still at most MaxNameLen bytes.
func suffixed(name string, i int) string {
	if i == 0 {
		return name
	}
	stem, ext := splitExt(name)
	suf := " (" + strconv.Itoa(i) + ")"
	return shorten(stem, MaxNameLen-len(suf)-len(ext)) + suf + ext
}
