package identity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func seed(start byte) []byte {
	s := make([]byte, SeedSize)
	for i := range s {
		s[i] = start + byte(i)
	}
	return s
}

func mustSeed(t testing.TB, start byte) *Identity {
	t.Helper()
	id, err := FromSeed(seed(start))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Frozen vectors: changing key derivation, the text form or the safety
// number algorithm breaks every user's pins and verified contacts.
const (
	vecPublicA = "pc1.bLm871O0b_AhujpFqVWBRnnjxGuraKR1jenB51a_Kz8cA3TFwuSgAGcqwukdPwxnpKgg5PnIzXNJRzTJID-R1A"
	vecPublicB = "pc1.J1sAG6Ho2nuIrrA4rglZNC1LBNRCRQwrGi8CDB1xzEY8-5sBOwSI8E8H_f0G7pPlaYGHdWEX7hIYU60QGu7T_A"
	vecSafety  = "67954 63948 25785 77497 40337 65029 74355 66030 49324 66580 88693 27593"
)

func TestVectors(t *testing.T) {
	a, b := mustSeed(t, 0), mustSeed(t, 32)
	if got := a.Public().String(); got != vecPublicA {
		t.Errorf("public A = %s, want %s", got, vecPublicA)
	}
	if got := b.Public().String(); got != vecPublicB {
		t.Errorf("public B = %s, want %s", got, vecPublicB)
	}
	if got := SafetyNumber(a.Public(), b.Public()); got != vecSafety {
		t.Errorf("safety number = %s, want %s", got, vecSafety)
	}
}

func TestSafetyNumber(t *testing.T) {
	a, b, c := mustSeed(t, 0).Public(), mustSeed(t, 32).Public(), mustSeed(t, 64).Public()
	ab, ba := SafetyNumber(a, b), SafetyNumber(b, a)
	if ab != ba {
		t.Fatalf("not symmetric: %s vs %s", ab, ba)
	}
	if len(ab) != 71 || strings.Count(ab, " ") != 11 {
		t.Fatalf("format: %q", ab)
	}
	for i, g := range strings.Split(ab, " ") {
		if len(g) != 5 || strings.Trim(g, "0123456789") != "" {
			t.Fatalf("group %d = %q", i, g)
		}
	}
	if ac := SafetyNumber(a, c); ac == ab {
		t.Fatal("a different key gives the same number")
	}
	// Each half is one side's: a shares 30 digits between its two numbers.
	ha := safetyHalf(a.Bytes(), nil)
	if !strings.Contains(strings.ReplaceAll(ab, " ", ""), ha) || !strings.Contains(strings.ReplaceAll(SafetyNumber(a, c), " ", ""), ha) {
		t.Fatal("a's half is not in both numbers")
	}
}

func TestDerivation(t *testing.T) {
	a := mustSeed(t, 0)
	a2 := mustSeed(t, 0)
	if a.Public() != a2.Public() {
		t.Fatal("FromSeed is not deterministic")
	}
	p := a.Public()
	if bytes.Equal(p.DHKey(), p.SigningKey()) {
		t.Fatal("the two keys are equal")
	}
	msg := []byte("BCAST hello")
	sig := a.Sign(msg)
	if !p.Verify(msg, sig) {
		t.Fatal("signature does not verify")
	}
	if mustSeed(t, 1).Public().Verify(msg, sig) || p.Verify([]byte("BCAST hellp"), sig) || (PublicIdentity{}).Verify(msg, sig) {
		t.Fatal("a wrong key or message verifies")
	}
	if g, err := Generate(nil); err != nil || g.Public() == p || g.Public().IsZero() {
		t.Fatalf("Generate: %v", err)
	}
	if _, err := FromSeed(make([]byte, 31)); err == nil {
		t.Fatal("31-byte seed accepted")
	}
}

func TestParsePublic(t *testing.T) {
	p := mustSeed(t, 0).Public()
	s := p.String()
	if len(s) != TextLen {
		t.Fatalf("len %d", len(s))
	}
	q, err := ParsePublic(s)
	if err != nil || q != p {
		t.Fatalf("round trip: %v", err)
	}
	var u PublicIdentity
	if err := u.UnmarshalText([]byte(s)); err != nil || u != p {
		t.Fatalf("UnmarshalText: %v", err)
	}
	body := s[len(TextPrefix):]
	raw := p.Bytes()
	enc := func(b []byte) string { return TextPrefix + strictB64.EncodeToString(b) }
	topBit := append([]byte(nil), raw...)
	topBit[31] |= 0x80
	nonCanon := append([]byte(nil), raw...)
	copy(nonCanon, fieldP[:]) // u = p, which is 0 mod p
	lowOrder := append(make([]byte, 32), raw[32:]...)
	// Flip the unused low bits of the last base64 character (64 bytes =
	// 21 groups + 1 byte, so the last character carries 4 unused bits).
	last := body[len(body)-1]
	alt := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last) ^ 1
	unusedBits := TextPrefix + body[:len(body)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[alt])
	bad := map[string]string{
		"empty":        "",
		"no prefix":    body,
		"old prefix":   "pc0." + body,
		"upper prefix": "PC1." + body,
		"short":        s[:len(s)-1],
		"long":         s + "A",
		"padding":      s[:len(s)-2] + "==",
		"std alphabet": TextPrefix + strings.NewReplacer("-", "+", "_", "/").Replace(body) + strings.Repeat("", 0),
		"space":        " " + s[1:],
		"unused bits":  unusedBits,
		"top bit":      enc(topBit),
		"non-canon":    enc(nonCanon),
		"low order":    enc(lowOrder),
	}
	if !strings.ContainsAny(body, "-_") {
		delete(bad, "std alphabet")
	}
	for name, in := range bad {
		if _, err := ParsePublic(in); !errors.Is(err, ErrBadPublic) {
			t.Errorf("%s: %q: err = %v, want ErrBadPublic", name, in, err)
		}
	}
	if _, err := (PublicIdentity{}).MarshalText(); err == nil {
		t.Error("zero identity marshalled")
	}
}

func FuzzParsePublic(f *testing.F) {
	f.Add(mustSeed(f, 0).Public().String())
	f.Add(mustSeed(f, 32).Public().String())
	f.Add("pc1." + strings.Repeat("A", 86))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePublic(s)
		if err != nil {
			if !errors.Is(err, ErrBadPublic) {
				t.Fatalf("error %v does not wrap ErrBadPublic", err)
			}
			return
		}
		if p.IsZero() || p.String() != s {
			t.Fatalf("accepted %q but it prints as %q", s, p.String())
		}
		if q, err := FromBytes(p.Bytes()); err != nil || q != p {
			t.Fatalf("binary round trip: %v", err)
		}
	})
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Load(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of nothing: %v", err)
	}
	id, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", st.Mode().Perm())
	}
	again, err := LoadOrCreate(dir)
	if err != nil || again.Public() != id.Public() {
		t.Fatalf("reload: %v, same=%v", err, err == nil && again.Public() == id.Public())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestLoadOrCreateRace(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	ids := make([]*Identity, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = LoadOrCreate(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i].Public() != ids[0].Public() {
			t.Fatalf("process %d made another identity", i)
		}
	}
}

func TestLoadPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	for _, mode := range []fs.FileMode{0o640, 0o604, 0o660, 0o610} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreate(dir)
		var pe *PermissionError
		if !errors.As(err, &pe) || !errors.Is(err, ErrInsecurePermissions) || pe.Path != path || pe.Mode.Perm() != mode {
			t.Fatalf("mode %o: err = %v", mode, err)
		}
	}
	os.Chmod(path, 0o400)
	if _, err := Load(dir); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}
}

func TestLoadBadFile(t *testing.T) {
	good := mustSeed(t, 0)
	other := mustSeed(t, 32)
	sd := strictB64.EncodeToString(seed(0))
	cases := map[string]string{
		"not json":        "seed",
		"version 2":       `{"version":2,"seed":"` + sd + `","public":"` + good.Public().String() + `"}`,
		"wrong public":    `{"version":1,"seed":"` + sd + `","public":"` + other.Public().String() + `"}`,
		"short seed":      `{"version":1,"seed":"AAAA","public":"` + good.Public().String() + `"}`,
		"unknown field":   `{"version":1,"seed":"` + sd + `","public":"` + good.Public().String() + `","x":1}`,
		"seed not base64": `{"version":1,"seed":"` + sd[:40] + `!!","public":"` + good.Public().String() + `"}`,
	}
	for name, content := range cases {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreate(dir); !errors.Is(err, ErrBadFile) {
			t.Errorf("%s: err = %v, want ErrBadFile", name, err)
		}
	}
	// The good file, written by hand, loads.
	dir := t.TempDir()
	content := `{"version":1,"seed":"` + sd + `","public":"` + good.Public().String() + `"}`
	os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o600)
	if id, err := Load(dir); err != nil || id.Public() != good.Public() {
		t.Fatalf("hand-written file: %v", err)
	}
}

func TestPins(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	s, err := OpenPins(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustSeed(t, 0).Public(), mustSeed(t, 32).Public()
	t0 := time.Date(2026, 11, 30, 21, 0, 0, 500, time.UTC)
	r, p, err := s.Observe("bob", a, t0)
	if err != nil || r != New || p.Key != a || p.Verified || !p.FirstSeen.Equal(t0.Truncate(time.Second)) {
		t.Fatalf("first: %v %v %+v", r, err, p)
	}
	if r, _, _ := s.Observe("bob", a, t0.Add(time.Hour)); r != Same {
		t.Fatalf("second: %v", r)
	}
	if err := s.SetVerified("bob", b, true); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("verify with the wrong key: %v", err)
	}
	if err := s.SetVerified("bob", a, true); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(filepath.Join(dir, PinsFileName))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("pins file: %v %v", st.Mode(), err)
		}
	}
	// Persisted: a new store sees the verified pin; a changed key is
	// Changed, returns the old (verified) pin and does not replace it.
	s2, err := OpenPins(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, p, err = s2.Observe("bob", b, t0.Add(2*time.Hour))
	if err != nil || r != Changed || p.Key != a || !p.Verified {
		t.Fatalf("changed: %v %v %+v", r, err, p)
	}
	if got, _ := s2.Get("bob"); got.Key != a {
		t.Fatal("Changed replaced the pin")
	}
	if err := s2.Accept("bob", b, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s3, _ := OpenPins(dir)
	if got, ok := s3.Get("bob"); !ok || got.Key != b || got.Verified || !got.FirstSeen.Equal(t0.Add(3*time.Hour).Truncate(time.Second)) {
		t.Fatalf("after accept: %+v", got)
	}
	if r, _, _ := s3.Observe("bob", b, t0); r != Same {
		t.Fatalf("after accept: %v", r)
	}
	if _, _, err := s3.Observe("carol", a, t0); err != nil {
		t.Fatal(err)
	}
	if got := s3.Peers(); len(got) != 2 || got[0] != "bob" || got[1] != "carol" {
		t.Fatalf("peers %v", got)
	}
	if err := s3.Forget("bob"); err != nil {
		t.Fatal(err)
	}
	s4, _ := OpenPins(dir)
	if _, ok := s4.Get("bob"); ok {
		t.Fatal("forgotten pin is back")
	}
	if _, _, err := s4.Observe("", a, t0); !errors.Is(err, ErrBadPeer) {
		t.Fatalf("empty peer: %v", err)
	}
	if _, _, err := s4.Observe("x", PublicIdentity{}, t0); err == nil {
		t.Fatal("zero key pinned")
	}
}

func TestPinsBadFile(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":   "{",
		"version":   `{"version":9,"pins":{}}`,
		"bad key":   `{"version":1,"pins":{"bob":{"key":"pc1.AAAA","verified":false,"first_seen":"2026-11-30T21:00:00Z"}}}`,
		"empty key": `{"version":1,"pins":{"bob":{"verified":false,"first_seen":"2026-11-30T21:00:00Z"}}}`,
		"unknown":   `{"version":1,"pins":{},"x":1}`,
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, PinsFileName), []byte(content), 0o600)
		if _, err := OpenPins(dir); !errors.Is(err, ErrBadFile) && !errors.Is(err, ErrBadPublic) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if runtime.GOOS != "windows" {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, PinsFileName), []byte(`{"version":1,"pins":{}}`), 0o644)
		if _, err := OpenPins(dir); !errors.Is(err, ErrInsecurePermissions) {
			t.Errorf("mode 0644: %v", err)
		}
	}
}

// TestSafetyLibsignal checks the algorithm against libsignal's published
// vector (NumericFingerprintGeneratorTest: 33-byte keys, phone numbers as
// stable ids, 5200 iterations).
func TestSafetyLibsignal(t *testing.T) {
	alice, _ := hex.DecodeString("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868")
	bob, _ := hex.DecodeString("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b")
	x := safetyHalf(alice, []byte("+14152222222"))
	y := safetyHalf(bob, []byte("+14153333333"))
	if y < x {
		x, y = y, x
	}
	if got, want := x+y, "300354477692869396892869876765458257569162576843440918079131"; got != want {
		t.Fatalf("got %s, want libsignal's %s", got, want)
	}
}

func BenchmarkSafetyNumber(b *testing.B) {
	x, y := mustSeed(b, 0).Public(), mustSeed(b, 32).Public()
	for range b.N {
		SafetyNumber(x, y)
	}
}
