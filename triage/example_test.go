package triage_test

import (
	"fmt"
	"time"

	"github.com/helpdeskd/helpdesk/triage"
)

// Triage ranks a mail, says why, and extracts the incident facts.
func Example() {
	tr, err := triage.New(triage.Rules{}) // the default rubric
	if err != nil {
		panic(err)
	}
	a := tr.Assess(triage.Input{
		Subject: "[High] Checkout down",
		Text: `Since 07:40 the checkout is down for all customers. They get
"HTTP 502 Bad Gateway". There is no workaround.`,
		Date: time.Date(2026, 11, 23, 8, 12, 0, 0, time.UTC),
	})
	fmt.Println("priority:", a.Priority, "claimed:", a.Claimed, "accepted:", a.ClaimAccepted)
	for _, r := range a.Reasons {
		fmt.Println("reason:", r)
	}
	fmt.Println("note:", tr.ClaimNote(a))
	fmt.Println("started:", a.Fields.StartTime, "=", a.Fields.StartInstant.Format(time.RFC3339))
	fmt.Println("error:", a.Fields.ErrorText)
	fmt.Println("missing:", a.Fields.Missing([]string{"start_time", "error_text", "repro_steps"}))
	// Output:
	// priority: critical claimed: high accepted: false
	// reason: critical: "Checkout down", "checkout is down", "502 Bad Gateway" + scope "all customers" + "no workaround"
	// reason: claim "High" under-states the content (assessed critical: "Checkout down", "checkout is down", "502 Bad Gateway")
	// note: You marked this request as high, but from what you describe we have given it critical priority so that it gets attention straight away.
	// started: Since 07:40 = 2026-11-23T07:40:00Z
	// error: HTTP 502 Bad Gateway
	// missing: [repro_steps]
}
