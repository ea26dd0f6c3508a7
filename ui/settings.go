package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// settingsFile is the name of the settings file in Platform.DataDir.
const settingsFile = "settings.json"

// Settings is what the UI remembers between runs.
type Settings struct {
	Nick   string `json:"nick,omitempty"`
	Server string `json:"server,omitempty"` // the last server connected to, host:port
	// MuteNotifications turns system notifications off (they are on by
	// default).
	MuteNotifications bool `json:"muteNotifications,omitempty"`
}

// LoadSettings reads the settings in dir. A missing file gives zero Settings
// and no error.
func LoadSettings(dir string) (Settings, error) {
	var s Settings
	b, err := os.ReadFile(filepath.Join(dir, settingsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("load settings: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Settings{}, fmt.Errorf("load settings %s: %w", filepath.Join(dir, settingsFile), err)
	}
	return s, nil
}

// SaveSettings writes s to dir, creating dir if needed, atomically.
func SaveSettings(dir string, s Settings) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	tmp, err := os.CreateTemp(dir, settingsFile+".*")
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save settings: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, settingsFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}
