package netbackend

import (
	"os"
	"path/filepath"
	"runtime"

	"peerchat/core/client"
	"peerchat/ui/session"
)

// conn is the session of a Backend: the client core, whose file
// transfers (session.Files) are passed on here, the one place of the app
// that calls them.
type conn struct {
	*client.Client
}

var _ session.Files = conn{}

// SendFile is client.Client.SendFile.
func (c conn) SendFile(nick, path string) (string, error) { return c.Client.SendFile(nick, path) }

// AcceptFile is client.Client.AcceptFile.
func (c conn) AcceptFile(nick, id string) error { return c.Client.AcceptFile(nick, id) }

// DeclineFile is client.Client.DeclineFile.
func (c conn) DeclineFile(nick, id string) error { return c.Client.DeclineFile(nick, id) }

// CancelFile is client.Client.CancelFile.
func (c conn) CancelFile(nick, id string) error { return c.Client.CancelFile(nick, id) }

// Files is client.Client.Files.
func (c conn) Files() []client.FileInfo { return c.Client.Files() }

// BroadcastImage is client.Client.BroadcastImage.
func (c conn) BroadcastImage(path string) (string, error) { return c.Client.BroadcastImage(path) }

// fileConfig sets the client core's file settings from cfg
// (client.Config.Downloads, AutoAcceptBelow, FileState).
func (b *Backend) fileConfig(cc *client.Config) {
	cc.Downloads = b.cfg.Downloads
	if b.cfg.AutoAcceptBelow != nil {
		cc.AutoAcceptBelow = b.cfg.AutoAcceptBelow()
	}
	if b.cfg.DataDir != "" {
		cc.FileState = filepath.Join(b.cfg.DataDir, FileStateDir)
	}
}

// FileStateDir is the subfolder of Config.DataDir where the client core
// records outgoing transfers, so that they resume after a restart
// (client.Config.FileState).
const FileStateDir = "transfers"

// DownloadsDir is where received files go (Config.Downloads), the one
// place that decides it: on desktops the user's Downloads folder
// (home/Downloads) when it exists; otherwise, and always on Android
// (whose app cannot write the shared folder without the media APIs),
// the folder Downloads of the app's data directory dataDir. It creates
// nothing: the client core makes the folder when a file arrives.
func DownloadsDir(dataDir string) string {
	if runtime.GOOS != "android" && runtime.GOOS != "ios" {
		if home, err := os.UserHomeDir(); err == nil {
			d := filepath.Join(home, "Downloads")
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				return d
			}
		}
	}
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "Downloads")
}
