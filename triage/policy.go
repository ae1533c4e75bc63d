package triage

// policyMap is how one vendor policy maps the incident facts to its
// levels where the policies differ. The facts are the same for every
// policy; only these choices change. The zero value is not used: unknown
// and empty policy names get generalMap.
type policyMap struct {
	// wideRaises: a malfunction of the third level that hits everyone
	// is of the second level.
	wideRaises bool
	// partRaises: a malfunction of the third level that hits a part of
	// the users (a subset, "some", "3 of 40") is of the second level.
	partRaises bool
	// wideFailureCritical: a function failing (not merely slow) for
	// everyone, with no workaround, is of the first level.
	wideFailureCritical bool
	// questionRank is the rank of a question, how-to or admin request
	// that reports no malfunction (0: the fourth level, low).
	questionRank int
	// lowestRank, when set, is the policy's lowest level short of a
	// change request: nothing it ranks falls below it.
	lowestRank int
}

// generalMap is the mapping for mail of no known policy: both a wide and
// a partial scope raise a malfunction by one level; a second-level
// failure stays there whatever its scope (the rubric before issue 15).
var generalMap = policyMap{wideRaises: true, partRaises: true}

// policyMaps are the five vendor policies of ../shared/policies, read as
// POLICIES.md explains.
var policyMaps = map[string]policyMap{
	// ProspectSoft: High is "potentially severe impact on operation ...
	// for all users"; Medium is "some operations may not be performing
	// fully, and some users are being affected". So all users raise, a
	// part does not.
	// Business Critical is "critically affected ... for a large number of
	// users; no workaround available"; out of hours, "preventing all
	// Users".
	"prospectsoft":              {wideRaises: true, partRaises: false, wideFailureCritical: true},
	"prospectsoft-out-of-hours": {wideRaises: true, partRaises: false, wideFailureCritical: true},
	// Prosper EX: Major includes "issues affecting a subset of users".
	// Critical "prevent[s] the user from carrying out essential tasks".
	// It has three tiers: Minor, its last, names "typos or minor display
	// inconsistencies" and "general questions about platform usage", so
	// nothing of it is below the third level.
	"prosperex": {wideRaises: true, partRaises: true, wideFailureCritical: true, questionRank: 2, lowestRank: 2},
	// Claritum ranks by what the user can still do, not by how many:
	// High "prevents a user from completing a business transaction",
	// Medium "a department's or an individual's ability ... may be
	// impacted ... a workaround exists". Scope alone raises nothing.
	// Critical is "complete loss of service and work cannot continue".
	"claritum": {wideRaises: false, partRaises: false, wideFailureCritical: true},
	// StoreConnect: High is "significantly impacting the customer's
	// business", with "errors for some customers but not all".
	// Critical includes "errors that are severely disrupting the
	// business".
	// Its Medium names "training", "provisioning of new stores or
	// services" and "guidance on complex feature implementation": the
	// questions and requests a customer sends; Low is what they "would
	// like improved or fixed at some point".
	"storeconnect": {wideRaises: true, partRaises: true, wideFailureCritical: true, questionRank: 2},
}

// mapFor returns the mapping of the named policy.
func mapFor(policy string) policyMap {
	if m, ok := policyMaps[policy]; ok {
		return m
	}
	return generalMap
}
