package wire

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Nickname errors, wrapped by the error ValidateNick returns.
var (
	ErrNickEmpty   = errors.New("nickname is empty")
	ErrNickLong    = fmt.Errorf("nickname is longer than %d characters", MaxNickLen)
	ErrNickUTF8    = errors.New("nickname is not valid UTF-8")
	ErrNickSpace   = errors.New("nickname contains whitespace")
	ErrNickQuote   = errors.New(`nickname contains '"'`)
	ErrNickControl = errors.New("nickname contains a control or format character")
)

// ValidateNick reports whether nick obeys the protocol's nickname rules:
// 1 to MaxNickLen characters of valid UTF-8, no whitespace, no '"', no control
// or format characters. The error's text is fit for "ERROR <reason>".
func ValidateNick(nick string) error {
	if nick == "" {
		return ErrNickEmpty
	}
	if !utf8.ValidString(nick) {
		return ErrNickUTF8
	}
	if utf8.RuneCountInString(nick) > MaxNickLen {
		return ErrNickLong
	}
	for _, r := range nick {
		switch {
		case unicode.IsSpace(r):
			return ErrNickSpace
		case r == '"':
			return ErrNickQuote
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			return ErrNickControl
		}
	}
	return nil
}

// FoldNick returns the key under which nick is unique on a server: its NFC
// form after Unicode case folding, so "Ana" and "ana" share a key.
// Safe for concurrent use.
func FoldNick(nick string) string {
	// cases.Caser is stateful, so each call takes its own.
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(nick)))
}
