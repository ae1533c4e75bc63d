package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdesk/internal/loadmail"
)

// loadMail is the raw mail of r: customer mail as a support desk receives
// it, 5-20 KB, in four shapes taken in turn (seq % 4): plain text with
// quoted history and a signature; text and HTML alternatives; the same
// with a 6 KB log attached; HTML only. Lines end in CRLF (RFC 5322 §2.1).
func loadMail(r *record, to, runID string) []byte {
	domain := r.customer[strings.LastIndexByte(r.customer, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", r.customer)
	fmt.Fprintf(&b, "Received: from mail.%s (mail.%s [192.0.2.%d])\r\n\tby mx.example.com with ESMTPS id %s%d\r\n\tfor <%s>; %s\r\n",
		domain, domain, (r.seq%250+250)%250+1, runID, r.seq, to, time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: Customer %d <%s>\r\n", r.seq, r.customer)
	fmt.Fprintf(&b, "To: Support <%s>\r\n", to)
	fmt.Fprintf(&b, "Subject: %s (hd-load %s-%d)\r\n", loadmail.Subject(r.seq), runID, r.seq)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", r.id)
	fmt.Fprintf(&b, "X-HD-Load-Seq: %d\r\nX-HD-Load-Run: %s\r\n", r.seq, runID)
	b.Write(loadmail.Body(r.seq, fmt.Sprintf("%s-%d", runID, r.seq)))
	return b.Bytes()
}
