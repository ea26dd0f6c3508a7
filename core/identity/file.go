package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// FileName is the name of the identity file in a data directory.
const FileName = "identity.json"

// FileVersion is the version of the identity file format this package writes
// and reads.
const FileVersion = 1

// ErrInsecurePermissions is wrapped by a *PermissionError.
var ErrInsecurePermissions = errors.New("identity: key file is accessible by other users")

// ErrBadFile is wrapped by the error Load returns for a file it cannot parse
// (damaged, hand-edited, or of another version).
var ErrBadFile = errors.New("identity: bad identity file")

// PermissionError reports a secret file whose mode lets group or others
// access it. The file is not used.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("identity: %s has mode %04o, readable by other users; run: chmod 600 %q", e.Path, e.Mode.Perm(), e.Path)
}

// Unwrap returns ErrInsecurePermissions.
func (e *PermissionError) Unwrap() error { return ErrInsecurePermissions }

type fileJSON struct {
	Version int    `json:"version"`
	Seed    string `json:"seed"`
	Public  string `json:"public"`
}

// LoadOrCreate returns the identity kept in dir/identity.json, making a new
// one (and dir, mode 0700) when the file does not exist. Two processes
// calling it at once on a fresh dir end with the same identity: the file is
// published with a link that fails when it exists. Errors: a
// *PermissionError, an error wrapping ErrBadFile, or an I/O error.
func LoadOrCreate(dir string) (*Identity, error) {
	id, err := Load(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	id, err = Generate(nil)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(fileJSON{FileVersion, base64.RawURLEncoding.EncodeToString(id.seed[:]), id.pub.String()})
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(dir, FileName), append(data, '\n'), false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Load(dir) // another process won the race
		}
		return nil, err
	}
	return id, nil
}

// Load returns the identity kept in dir/identity.json. It never creates one:
// a missing file gives an error wrapping fs.ErrNotExist. Other errors are as
// for LoadOrCreate.
func Load(dir string) (*Identity, error) {
	data, err := readSecret(filepath.Join(dir, FileName))
	if err != nil {
		return nil, err
	}
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	if f.Version != FileVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadFile, f.Version, FileVersion)
	}
	seed, err := base64.RawURLEncoding.Strict().DecodeString(f.Seed)
	if err != nil || len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: bad seed", ErrBadFile)
	}
	id, err := FromSeed(seed)
	if err != nil {
		return nil, err
	}
	if f.Public != id.pub.String() {
		return nil, fmt.Errorf("%w: public key does not match the seed", ErrBadFile)
	}
	return id, nil
}

// readSecret reads a file that must be a regular file not accessible by
// group or others (on Unix).
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadFile, path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, &PermissionError{path, st.Mode()}
	}
	const max = 1 << 20
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("%w: %s is too large", ErrBadFile, path)
	}
	return data, nil
}

// writeAtomic writes data to path with mode 0600: into a temporary file in
// the same directory, synced, then published with a link (replace false:
// fails with fs.ErrExist when path exists) or a rename (replace true), and
// the directory synced.
func writeAtomic(path string, data []byte, replace bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		os.Remove(name) // after a rename, name is gone; after a link, drop it
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return err
	}
	if replace {
		err = os.Rename(name, path)
	} else if err = os.Link(name, path); err != nil && !errors.Is(err, fs.ErrExist) {
		// No hard links on this file system: check, then rename (racy only
		// against another process creating the file in between).
		if _, serr := os.Lstat(path); serr == nil {
			return &os.LinkError{Op: "link", Old: name, New: path, Err: fs.ErrExist}
		}
		err = os.Rename(name, path)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
