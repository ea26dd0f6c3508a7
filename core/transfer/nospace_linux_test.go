package transfer

import (
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const tmpfsEnv = "PEERCHAT_TRANSFER_TMPFS"

// TestNoSpaceTmpfs fills a real 1 MiB tmpfs mid-transfer. As root it runs
// itself again in a private mount namespace (unshare -m) with the tmpfs
// mounted on a temporary directory; elsewhere it is skipped (TestNoSpaceSeam
// covers the logic through an injected error).
func TestNoSpaceTmpfs(t *testing.T) {
	if dir := os.Getenv(tmpfsEnv); dir != "" {
		fillTmpfs(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private tmpfs")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare")
	}
	mnt := t.TempDir()
	script := `mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs "$1" || exit 77
exec "$2" -test.run='^TestNoSpaceTmpfs$' -test.count=1 -test.v`
	cmd := exec.Command(unshare, "-m", "sh", "-c", script, "sh", mnt, os.Args[0])
	cmd.Env = append(os.Environ(), tmpfsEnv+"="+mnt)
	out, err := cmd.CombinedOutput()
	if !strings.Contains(string(out), "=== RUN") {
		t.Skipf("cannot mount a private tmpfs: %v\n%s", err, out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNoSpaceTmpfs") {
		t.Fatalf("in the tmpfs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func fillTmpfs(t *testing.T, dir string) {
	setSyncEvery(t, 64<<10)
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 512<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	data := randomData(768<<10, 12)
	offer := offerOf("full", "full.bin", data)
	in, err := Receive(dir, "bob", offer, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for off := 0; off < len(data) && werr == nil; off += ChunkSize {
		werr = in.Write(int64(off), data[off:min(off+ChunkSize, len(data))])
	}
	if !errors.Is(werr, ErrNoSpace) {
		t.Fatalf("filling the disk gave %v, want ErrNoSpace", werr)
	}
	t.Logf("full at %d: %v", in.Offset(), werr)
	written := in.Offset()
	saved := checkState(t, in)
	in.Close() // may fail to save: the last state stays valid
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	in, err = Resume(dir, "bob", "full")
	if err != nil {
		t.Fatal(err)
	}
	if in.Offset() < saved || in.Offset() > written {
		t.Fatalf("resumed at %d, saved %d, written %d", in.Offset(), saved, written)
	}
	send(t, in, data, int(in.Offset()), len(data), ChunkSize)
	path, err := in.Finish()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if sha256.Sum256(got) != offer.SHA256 {
		t.Fatal("SHA-256 differs")
	}
}
