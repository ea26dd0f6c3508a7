package transfer

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"My Photo (1).JPG", "My Photo (1).JPG"},
		{"", "file"},
		{".", "file"},
		{"..", "file"},
		{"...", "file"},
		{" . ", "file"},
		{"/", "_"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{`..\..\Windows\System32\drivers`, "_.._Windows_System32_drivers"},
		{"/etc/passwd", "_etc_passwd"},
		{"a/../b", "a_.._b"},
		{".bashrc", "bashrc"},
		{"...hidden.txt", "hidden.txt"},
		{"name. . .", "name"},
		{"  spaced  ", "spaced"},
		{"trailing.", "trailing"},
		{"a:b*c?d<e>f|g\"h.txt", "a_b_c_d_e_f_g_h.txt"},
		{"nul\x00byte", "nulbyte"},
		{"line\nbreak\r.txt", "linebreak.txt"},
		{"tab\there", "tabhere"},
		{"del\x7f.txt", "del.txt"},
		{"c1\u0085ctl", "c1ctl"},
		{"evil\u202egpj.exe", "evilgpj.exe"},
		{"zero\u200bwidth", "zerowidth"},
		{"sep\u2028arator", "separator"},
		{"bom\ufeff.txt", "bom.txt"},
		{"\xff\xfe.png", "__.png"},
		{"CON", "_CON"},
		{"con", "_con"},
		{"con.txt", "_con.txt"},
		{"CON .txt", "_CON .txt"},
		{"Prn.tar.gz", "_Prn.tar.gz"},
		{"aux", "_aux"},
		{"NUL.", "_NUL"},
		{"COM1", "_COM1"},
		{"com9.log", "_com9.log"},
		{"LPT1", "_LPT1"},
		{"lpt5.txt", "_lpt5.txt"},
		{"COM¹", "_COM¹"},
		{"lpt³.x", "_lpt³.x"},
		{"CONIN$", "_CONIN$"},
		{"conout$.txt", "_conout$.txt"},
		{"console.txt", "console.txt"},
		{"COM10", "COM10"},
		{"CONX", "CONX"},
		{"..CON", "_CON"},
		{"x" + strings.Repeat("y", 300), "x" + strings.Repeat("y", MaxNameLen-1)},
		{strings.Repeat("é", 200) + ".jpeg", strings.Repeat("é", (MaxNameLen-5)/2) + ".jpeg"},
		{strings.Repeat("a", 250) + "     b.txt", strings.Repeat("a", 250) + ".txt"},
		{"日本語のファイル.png", "日本語のファイル.png"},
	} {
		got := SanitizeName(c.in)
		if got != c.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", c.in, got, c.want)
		}
		if err := checkName(got); err != "" {
			t.Errorf("SanitizeName(%q) = %q: %s", c.in, got, err)
		}
	}
}

// checkName says what is wrong with a name SanitizeName returned ("" if
// nothing).
func checkName(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxNameLen:
		return "too long"
	case !utf8.ValidString(s):
		return "invalid UTF-8"
	case strings.ContainsAny(s, `/\<>:"|?*`):
		return "forbidden character"
	case s[0] == '.' || s[len(s)-1] == '.':
		return "leading or trailing dot"
	case s == "." || s == "..":
		return "dot name"
	case reserved(s):
		return "reserved name"
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return "leading or trailing space"
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return "control or format character"
		}
	}
	return ""
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"", "..", "../x", "CON.txt", "a\u202eb", "\xff", strings.Repeat("ab.", 100) + "c.d",
		strings.Repeat("x", 254) + " .txt", "com1 ", "CON" + strings.Repeat(" ", 300) + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeName(in)
		if err := checkName(out); err != "" {
			t.Fatalf("SanitizeName(%q) = %q: %s", in, out, err)
		}
		if again := SanitizeName(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
		for i := 1; i < 4; i++ {
			if err := checkName(suffixed(out, i*997)); err != "" {
				t.Fatalf("suffixed(%q) = %q: %s", out, suffixed(out, i*997), err)
			}
		}
	})
}
