package message

import (
	"fmt"
	"math/rand/v2"
	"net/mail"
	"testing"
	"time"
)

// TestParseDateCanonicalMatchesNetMail checks that the direct reading of
// canonical Date fields gives exactly what mail.ParseDate gives, and
// takes nothing mail.ParseDate refuses: on the Date fields of every mail
// and on generated values in and around the canonical shape.
func TestParseDateCanonicalMatchesNetMail(t *testing.T) {
	var inputs []string
	for _, raw := range sampleMails(t) {
		for {
			h, body, n, _ := parseHeaderBlock(raw)
			if n == 0 {
				break
			}
			inputs = append(inputs, hdrValues(&h, "Date")...)
			if len(body) >= len(raw) {
				break
			}
			raw = body // a returned or forwarded message's header, sometimes
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	dows := []string{"Mon", "Tue", "Wed", "Sun", "mon", "WED", "Foo", "Mo", "Mond"}
	months := []string{"Jan", "Feb", "Mar", "Dec", "jan", "MAR", "Foo", "Ja"}
	days := []string{"1", "01", "09", "28", "29", "30", "31", "32", "0", "00", "123", " 1"}
	years := []string{"2026", "2024", "1999", "0000", "99", "20260"}
	times := []string{"11:58:00", "00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "9:58:00", "11:58"}
	zones := []string{"+0000", "-0000", "+0100", "-0700", "+2359", "+2400", "-9999", "+000", "GMT", "UTC", "+0000 (UTC)", "+0000 "}
	for range 30000 {
		v := fmt.Sprintf("%s, %s %s %s %s %s", dows[r.IntN(len(dows))], days[r.IntN(len(days))], months[r.IntN(len(months))],
			years[r.IntN(len(years))], times[r.IntN(len(times))], zones[r.IntN(len(zones))])
		switch r.IntN(8) {
		case 0:
			v = " " + v
		case 1:
			v = v[:r.IntN(len(v)+1)]
		case 2:
			v = v[:3] + v[4:]
		}
		inputs = append(inputs, v)
	}
	fast := 0
	for _, v := range inputs {
		got, ok := parseDateCanonical(v)
		want, err := mail.ParseDate(v)
		if !ok {
			continue
		}
		fast++
		if err != nil {
			t.Errorf("parseDateCanonical(%q) = %v, but mail.ParseDate fails: %v", v, got, err)
			continue
		}
		gn, goff := got.Zone()
		wn, woff := want.Zone()
		if !got.Equal(want) || gn != wn || goff != woff || got.Format(time.RFC3339Nano) != want.Format(time.RFC3339Nano) {
			t.Errorf("parseDateCanonical(%q) = %v, mail.ParseDate %v", v, got, want)
		}
	}
	t.Logf("%d values, %d read directly", len(inputs), fast)
	if fast < 100 {
		t.Errorf("only %d values read directly", fast)
	}
}
