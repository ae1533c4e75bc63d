package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"respons", "response", 1}, {"stauts", "status", 2},
		{"kitten", "sitting", 3}, {"", "abc", 3},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"notify_new", "notify_reply", "ack"}
	for _, tt := range []struct{ name, want string }{
		{"notify-new", "notify_new"}, {"akc", "ack"}, {"escalation", ""}, {"ack", "ack"},
	} {
		if got := Closest(tt.name, known); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
