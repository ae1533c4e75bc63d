package message

import "testing"

func TestLoopSignals(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		reason   string
		suppress bool
	}{
		{"person", "From: a@example.com\n", "", false},
		{"auto-submitted no", "From: a@example.com\nAuto-Submitted: no\n", "", false},
		{"auto-replied", "From: a@example.com\nAuto-Submitted: auto-replied\n", "Auto-Submitted: auto-replied", false},
		{"auto-generated with comment", "From: a@example.com\nAuto-Submitted: Auto-Generated; owner-email=x@y\n", "Auto-Submitted: auto-generated", false},
		{"precedence bulk", "From: a@example.com\nPrecedence: Bulk\n", "Precedence: bulk", false},
		{"precedence junk", "From: a@example.com\nPrecedence: junk\n", "Precedence: junk", false},
		{"precedence first-class", "From: a@example.com\nPrecedence: first-class\n", "", false},
		{"list-id", "From: a@example.com\nList-Id: <x.example.org>\n", "List-Id present", false},
		{"list-unsubscribe", "From: a@example.com\nList-Unsubscribe: <mailto:u@example.org>\n", "List-Unsubscribe present", false},
		{"null return path", "Return-Path: <>\nFrom: a@example.com\n", "null return path", false},
		{"mailer-daemon", "From: MAILER-DAEMON@example.com\n", "delivery status notification", false}, // taken for a bounce
		{"postmaster", "From: Postmaster <postmaster@example.com>\n", "sender postmaster", false},
		{"noreply", "From: Shop <no-reply@shop.example>\n", "sender no-reply", false},
		{"noreply plus", "From: noreply+abc@shop.example\n", "sender noreply", false},
		{"x-autoreply", "From: a@example.com\nX-Autoreply: yes\n", "X-Autoreply present", false},
		{"x-autorespond", "From: a@example.com\nX-Autorespond: yes\n", "X-Autorespond present", false},
		{"x-loop", "From: a@example.com\nX-Loop: MAILER-DAEMON@yahoo.com\n", "X-Loop present", false},
		{"x-precedence auto_reply", "From: a@example.com\nX-Precedence: auto_reply\n", "X-Precedence: auto_reply", false},
		{"suppress all", "From: a@example.com\nX-Auto-Response-Suppress: All\n", "", true},
		{"suppress oof", "From: a@example.com\nX-Auto-Response-Suppress: DR, OOF\n", "", true},
		{"suppress none", "From: a@example.com\nX-Auto-Response-Suppress: None\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.header+"Subject: s\n\nbody\n"), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.AutoReason, tt.reason; got != want {
				t.Errorf("AutoReason = %q, want %q", got, want)
			}
			if got, want := m.Suppress, tt.suppress; got != want {
				t.Errorf("Suppress = %v, want %v", got, want)
			}
		})
	}
}

// loopCase is a mail for the content and sender rules: From, Subject and
// a plain-text body, with nothing in the header that marks it automatic.
type loopCase struct {
	name, from, subject, body string
	reason                    string // "" for a person's mail
}

func loopRun(t *testing.T, tests []loopCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := tt.from
			if from == "" {
				from = "Jane Doe <jane.doe@example.com>"
			}
			raw := "Return-Path: <jane.doe@example.com>\nFrom: " + from + "\nTo: support@desk.example\nSubject: " + tt.subject +
				"\nMessage-ID: <t@example.com>\nContent-Type: text/plain; charset=utf-8\n\n" + tt.body + "\n"
			m, err := Parse([]byte(raw), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.AutoReason != tt.reason {
				t.Errorf("AutoReason = %q, want %q", m.AutoReason, tt.reason)
			}
			if tt.reason == "" && m.Bounce != nil {
				t.Errorf("person's mail taken for a bounce")
			}
		})
	}
}

// TestLoopOutOfOffice: absence notes without RFC 3834 fields, by subject
// (as Outlook/Exchange, Notes, Gmail, Zimbra and GroupWise users send them
// in several languages) and by the opening of the text.
func TestLoopOutOfOffice(t *testing.T) {
	const hello = "Hello,\n\nthanks."
	loopRun(t, []loopCase{
		{name: "outlook", subject: "Automatic reply: Printer on floor 3", body: hello, reason: `subject "Automatic reply"`},
		{name: "outlook old", subject: "Out of Office: Ticket [#123] printer", body: hello, reason: `subject "Out of Office"`},
		{name: "exchange 2003", subject: "Out of Office AutoReply: Ticket [#123]", body: hello, reason: `subject "Out of Office AutoReply"`},
		{name: "whole subject", subject: "Out of office", body: hello, reason: `subject "Out of Office"`},
		{name: "out of the office", subject: "Out of the office", body: hello, reason: `subject "Out of the Office"`},
		{name: "auto reply", subject: "Auto reply: your mail", body: hello, reason: `subject "Auto reply"`},
		{name: "autoreply", subject: "AutoReply: your mail", body: hello, reason: `subject "Autoreply"`},
		{name: "auto-reply", subject: "Auto-Reply: your mail", body: hello, reason: `subject "Auto-Reply"`},
		{name: "swedish", subject: "Autosvar: Skrivaren", body: hello, reason: `subject "Autosvar"`},
		{name: "danish", subject: "Automatisk svar: Printeren", body: hello, reason: `subject "Automatisk svar"`},
		{name: "german", subject: "Automatische Antwort: Drucker", body: hello, reason: `subject "Automatische Antwort"`},
		{name: "german old", subject: "Abwesenheitsnotiz: Drucker", body: hello, reason: `subject "Abwesenheitsnotiz"`},
		{name: "french nbsp", subject: "Réponse automatique\u00a0: Imprimante", body: hello, reason: `subject "Réponse automatique"`},
		{name: "french capitals", subject: "RÉPONSE AUTOMATIQUE : Imprimante", body: hello, reason: `subject "Réponse automatique"`},
		{name: "spanish", subject: "Respuesta automática: Impresora", body: hello, reason: `subject "Respuesta automática"`},
		{name: "italian", subject: "Risposta automatica: Stampante", body: hello, reason: `subject "Risposta automatica"`},
		{name: "dutch", subject: "Automatisch antwoord: Printer", body: hello, reason: `subject "Automatisch antwoord"`},
		{name: "chinese", subject: "自动回复：打印机", body: hello, reason: `subject "自动回复"`},
		{name: "notes", subject: "AUTO: Jane Doe is out of the office (returning 05/01/2010)", body: hello, reason: `subject "AUTO:"`},
		{name: "notes german", subject: "AUTO: Hans Muster ist außer Haus", body: hello, reason: `subject "AUTO:"`},
		{name: "vacation", subject: "Vacation", body: hello, reason: `subject "Vacation"`},
		{name: "on vacation", subject: "On vacation!", body: hello, reason: `subject "On vacation"`},
		{name: "aol marker", subject: "Re: blah blah (Automatic Response)", body: hello, reason: `subject "Automatic response"`},
		{name: "polish marker", subject: "[Automatyczna odpowiedź] test", body: hello, reason: `subject "Automatyczna odpowiedź"`},
		{name: "first person subject", subject: "I am out of the office until 5 May", body: hello, reason: `subject "i am out of the office"`},
		{name: "first person subject apostrophe", subject: "I’m on vacation until 3 June", body: hello, reason: `subject "i'm on vacation"`},
		{name: "first person subject returning", subject: "I will be out of the office (returning 05/01)", body: hello, reason: `subject "i will be out of the office"`},
		{name: "thank you subject", subject: "Thank you for your e-mail", body: "I will endeavour to reply as soon as possible.", reason: `subject "Thank you for your e-mail"`},

		{name: "body outlook", subject: "Re: Ticket [#123]", body: "Thank you for your email. I am currently out of the office with limited access to email.\nI will return on Monday 5 May.\n\nFor urgent matters please contact helpdesk@example.com.",
			reason: `body "i am currently out of the office" with "I will return on"`},
		{name: "body will be out", subject: "Re: Ticket [#123]", body: "Hi,\n\nI will be out of the office from 3 to 14 June. For urgent matters please contact John Smith.\n\nBest regards\nJane",
			reason: `body "i will be out of the office" with "for urgent"`},
		{name: "body aol", subject: "Re: blah", body: "Hello, I am away until 05/07/2010 and am unable to read your message.",
			reason: `body "i am away until" with "your message"`},
		{name: "body on vacation", subject: "Re: Order 4711", body: "I'm on vacation until August 3rd. I will reply to your email when I return.",
			reason: `body "i'm on vacation" with "when I return"`},
		{name: "body german", subject: "AW: Drucker", body: "Vielen Dank für Ihre Nachricht.\nIch bin bis zum 05.05.2025 nicht im Büro. In dringenden Fällen wenden Sie sich bitte an service@example.de.",
			reason: `body "ich bin bis zum 05.05.2025 nicht im büro" with "in dringenden"`},
		{name: "body french", subject: "RE: Imprimante", body: "Bonjour,\nJe suis absent jusqu'au 12 mai inclus. Je traiterai votre message à mon retour.",
			reason: `body "je suis absent" with "à mon retour"`},
		{name: "body spanish", subject: "RE: Impresora", body: "Estoy fuera de la oficina hasta el lunes 3 de junio. Responderé a su mensaje a mi regreso.",
			reason: `body "estoy fuera de la oficina" with "a mi regreso"`},
		{name: "body dutch", subject: "RE: Printer", body: "Ik ben afwezig tot 3 juni. Uw bericht wordt na mijn terugkeer beantwoord.",
			reason: `body "ik ben afwezig" with "na mijn terugkeer"`},
		{name: "self-declared", subject: "Re: Ticket", body: "This is an automatic reply. Your message has been received and will be answered within 2 days.",
			reason: `body "This is an automatic reply"`},
		{name: "self-declared german", subject: "AW: Ticket", body: "Dies ist eine automatische Antwort.\nIhre Nachricht ist eingegangen.",
			reason: `body "Dies ist eine automatische Antwort"`},
		{name: "self-declared french", subject: "RE: Ticket", body: "Bonjour,\nCeci est une réponse automatique, merci de ne pas y répondre.",
			reason: `body "Ceci est une réponse automatique"`},
	})
}

// TestLoopChallengeResponse: challenge-response systems that ask the
// sender to prove to be a person before the mail is delivered.
func TestLoopChallengeResponse(t *testing.T) {
	loopRun(t, []loopCase{
		{name: "tmda subject", subject: "Please confirm your message", body: "To deliver it, reply to this mail.", reason: `subject "Please confirm your message"`},
		{name: "awaiting verification", subject: "Your message to jane@example.org is awaiting verification", body: "Click the link.", reason: `subject "Your message to … is awaiting verification"`},
		{name: "mailman moderation", subject: "Your message to GPC-talk awaits moderator approval", body: "Your mail to 'GPC-talk' is being held.", reason: `subject "Your message to … awaits moderator approval"`},
		{name: "tmda body", subject: "Re: Ticket [#123]", body: "Hello,\n\nThis message was held pending your confirmation. Your message will be delivered once you reply to this mail.",
			reason: `body "held pending your confirmation"`},
		{name: "spamarrest", subject: "Re: Ticket [#123]", body: "Hi,\nI'm protecting myself from receiving junk mail. Please click the link below to complete the verification process so that your message is delivered. You have to do this only once.",
			reason: `body "complete the verification process"`},
		{name: "human check", subject: "Re: Ticket", body: "Your email to me is pending. Please verify you are a human by clicking https://cr.example/x", reason: `body "verify you are a human"`},
		{name: "boxbe", subject: "Re: Dear Mr Bloggs", body: "Hello John Smith,\n\nYour message about \"Invoice\"\nhas been waitlisted.\n\nPlease add yourself to my Boxbe Guest List so your messages will\ngo to my Inbox.",
			reason: `body "add yourself to my"`},
		{name: "bluebottle", subject: "RE: BLAH", body: "Your message was received at Thu, 20 Aug 2009 12:15:39 +0000:\n\nTo: user@bluebottle.com\nSubject: BLAH\n\nThis account is protected by Bluebottle.  Please click on the\nfollowing link to have your address added to the recipient's allowed\nlist and to ensure delivery of your email.",
			reason: `body "have your address added to"`},
		{name: "earthlink", subject: "Re: Ticket", body: "I apologize for this automatic reply to your email.\n\nTo control spam, I now allow incoming messages only from senders I have approved beforehand.",
			reason: `body "i apologize for this automatic reply"`},
	})
}

// TestLoopDeliveryFailure: delivery failures that are not multipart/report
// and come from an ordinary address, by their MTA's subject or opening.
func TestLoopDeliveryFailure(t *testing.T) {
	const note = "See the attached report."
	loopRun(t, []loopCase{
		{name: "exchange", subject: "Undeliverable: Re: Ticket [#123]", body: note, reason: `subject "Undeliverable"`},
		{name: "postfix", subject: "Undelivered Mail Returned to Sender", body: note, reason: `subject "Undelivered Mail Returned to Sender"`},
		{name: "gmail", subject: "Delivery Status Notification (Failure)", body: note, reason: `subject "Delivery Status Notification (…)"`},
		{name: "exim", subject: "Mail delivery failed: returning message to sender", body: note, reason: `subject "Mail delivery failed"`},
		{name: "mail delivery failed", subject: "Mail delivery failed", body: note, reason: `subject "Mail delivery failed"`},
		{name: "sendmail", subject: "Returned mail: see transcript for details", body: note, reason: `subject "Returned mail"`},
		{name: "returned mail dash", subject: "Returned mail - nameserver error report", body: note, reason: `subject "Returned mail - …"`},
		{name: "qmail", subject: "failure notice", body: note, reason: `subject "Failure notice"`},
		{name: "sendmail warning", subject: "Warning: could not send message for past 4 hours", body: note, reason: `subject "Warning: could not send message for past …"`},
		{name: "groupwise", subject: "Message status - undeliverable", body: note, reason: `subject "Message status - undeliverable"`},
		{name: "domino", subject: "DELIVERY FAILURE: User jdoe (jdoe@example.com) not listed in Domino Directory", body: note, reason: `subject "DELIVERY FAILURE:"`},
		{name: "german", subject: "Unzustellbar: Drucker", body: note, reason: `subject "Unzustellbar"`},
		{name: "french", subject: "Non remis : Imprimante", body: note, reason: `subject "Non remis"`},
		{name: "dutch", subject: "Onbestelbaar: Printer", body: note, reason: `subject "Onbestelbaar"`},
		{name: "italian", subject: "Non recapitabile: Stampante", body: note, reason: `subject "Non recapitabile"`},

		{name: "postfix body", subject: "Re: Ticket", body: "This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.",
			reason: `body "This is the mail system at host"`},
		{name: "qmail body", subject: "Re: Ticket", body: "Hi. This is the qmail-send program at mx.example.org.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.",
			reason: `body "This is the qmail-send program"`},
		{name: "exim body", subject: "Re: Ticket", body: "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients.",
			reason: `body "This message was created automatically by mail delivery software"`},
		{name: "exchange 5.5 body", subject: "Re: Ticket", body: "The following message to <jdoe@example.com> was undeliverable.\nThe reason for the problem: unknown address.",
			reason: `body "The following message to <"`},
		{name: "exchange 2003 body", subject: "Re: Ticket", body: "Your message did not reach some or all of the intended recipients.\n\n      Subject:\tTicket\n      Sent:\t1/1/2010",
			reason: `body "Your message did not reach some or all of the intended recipients"`},
		{name: "exchange 2007 body", subject: "Re: Ticket", body: "Delivery has failed to these recipients or groups:\n\njdoe@example.com\nThe e-mail address you entered couldn't be found.",
			reason: `body "Delivery has failed to these recipients or groups"`},
		{name: "banner then text", subject: "RE: Ticket : non remis (delivery failed)", body: "***********************************************\nVotre message n'a pas pu etre delivre a\njdoe@example.com\n\n***********************************************\nYour message could not be delivered to\njdoe@example.com",
			reason: `body "Votre message n'a pas pu etre delivre"`},
	})
}

// TestLoopSenders: the addresses and display names of automatic mail.
func TestLoopSenders(t *testing.T) {
	const body = "Hello"
	loopRun(t, []loopCase{
		{name: "mailer_daemon", from: "MAILER_DAEMON@example.com", subject: "Notice", body: body, reason: "sender mailer_daemon"},
		{name: "postmaster", from: "Postmaster <postmaster@example.com>", subject: "Notice", body: body, reason: "sender postmaster"},
		{name: "subsystem name", from: "Mail Delivery Subsystem <root@mx.example.com>", subject: "Notice", body: body, reason: `sender name "Mail Delivery Subsystem"`},
		{name: "system name", from: "Mail Delivery System <mx@example.com>", subject: "Notice", body: body, reason: `sender name "Mail Delivery System"`},
		{name: "verp bounces", from: "bounces+12345-abcd-jane=example.com@sendgrid.example", subject: "Notice", body: body, reason: "sender bounces (bounce address)"},
		{name: "list bounces", from: "gpc-talk-bounces@grizz.example", subject: "Notice", body: body, reason: "sender gpc-talk-bounces (bounce address)"},
		{name: "verp bounce", from: "bounce-mc.us5_12.34-jane=example.com@mail1.mcsv.example", subject: "Notice", body: body, reason: "sender bounce-mc.us5_12.34-jane=example.com (bounce address)"},
		{name: "autoreply", from: "autoreply@shop.example", subject: "Notice", body: body, reason: "sender autoreply"},
		{name: "auto-reply", from: "auto-reply@shop.example", subject: "Notice", body: body, reason: "sender auto-reply"},
		{name: "vacation", from: "vacation@example.org", subject: "Notice", body: body, reason: "sender vacation"},
		{name: "bouncer", from: "Bob Bouncer <bob.bouncer@example.com>", subject: "Printer", body: body},
		{name: "bouncy castle", from: "bouncycastle@example.com", subject: "Printer", body: body},
	})
}

// TestLoopPeopleStayPeople: customers' incident mails that use the words
// of automatic mail must keep AutoReason "".
func TestLoopPeopleStayPeople(t *testing.T) {
	loopRun(t, []loopCase{
		{name: "out of office pcs", subject: "Out of office PCs cannot print", body: "Since this morning none of the PCs in the back office can print."},
		{name: "automatic reply rule", subject: "Our automatic reply rule is broken", body: "Customers get no automatic reply from our shared mailbox since Monday."},
		{name: "automatic reply rule prefix", subject: "Automatic reply rule not working", body: "The rule in Outlook does nothing."},
		{name: "reply to an absence note", subject: "RE: Automatic reply: Ticket [#123]", body: "Thanks, I will wait for Jane then."},
		{name: "forwarded bounce", subject: "FW: Undeliverable: Invoice 2024-11", body: "Hi,\n\ncan you check why this bounces?\n\n-----Original Message-----\nFrom: postmaster@example.com\nSubject: Undeliverable: Invoice 2024-11\n\nDelivery has failed to these recipients or groups:\n\nbilling@client.example"},
		{name: "quoted error", subject: "Cannot mail the client", body: "When I send to the client I get \"Delivery has failed to these recipients or groups\". Please check the mail server."},
		{name: "mail delivery failing", subject: "Mail delivery failing to gmail", body: "Our mails to gmail addresses bounce since the DNS change."},
		{name: "parcel", subject: "Delivery failed: the parcel could not be delivered", body: "Your courier says the parcel could not be delivered, but I was at home."},
		{name: "delivery failure", subject: "Delivery failure on order 4711", body: "The parcel never arrived."},
		{name: "undeliverable address", subject: "Undeliverable address on invoice", body: "The invoice has an old address."},
		{name: "vacation request", subject: "Vacation request for June", body: "I would like to take 3-14 June off."},
		{name: "german car", subject: "Auto: Termin für die Inspektion", body: "Guten Tag, ich möchte einen Termin."},
		{name: "reschedule", subject: "I will be out of the office, please reschedule the upgrade", body: "Thanks"},
		{name: "vpn while away", subject: "VPN does not connect", body: "Hi,\nI am currently out of the office and cannot connect to the VPN. Can you help?\n\nJane"},
		{name: "laptop before vacation", subject: "Laptop repair", body: "I will be on vacation from Monday, could you please fix my laptop before?"},
		{name: "german away", subject: "Laptop", body: "Ich bin ab Montag im Urlaub, bitte reparieren Sie den Laptop vorher."},
		{name: "captcha", subject: "Login loop", body: "The portal keeps asking me to verify you are a human and then logs me out again."},
		{name: "whitelist request", subject: "Spam filter", body: "Please add our partner to the approved senders list, their invoices land in junk."},
		{name: "automatic message mention", subject: "Monitoring", body: "Hi,\nour monitoring said this is an automated message we should ignore, but the disk is full."},
		{name: "pasted mta text later", subject: "Bounce", body: "Hello,\n\nI got the following error today:\n\nThis is the mail system at host mx.example.org."},
	})
}
