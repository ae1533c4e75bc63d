package triage

import "github.com/helpdeskd/helpdesk"

// RefAssess is Assess as it was before triage was made faster (see
// equiv_ref_test.go), for the tests of package triage_test.
func (t *Triage) RefAssess(in Input) helpdesk.Assessment { return t.refAssess(in) }
