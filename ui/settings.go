package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
	// MutedChats lists the threads (model.Key, model.Everyone for the
	// feed) whose notifications are off, sorted.
	MutedChats []string `json:"mutedChats,omitempty"`
	// Theme chooses light or dark; the zero value follows the system.
	Theme ThemeChoice `json:"theme,omitempty"`
	// TextSize scales the text; the zero value is the normal size.
	TextSize TextSize `json:"textSize,omitempty"`
	// AutoConnect connects to Server as Nick when the App starts, without
	// the connect screen, when both are known and the program did not ask
	// for anything else (Config.Nick, Config.Server, Config.Host).
	AutoConnect bool `json:"autoConnect,omitempty"`
	// RequireEncryption refuses private chats that cannot be end-to-end
	// encrypted (a base peer, a base server): the Backend reads it at each
	// connect (Config.SettingsChanged).
	RequireEncryption bool `json:"requireEncryption,omitempty"`
	// AskFilesAbove is the size in bytes above which a file offered by a
	// verified peer waits for Accept; smaller ones arrive by themselves
	// (from a peer not verified, every file waits). 0 means
	// DefaultAskAbove; negative means always ask. The Backend reads it at
	// each connect (AutoAcceptBelow, through Config.SettingsChanged).
	AskFilesAbove int64 `json:"askFilesAbove,omitempty"`
	// ReadReceipts sends read receipts, and shows those of peers who
	// turned them on too (client.Config.ReadReceipts); off by default.
	// The Backend reads it at each connect (Config.SettingsChanged), so a
	// change applies from the next connection.
	ReadReceipts bool `json:"readReceipts,omitempty"`
}

// AutoAcceptBelow is the largest file a verified peer's offer of which is
// accepted without asking (client.Config.AutoAcceptBelow): AskFilesAbove,
// its default, or 0 (always ask).
func (s *Settings) AutoAcceptBelow() int64 {
	switch {
	case s.AskFilesAbove == 0:
		return DefaultAskAbove
	case s.AskFilesAbove < 0:
		return 0
	}
	return s.AskFilesAbove
}

// Muted reports whether the notifications of thread are off.
func (s *Settings) Muted(thread string) bool {
	_, found := slices.BinarySearch(s.MutedChats, thread)
	return found
}

// SetMuted turns the notifications of thread off (true) or on.
func (s *Settings) SetMuted(thread string, muted bool) {
	i, found := slices.BinarySearch(s.MutedChats, thread)
	switch {
	case muted && !found:
		s.MutedChats = slices.Insert(s.MutedChats, i, thread)
	case !muted && found:
		s.MutedChats = slices.Delete(s.MutedChats, i, i+1)
	}
}

// ThemeChoice is the theme the user chose.
type ThemeChoice string

// Themes.
const (
	ThemeSystem ThemeChoice = "" // as the system prefers (Env.Dark)
	ThemeLight  ThemeChoice = "light"
	ThemeDark   ThemeChoice = "dark"
)

// Dark reports whether the theme is dark when the system prefers dark
// (systemDark) or not.
func (t ThemeChoice) Dark(systemDark bool) bool {
	switch t {
	case ThemeLight:
		return false
	case ThemeDark:
		return true
	}
	return systemDark
}

// TextSize is the size of text the user chose.
type TextSize string

// Text sizes.
const (
	TextNormal TextSize = ""
	TextSmall  TextSize = "small"
	TextLarge  TextSize = "large"
)

// Scale returns the factor by which the size multiplies the theme's text
// sizes: 1 for TextNormal and any value this version does not know.
func (t TextSize) Scale() float32 {
	switch t {
	case TextSmall:
		return 0.875
	case TextLarge:
		return 1.2
	}
	return 1
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
