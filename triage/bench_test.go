package triage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdesk/triage"
)

// typicalMail is a mail of about 2 KB as customers write them: a greeting,
// what happened, an error, steps, impact and a signature with a
// disclaimer.
const typicalMail = `Hi support team,

since about 07:40 this morning our web shop has been very unreliable. Most
pages still load, but the checkout keeps failing for a lot of our customers:
after entering the card details they get "Payment could not be processed
(code PG-4001)" and the order is not created. Some customers tried three or
four times and gave up. PayPal seems to work, so as a workaround we have put
a banner on the basket page telling people to use PayPal, which is not great.

We have not changed anything on our side. The last deployment we did was on
Friday and everything worked fine over the weekend.

Steps to reproduce:
1. Open https://shop.example.com and add any product to the basket
2. Go to checkout, choose "Card" and enter a valid Visa card
3. Press "Pay now" - after about 20 seconds the error above appears

Impact: roughly a third of our customers pay by card, so we are losing a lot
of orders this morning. Our customer service team is also getting calls.

Could you please look into this as soon as possible and let us know when we
can expect an update? I am available on 01632 960 123 all day.

Many thanks,

Jane Smith
E-commerce Manager
Example Garden Supplies Ltd
Unit 4, Riverside Park, Anytown AB1 2CD
Tel: 01632 960 123 | Mobile: 07700 900 123

This e-mail and any attachments are confidential and intended solely for the
addressee. If you have received it in error, please notify the sender and
delete it. Example Garden Supplies Ltd accepts no liability for any damage
caused by viruses. Registered in England and Wales No. 01234567.
`

// BenchmarkAssess triages a typical mail of about 2 KB.
func BenchmarkAssess(b *testing.B) {
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		b.Fatal(err)
	}
	benchAssess(b, tr)
}

// BenchmarkAssessRubric is BenchmarkAssess without the learned model, to
// show what the model costs in one run.
func BenchmarkAssessRubric(b *testing.B) {
	tr, err := triage.New(triage.Rules{NoModel: true})
	if err != nil {
		b.Fatal(err)
	}
	benchAssess(b, tr)
}

func benchAssess(b *testing.B, tr *triage.Triage) {
	in := triage.Input{Subject: "Card payments failing at checkout", Text: typicalMail, Date: time.Date(2026, 11, 23, 9, 12, 0, 0, time.UTC)}
	b.SetBytes(int64(len(in.Subject) + len(in.Text)))
	b.ReportAllocs()
	for b.Loop() {
		tr.Assess(in)
	}
}

// BenchmarkNew compiles the default rules.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := triage.New(triage.Rules{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAssessHostile triages 64 KiB mails an outsider could send to
// make triage slow: a critical failure and an intermittent word in
// alternating paragraphs (the paragraph rule first weighed every pair of
// them, 1,700 by 1,700), and a wall of one-word sentences.
func BenchmarkAssessHostile(b *testing.B) {
	tr, err := triage.New(triage.Rules{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, unit string }{
		{"paragraphs", "Nobody can log in.\n\nSometimes.\n\n"},
		{"sentences", "Go. "},
	} {
		text := strings.Repeat(c.unit, 64<<10/len(c.unit))
		in := triage.Input{Subject: "Help", Text: text, Policy: "storeconnect"}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tr.Assess(in)
			}
		})
	}
}
