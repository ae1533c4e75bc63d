package templates_test

import (
	"fmt"
	"log"

	"github.com/helpdeskd/helpdesk"
	"github.com/helpdeskd/helpdesk/templates"
)

// The acknowledgement of a new ticket whose customer claimed a higher
// priority than the content supports, and left out the start time.
func ExampleSet_Render() {
	set, err := templates.Load("") // the embedded defaults; check-config passes the configured dir
	if err != nil {
		log.Fatal(err)
	}
	label, why := templates.FieldLabel(helpdesk.FieldStartTime)
	r, err := set.Render("ack", templates.Data{
		Desk:        "Example Support",
		Ticket:      helpdesk.Ticket{Ref: "HD-1042", Subject: "Checkout fails with 502"},
		Customer:    helpdesk.Address{Name: "Jane Doe", Email: "jane@shop.example"},
		Priority:    "high",
		Claimed:     "critical",
		ClaimNote:   "You marked this as critical; from what you describe we have filed it as high for now.",
		ResponseDue: "10:30 Tue 24 Nov, UK time",
		Missing:     []templates.Field{{Name: helpdesk.FieldStartTime, Label: label, Why: why}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(r.Text)
	// Output:
	// Hello Jane Doe,
	//
	// Thank you for your mail, which we have logged as ticket HD-1042.
	//
	// We have given it high priority. You marked this as critical; from what you describe we have filed it as high for now. We will respond by 10:30 Tue 24 Nov, UK time.
	//
	// To help us get to the bottom of it quickly, please reply with:
	//
	// - When it started
	//   The date and time it began lets us match it against our logs and any changes made around then.
	//
	// To add anything, just reply to this mail and keep [HD-1042] in the subject.
	//
	// Kind regards,
	// Example Support
	//
	// This acknowledgement was sent automatically; the next mail will come from one of the team.
}
