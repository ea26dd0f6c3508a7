package discovery

import "testing"

func TestDNSLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"srv", "srv"},
		{"a.b", "a-b"},
		{"", "peerchat"},
		{"tab\there", "tab-here"},
	}
	for _, tt := range tests {
		if got := dnsLabel(tt.in); got != tt.want {
			t.Errorf("dnsLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := dnsLabel(string(make([]rune, 0)) + "ééééééééééééééééééééééééééééééééééééééééééé")
	if len(long) > 63 {
		t.Errorf("dnsLabel kept %d bytes", len(long))
	}
}
