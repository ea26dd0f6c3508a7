package wire

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The frame examples in docs/PROTOCOL.md must be what the codec produces.
func TestProtocolDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("[|`]([0-9]+␠+[^|`\n]*)[|`]")
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(doc), -1) {
		frame := strings.ReplaceAll(m[1], "␠", " ")
		if len(frame) < HeaderLen {
			t.Errorf("example %q is shorter than a header", m[1])
			continue
		}
		payload := frame[HeaderLen:]
		if got := string(AppendFrame(nil, []byte(payload))); got != frame {
			t.Errorf("docs show %q, the codec frames it as %q", frame, got)
		}
		if payload != "" && payload != "hi" {
			if _, err := Parse([]byte(payload)); err != nil {
				t.Errorf("docs example %q does not parse: %v", payload, err)
			}
		}
		n++
	}
	if n < 10 {
		t.Fatalf("found only %d frame examples in docs/PROTOCOL.md", n)
	}
}
