package fonts

import "testing"

func TestCollection(t *testing.T) {
	faces := Collection()
	var emoji bool
	for _, f := range faces {
		if f.Font.Typeface == "Noto Color Emoji" {
			emoji = true
		}
	}
	if !emoji {
		t.Fatalf("no Noto Color Emoji face among %d faces", len(faces))
	}
}
