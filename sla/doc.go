// Package sla computes service-level deadlines: business calendars (time
// zone, weekly hours, public holidays from rickar/cal and configured
// closures), business-time arithmetic, per-priority policies, the
// response and resolution clocks of a ticket with their pauses, and the
// escalation ladder.
//
// Everything but the loop is pure arithmetic on instants the caller
// passes in; the Loop (loop.go) drives the desk's per-ticket check on a
// robfig/cron schedule through the narrow Source and Checker interfaces.
package sla
