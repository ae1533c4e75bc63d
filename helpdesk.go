// Package helpdesk holds the domain types of helpdeskd: tickets, messages,
// priorities, statuses and audit events, with their validation. Every other
// package (message, mailbox, desk, triage, sla, templates, store) talks to
// the others through these types, so none needs to know another's
// internals.
package helpdesk

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Priority is the name of a priority level ("critical", "high", ...). The
// set of levels and their order come from the configuration; see Levels.
type Priority string

// The default priority levels, most urgent first, and the change-request
// category, which is ranked like the lowest level unless a policy says
// otherwise.
const (
	Critical Priority = "critical"
	High     Priority = "high"
	Medium   Priority = "medium"
	Low      Priority = "low"
	Change   Priority = "change"
)

// Levels is an ordered set of priority levels, most urgent first. The
// change-request category, when configured, is not part of the order: it is
// ranked like the last level.
type Levels struct {
	Order  []Priority // most urgent first
	Change Priority   // the change-request category; may be empty
}

// DefaultLevels are the built-in levels: critical, high, medium, low and the
// change category.
func DefaultLevels() Levels {
	return Levels{Order: []Priority{Critical, High, Medium, Low}, Change: Change}
}

// Rank returns the position of p in the order (0 is the most urgent) and
// whether p is a known level. The change category ranks like the last level.
func (l Levels) Rank(p Priority) (int, bool) {
	for i, q := range l.Order {
		if q == p {
			return i, true
		}
	}
	if p != "" && p == l.Change {
		return len(l.Order) - 1, true
	}
	return 0, false
}

// Valid reports whether p is one of the configured levels or the change
// category.
func (l Levels) Valid(p Priority) bool {
	_, ok := l.Rank(p)
	return ok
}

// All returns the ordered levels followed by the change category, if any.
func (l Levels) All() []Priority {
	all := append([]Priority(nil), l.Order...)
	if l.Change != "" {
		all = append(all, l.Change)
	}
	return all
}

// Status is the state of a ticket in its life cycle.
type Status string

// Ticket statuses. Pending means the desk waits on the customer. Spam is
// mail the receiving server judged to be spam: filed, answered by nobody,
// no clocks running, until an agent opens it.
const (
	StatusOpen     Status = "open"
	StatusPending  Status = "pending"
	StatusResolved Status = "resolved"
	StatusClosed   Status = "closed"
	StatusSpam     Status = "spam"
)

// ParseStatus returns the status named by s (case-insensitive).
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(strings.TrimSpace(s))); st {
	case StatusOpen, StatusPending, StatusResolved, StatusClosed, StatusSpam:
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (want open, pending, resolved, closed or spam)", s)
}

// Field names of the incident facts triage extracts. They are the keys of
// the "required" lists in the configuration and of the missing list.
const (
	FieldStartTime  = "start_time"
	FieldErrorText  = "error_text"
	FieldReproSteps = "repro_steps"
	FieldImpact     = "impact"
	FieldService    = "service"
)

// FieldNames lists every field triage knows, in display order.
var FieldNames = []string{FieldStartTime, FieldErrorText, FieldReproSteps, FieldImpact, FieldService}

// Fields are the incident facts extracted from a customer's mails. An empty
// string means not found.
type Fields struct {
	StartTime    string    `json:"start_time,omitempty"`   // the text that gave the start time
	StartInstant time.Time `json:"start_instant,omitzero"` // the start time resolved to an instant, if it could be
	ErrorText    string    `json:"error_text,omitempty"`   // quoted error, code, exception or stack trace
	ReproSteps   string    `json:"repro_steps,omitempty"`  // steps or command to reproduce
	Impact       string    `json:"impact,omitempty"`       // who or what is affected
	Service      string    `json:"service,omitempty"`      // the affected service or component
}

// Get returns the value of the named field.
func (f Fields) Get(name string) string {
	switch name {
	case FieldStartTime:
		return f.StartTime
	case FieldErrorText:
		return f.ErrorText
	case FieldReproSteps:
		return f.ReproSteps
	case FieldImpact:
		return f.Impact
	case FieldService:
		return f.Service
	}
	return ""
}

// Merge fills every field of f that is empty from g and returns the result.
// Facts already known are never overwritten by a later mail.
func (f Fields) Merge(g Fields) Fields {
	if f.StartTime == "" {
		f.StartTime, f.StartInstant = g.StartTime, g.StartInstant
	}
	if f.ErrorText == "" {
		f.ErrorText = g.ErrorText
	}
	if f.ReproSteps == "" {
		f.ReproSteps = g.ReproSteps
	}
	if f.Impact == "" {
		f.Impact = g.Impact
	}
	if f.Service == "" {
		f.Service = g.Service
	}
	return f
}

// Missing returns the names in required whose field is empty, in order.
func (f Fields) Missing(required []string) []string {
	var out []string
	for _, name := range required {
		if strings.TrimSpace(f.Get(name)) == "" {
			out = append(out, name)
		}
	}
	return out
}

// Assessment is triage's decision on one mail: the priority, what the
// customer claimed, why, and the incident facts found.
type Assessment struct {
	Priority      Priority `json:"priority"`       // the level the ticket gets
	Assessed      Priority `json:"assessed"`       // what the content alone supports
	Claimed       Priority `json:"claimed"`        // what the customer declared; empty if nothing
	ClaimAccepted bool     `json:"claim_accepted"` // whether the claim was taken
	Reasons       []string `json:"reasons"`        // human-readable reasons, most important first
	Fields        Fields   `json:"fields"`
}

// Ticket is one incident or request and its state.
type Ticket struct {
	ID             int64
	Ref            string // human reference, e.g. HD-1042
	Token          string // random token of the ticket's reply address
	Subject        string
	Customer       string // the customer's address (lower case)
	CustomerName   string
	Mailbox        string // the configured mailbox it came in through
	Policy         string // SLA policy name
	Plan           string // customer plan, may be empty
	Team           string
	Assignee       string // agent address, may be empty
	Priority       Priority
	PrioritySource string // "triage", "claim" or the address of the agent who set it
	Claimed        Priority
	Reasons        []string
	Status         Status
	Fields         Fields
	Missing        []string
	LinkedTo       string // reference of an earlier ticket this one follows
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// SLA clocks. Zero times mean "not set" or "no target".
	FirstResponseAt time.Time
	ResolvedAt      time.Time
	ClosedAt        time.Time
	ResponseDue     time.Time
	ResolutionDue   time.Time
	Pauses          []Pause   // spans the clocks were paused (waiting on the customer); the last may be open
	NextCheckAt     time.Time // when the SLA loop next looks at the ticket; zero = never
	// RiskAt is when a running clock comes at risk of missing its target
	// (sla.Policy.RiskAt: its first warning step, or an hour before its
	// deadline); zero while no clock runs towards a deadline.
	RiskAt time.Time
}

// Pause is a span during which a ticket's SLA clocks stood still. To is
// zero while the pause lasts.
type Pause struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to,omitzero"`
	Reason string    `json:"reason,omitempty"` // "" (PauseWaiting): waiting on the customer; PauseResolved: resolved, then reopened
}

// Pause reasons. A waiting pause stops the clocks only where the policy
// says so; a resolved span always does.
const (
	PauseWaiting  = ""
	PauseResolved = "resolved"
)

// Paused reports whether the ticket's clocks are paused now.
func (t *Ticket) Paused() bool {
	return len(t.Pauses) > 0 && t.Pauses[len(t.Pauses)-1].To.IsZero()
}

// Validate reports the first inconsistency in t.
func (t *Ticket) Validate() error {
	switch {
	case t.Ref == "":
		return errors.New("ticket: empty reference")
	case t.Customer == "":
		return errors.New("ticket: empty customer")
	case t.Priority == "":
		return errors.New("ticket: empty priority")
	}
	if _, err := ParseStatus(string(t.Status)); err != nil {
		return fmt.Errorf("ticket %s: %w", t.Ref, err)
	}
	return nil
}

// IsOpen reports whether the ticket is still being worked (open or pending).
func (t *Ticket) IsOpen() bool { return t.Status == StatusOpen || t.Status == StatusPending }

// Direction says whether a stored message came in or went out.
type Direction string

// Message directions.
const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// MessageKind says what role a message plays on a ticket.
type MessageKind string

// Message kinds.
const (
	KindCustomer     MessageKind = "customer"     // mail from the customer or a participant
	KindOutsider     MessageKind = "outsider"     // mail from someone not on the ticket: kept for the agents, relayed nowhere
	KindAgent        MessageKind = "agent"        // mail from an agent (relayed or commands)
	KindNote         MessageKind = "note"         // internal agent note
	KindBounce       MessageKind = "bounce"       // delivery status notification
	KindAuto         MessageKind = "auto"         // auto-reply or other automatic mail received
	KindAck          MessageKind = "ack"          // our acknowledgement to the customer
	KindNotification MessageKind = "notification" // our notice to agents
	KindRelay        MessageKind = "relay"        // an agent's reply relayed to the customer
	KindEscalation   MessageKind = "escalation"   // escalation mail to managers
	KindResolution   MessageKind = "resolution"   // resolution mail to the customer
	KindSystem       MessageKind = "system"       // other mail we sent (command errors, thanks)
	KindDigest       MessageKind = "digest"       // the managers' scheduled SLA digest (outbox only: it belongs to no ticket)
)

// Address is a mail address with its display name.
type Address struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"` // lower-cased addr-spec
}

// String formats a as "Name <email>" or just the address.
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	return fmt.Sprintf("%q <%s>", a.Name, a.Email)
}

// Attachment is a file that came with a message.
type Attachment struct {
	Filename    string // sanitised file name
	ContentType string
	ContentID   string
	Inline      bool
	Size        int64
	Data        []byte // nil when the file was dropped for its size
	Dropped     string // why the file was not kept, if it was not
}

// AuthResult is one method result from an Authentication-Results header
// (RFC 8601), e.g. dkim=pass header.d=example.com.
type AuthResult struct {
	AuthServID string // the receiving server that wrote the header
	Method     string // dkim, spf, dmarc, ...
	Result     string // pass, fail, ...
	Domain     string // header.d, smtp.mailfrom domain or header.from domain
	// Policy is, for dmarc, the policy the From domain publishes (none,
	// quarantine or reject) when the field states it; "" otherwise.
	Policy string
	// Where the field stood in the header: its name
	// ("Authentication-Results" or "ARC-Authentication-Results"), its
	// position among all the header's fields (0 = topmost) and how many
	// Received: fields were above it. Whether our own servers wrote it
	// follows from that position (see package trust), never from the
	// field's own words.
	Header        string
	Field         int
	ReceivedAbove int
}

// Message is a parsed mail: what package message read from the raw mail
// the mailbox fetched, or what the desk stored. Text is the whole readable
// body; NewText is the part written for this mail, without quoted history
// or signature.
type Message struct {
	MessageID   string // without angle brackets
	InReplyTo   []string
	References  []string
	From        Address
	ReplyTo     []Address
	To          []Address
	Cc          []Address
	Recipients  []string // envelope or delivery addresses (Delivered-To, X-Original-To), lower case
	ReturnPath  string   // "" when absent; "<>" for the null return path
	Subject     string
	Date        time.Time
	Text        string
	NewText     string
	HTML        string
	Attachments []Attachment
	// AttachmentsOmitted counts the attachments beyond the per-mail limit
	// that were not kept (message.MaxAttachments); the raw mail has them.
	AttachmentsOmitted int
	// PartsOmitted counts the MIME parts beyond the per-mail limit that
	// were not read (message.MaxParts); the raw mail has them.
	PartsOmitted int
	// TextOmitted counts the bytes of text beyond the per-mail limit
	// (message.MaxText) that Text does not hold; the raw mail has them.
	TextOmitted int64
	Raw         []byte

	// Loop protection (RFC 3834) and delivery reports.
	AutoReason string // why this mail counts as automatic; "" for a person's mail
	Suppress   bool   // X-Auto-Response-Suppress asks for no automatic reply
	// Quiet says why a mail that is not automatic still gets no automatic
	// reply: dated long before it arrived, or bulk mail offering to
	// unsubscribe. It still becomes a ticket; "" when an acknowledgement
	// is in order.
	Quiet       string
	Bounce      *DeliveryReport // non-nil for a delivery status notification
	AuthResults []AuthResult
	// Received holds the "by" host of each Received: field, topmost
	// (most recent) first; "" where a field names none. Its length is the
	// number of hops the mail recorded.
	Received []string
	// Spam says why the receiving server marked the mail as spam
	// (X-Spam-Flag, X-Spam-Status, rspamd's action); "" when it did not.
	Spam    string
	Defects []string // what could not be parsed cleanly

	// Filled in by the desk when stored.
	Direction Direction
	Kind      MessageKind
}

// Oversize describes a mail larger than its mailbox's max_message_size:
// only its header was read, and the whole mail waits in the mailbox's
// quarantine folder. The desk records it and tells the sender and the
// agents.
type Oversize struct {
	Size      int64  // the mail's size on the server (RFC822.SIZE), in bytes
	Limit     int64  // the mailbox's max_message_size, in bytes
	Folder    string // the quarantine folder the whole mail is moved to
	HeaderCut bool   // the header was longer than the fetcher reads; what was read is kept
}

// DeliveryReport is what a delivery status notification (RFC 3464) says.
type DeliveryReport struct {
	OriginalMessageID string   // Message-ID of the mail that bounced, if found
	Recipients        []string // failed recipients
	Action            string   // failed, delayed, ...
	Status            string   // e.g. 5.1.1
	Diagnostic        string
}

// ErrUnreadable is wrapped by the error of a mail that cannot be read and
// goes to the quarantine folder, kept, instead of to a ticket: the desk
// wraps it in the error of every mail it quarantines, and the mailbox
// fetcher (mailbox.Handler) quarantines on the server every mail whose
// error wraps it. It is defined here so that neither package needs the
// other.
var ErrUnreadable = errors.New("unreadable mail")

// EventKind names what an audit-trail entry records. Metrics, the demo's
// printer and tests match on these constants, so a typo fails to compile
// instead of silently zeroing a count.
type EventKind string

// The event kinds.
const (
	EventCreated                  EventKind = "created"                    // a ticket was opened
	EventLinked                   EventKind = "linked"                     // the ticket follows an earlier, closed one
	EventFollowedUp               EventKind = "followed-up"                // a later mail opened a new ticket after this closed one
	EventMissing                  EventKind = "missing"                    // incident facts the policy requires are missing
	EventFields                   EventKind = "fields"                     // missing facts were supplied
	EventQueued                   EventKind = "queued"                     // a critical-only mailbox filed non-critical mail under its queue policy
	EventAck                      EventKind = "ack"                        // the acknowledgement went to the customer
	EventAckSuppressed            EventKind = "ack-suppressed"             // no acknowledgement: loop protection or the rate limit
	EventReply                    EventKind = "reply"                      // a reply from the customer's side
	EventReopened                 EventKind = "reopened"                   // a customer reply reopened a resolved ticket
	EventStatus                   EventKind = "status"                     // the status changed
	EventPriority                 EventKind = "priority"                   // an agent changed the priority
	EventAssign                   EventKind = "assign"                     // an agent assigned the ticket
	EventTeam                     EventKind = "team"                       // an agent moved the ticket to a team
	EventCc                       EventKind = "cc"                         // an agent added a participant
	EventCcLimit                  EventKind = "cc-limit"                   // Cc addresses beyond the limit were not added
	EventCcNotAdded               EventKind = "cc-not-added"               // an unproven mail in the customer's name added nobody
	EventAgentMail                EventKind = "agent-mail"                 // a proven agent's mail was applied
	EventCommandRejected          EventKind = "command-rejected"           // an agent's #command was refused
	EventNote                     EventKind = "note"                       // an internal note
	EventRelayed                  EventKind = "relayed"                    // an agent's reply was relayed to the customer
	EventResolutionSent           EventKind = "resolution-sent"            // the resolution mail went to the customer
	EventFirstResponse            EventKind = "first-response"             // the response clock stopped
	EventStaffNote                EventKind = "staff-note"                 // a reply of an escalation recipient, kept as a note
	EventAutoReply                EventKind = "auto-reply"                 // automatic mail (an out-of-office, ...) was kept
	EventOutsider                 EventKind = "outsider"                   // mail from someone not on the ticket was kept
	EventSuspicious               EventKind = "suspicious"                 // a mail claimed what it could not prove
	EventAddressLeak              EventKind = "address-leak"               // an agent's reply address came from another From
	EventSpam                     EventKind = "spam"                       // mail the receiving server judged spam was filed without an answer
	EventCustomerEscalation       EventKind = "customer-escalation"        // the customer asked to escalate
	EventCustomerEscalationRepeat EventKind = "customer-escalation-repeat" // a repeated escalation request within a day
	EventEscalation               EventKind = "escalation"                 // escalation recipients were mailed
	EventSLAWarning               EventKind = "sla-warning"                // a ladder step before the target was missed
	EventBreach                   EventKind = "breach"                     // an SLA target was missed
	EventDeliveryFailure          EventKind = "delivery-failure"           // a delivery report for a mail of the ticket came in
	EventDeliveryFailed           EventKind = "delivery-failed"            // the SMTP server refused a mail of the ticket for good
	EventAttachmentsOmitted       EventKind = "attachments-omitted"        // a mail had more attachments than a mail keeps
	EventOversize                 EventKind = "oversize"                   // a mail larger than its mailbox takes was kept by its header; the whole mail is in quarantine
	EventPartsOmitted             EventKind = "parts-omitted"              // a mail had more MIME parts than a mail reads
	EventTextCut                  EventKind = "text-cut"                   // a mail had more text than a mail keeps; the raw mail has it all
)

// Event is one entry of a ticket's audit trail.
type Event struct {
	ID        int64
	TicketID  int64
	At        time.Time
	Kind      EventKind
	Actor     string // who made the change: an address, "system" or "sla"
	Detail    string
	MessageID string // the mail that caused it, if any
}

// NewMessageID returns a fresh, unique Message-ID (without angle brackets)
// in the domain of addr, or in "helpdeskd.invalid" when addr has none: 96
// random bits, so that no two mails ever share one.
func NewMessageID(addr string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("helpdesk: crypto/rand: %v", err))
	}
	_, domain, ok := strings.Cut(addr, "@")
	if !ok || domain == "" {
		domain = "helpdeskd.invalid"
	}
	return "hd." + hex.EncodeToString(b[:]) + "@" + domain
}

// OutMail is one row of the outbox: a mail the desk decided to send, with
// its Message-ID fixed when it was enqueued.
type OutMail struct {
	ID          int64
	TicketID    int64 // 0 when the mail belongs to no ticket
	Kind        MessageKind
	MessageID   string // without angle brackets
	From        Address
	To          []Address
	Cc          []Address
	ReplyTo     []Address
	Subject     string
	InReplyTo   string   // Message-ID the mail answers, without brackets
	References  []string // thread, oldest first, without brackets
	Text        string
	HTML        string // may be empty
	Auto        bool   // automatic mail: Auto-Submitted: auto-replied, X-Auto-Response-Suppress: All
	Headers     map[string]string
	Attachments []Attachment
	// ToCustomer marks mail to the ticket's customer side (ack, relay,
	// resolution, ...): a recipient it cannot reach is reported to the
	// agents. Mail to staff is never reported, so that a notice that
	// cannot be delivered makes no notice of its own.
	ToCustomer bool
	// Author is the agent whose reply the mail relays (relay,
	// resolution), who is told when it cannot reach someone; "" for the
	// desk's own mail, reported to the ticket's agents.
	Author string
	// Recipients is the delivery state of each envelope recipient (the
	// addresses of To and Cc, once each, in order). Empty on a mail never
	// attempted and on mail built by hand: then every address of To and
	// Cc is due (see Due).
	Recipients []Recipient
	// Raw, when set, is the mail exactly as it is to be sent, already
	// rendered from the fields above (the Sent copy's bytes, see
	// SentCopy): the sender offers these bytes instead of building the
	// mail again. Never stored on the outbox row.
	Raw []byte

	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
	FailedAt      time.Time
	// SendingAt is when the outbox last began offering the mail to the
	// server without recording the outcome yet: zero unless a send is in
	// flight or the run that made it ended before the outcome was written.
	SendingAt time.Time
}

// RecipientState is where an outbox mail stands for one of its recipients.
type RecipientState string

// Recipient states.
const (
	RecipientPending   RecipientState = "pending"   // not yet answered by the server
	RecipientDelivered RecipientState = "delivered" // the server accepted the mail for it
	RecipientRefused   RecipientState = "refused"   // refused for good (5xx), or given up after the retries
	RecipientDeferred  RecipientState = "deferred"  // refused for now (4xx): tried again at the mail's next attempt
)

// Due reports whether the mail is still to be sent to a recipient in state s.
func (s RecipientState) Due() bool { return s == RecipientPending || s == RecipientDeferred || s == "" }

// Recipient is one envelope recipient of an outbox mail and what the
// submission server last said about it.
type Recipient struct {
	Email string         `json:"email"`
	State RecipientState `json:"state"`
	// Reply is the server's words for a refusal or deferral ("550 5.1.1
	// no such user"), or why the desk gave the recipient up; "" once
	// delivered.
	Reply string    `json:"reply,omitempty"`
	At    time.Time `json:"at,omitzero"` // when State was set; zero while pending
}

// Envelope returns the mail's recipients with their states: Recipients
// when the mail has them, otherwise every address of To and Cc, once
// each (case-insensitively), pending.
func (m OutMail) Envelope() []Recipient {
	if len(m.Recipients) > 0 {
		return m.Recipients
	}
	seen := map[string]bool{}
	var out []Recipient
	for _, a := range append(append([]Address(nil), m.To...), m.Cc...) {
		k := strings.ToLower(a.Email)
		if a.Email == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, Recipient{Email: a.Email, State: RecipientPending})
	}
	return out
}

// Due returns the addresses the mail is still to be sent to: pending and
// deferred recipients, in order.
func (m OutMail) Due() []string {
	var out []string
	for _, r := range m.Envelope() {
		if r.State.Due() {
			out = append(out, r.Email)
		}
	}
	return out
}

// DeliveryAttempt is the outcome of an attempt whose recipients fared
// differently: some accepted, others refused or deferred, or left
// unanswered when the session failed between them.
type DeliveryAttempt struct {
	At time.Time
	// Results holds the new state of each recipient the attempt
	// answered (the others keep theirs).
	Results []Recipient
	// Attempts and Next schedule the recipients still due (pending or
	// deferred); LastError says why they are. Unused when none is due.
	Attempts  int
	Next      time.Time
	LastError string
}
