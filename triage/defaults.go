package triage

import (
	"slices"

	"github.com/helpdeskd/helpdesk"
)

// The default phrase lists, distilled from the five support policies in
// ../shared/policies (ProspectSoft user and infrastructure support,
// Prosper EX tiers, StoreConnect response times, Claritum severities).
// They are written in the pattern language of pattern.go. The groups
// below keep them readable; they are not configuration of their own.
const (
	// what a whole service is called
	gWhole = "(site|website|web site|webshop|web shop|online shop|shop|store|online store|storefront|platform|system|service|application|app|portal|crm|erp|server|servers|production|live site|homepage|home page|environment|instance)"
	// states of a service that is not serving anyone
	gDown = "(down|offline|off line|unavailable|not available|unreachable|inaccessible|not accessible|not responding|unresponsive|not loading|not load|will not load|does not load|not opening|will not open|does not open|will not start|does not start|dead|unusable|not usable|completely broken|totally broken|not working at all|not work at all|cannot be reached|cannot be accessed|gone)"
	// who can be affected
	gPeople = "(users|user|customers|customer|staff|employees|employee|clients|client|shoppers|shopper|visitors|visitor|members|member|people|colleagues|colleague|agents|agent|managers|manager|workers|worker|buyers|buyer|partners|consumers|guests|starters|team|teams|departments|department|reps|drivers|nurses|engineers|technicians|cashiers|estimators|planners|accountants|admins|administrators|designers|developers|persons|editors|salespeople|doctors|teachers|students|patients|volunteers|operators|dispatchers|pickers|packers|receptionists|therapists|tutors|coordinators|consultants|analysts|recruiters|advisers|advisors|stylists|chefs|waiters|pharmacists|caregivers|carers)"
	// places and machines a scope can count
	gPlaces   = "(offices|office|stores|branches|branch|venues|venue|locations|location|sites|shops|warehouses|warehouse)"
	gMachines = "(pcs|pc|computers|computer|devices|device|machines|machine|laptops|laptop|tills|till|printers|printer|terminals|terminal)"
	// failure words
	gFail = "(fail|fails|failed|failing|failure|failures|declined|declining|rejected|not going through|not working|not work|does not work|do not work|broken|down|impossible|not possible|not processed|not being processed|stuck|error|errors)"
	// data nouns
	gData = "(data|record|order|contact|customer|file|entry|information|history|invoice|document|email|account|database|transaction|response|result|name|note|timesheet|booking|appointment|ticket|job|quote|message|attachment|photo)"
)

// defaultPhrases are the rubric's phrase lists by level, most urgent first:
// critical, high, medium, low. defaultChange is the change-request list.
var defaultPhrases = [4][]string{
	// critical: down or unusable for everyone, cannot log in, data loss,
	// security, payments or orders failing, wrong prices, legal liability,
	// a critical integration down.
	append([]string{
		gWhole + " * " + gDown,
		// a blank page in place of the whole service is the service down
		"(" + gWhole[1:len(gWhole)-1] + "|every page|all pages|login page|log in page|sign in page) * (blank|white|empty) (white)? (page|screen)",
		"(blank|white|empty) (white)? (page|screen) (for|to) (everyone|everybody|all|anyone|anybody|all of us|every user|all users|all visitors)",
		"(total|complete|full|major|massive|global|platform|site|system|service|whole) (outage|downtime|down time|failure|breakdown)",
		"(outage|downtime)",
		"loss of service",
		"(work|business|operations|trading|production) (cannot|can no longer|could not) (continue|proceed|go on)",
		"(cannot|unable to|not able to|could not) (work|trade|operate|do anything|do our jobs|do our job|do their jobs|do their job)",
		"(nothing|none of it) (works|is working|work|loads|is loading|is available)",
		// "everything" needs its verb: "slowing everything down" is slowness
		"everything (is|was|seems|went|has gone|has been|goes) * (down|broken|failing|offline|dead|unavailable|not working)",
		"(standstill|stand still|ground to a halt|at a halt)",
		"(sitting|standing|are|is) idle",
		"(cannot|unable to|not able to|could not|can no longer) (log in|login|log on|logon|sign in|signin|log into|login into|sign into|get in|get into)",
		"(cannot|unable to|not able to|could not|can no longer) (access|reach|open|load|use|connect to) * " + gWhole,
		"(nobody|no one|no users|no user|no staff|no employee|no employees|no customers|no customer) * (can|could|is able to|are able to|was able to|has|have|had|manages to|managed to) * (log in|login|sign in|access|use|buy|pay|order|check out|checkout|work|purchase|get in|get into|open)",
		"(none of|not one of|not a single one of) * " + gPeople + " (can|could|is able to|are able to|was able to|has|have|had|manages to|managed to) * (log in|login|sign in|access|use|buy|pay|order|check out|checkout|work|purchase|get in|get into|open)",
		"(none of|not one of) us (can|could|is able to|are able to|was able to|has|have|had|manages to|managed to) * (log in|login|sign in|access|use|buy|pay|order|check out|checkout|work|purchase|get in|get into|open)",
		// non-native: "the app not open for anybody"
		"not (open|opening|opens|load|loading|loads|start|starting|starts) for (anyone|anybody|everyone|everybody|all|any of us|all of us|nobody)",
		"inability to (log in|login|sign in|access)",
		"(will not|does not|cannot|could not|did not) (open|load|start|work) for (anyone|anybody|everyone|everybody|all|any of us|all of us)",
		"(login|log in|sign in|logon) (is|are|has)? * (broken|down|failing|not working|does not work|impossible|not possible)",
		"locked out",
		"(502 bad gateway|503 service unavailable|504 gateway time out|504 gateway timeout|502|503|504|bad gateway|service unavailable|service temporarily unavailable|gateway time out|gateway timeout|err_connection_timed_out|err_connection_refused|connection timed out|took too long to respond|connection refused)",
		"(payment|payments|checkout|check out|card payments|card payment|transactions|transaction|purchases|purchase) * " + gFail,
		"(declined|failed|failing|rejected|refused) (card|credit card|online|customer)? (payments|payment|transactions|transaction|checkouts|checkout)",
		"(charged|taken|debited|billed|charging|charge|paid) * (twice|double|two times|multiple times|several times)",
		"(paying|pay|charged|billed) (more|less) than (advertised|shown|listed|they should)",
		"(overcharg*|undercharg*)",
		"(discount|discounts|sale price|sale prices|promotion|promo|coupon|voucher|offer price) * (not applied|not applying|not being applied|ignored|not working|missing|does not apply)",
		"(full|normal|old|wrong) price instead of",
		"(every|each|all) (single)? (page|pages|screen|screens|request|requests) (returns|return|shows|show|gives|give|is|are) (an|a)? (error|errors|404|500|502|503|blank)",
		"(effectively|basically|practically|essentially) (closed|down|offline|shut|dead)",
		"(double|duplicate) (charge|charged|charging|payment|billing|debit|transaction)",
		"(cannot|unable to|not able to|could not|nobody can|nobody) (pay|buy|purchase|check out|checkout|order)",
		"(cannot|unable to|not able to|could not|nobody can|nobody) (place|take|process|complete) * (orders|order|purchase|purchases|payment|payments|checkout)",
		"(cannot|unable to|not able to|could not) (take|accept|receive) * orders",
		"no (new|web|online)? orders * (transferred|received|processed|imported|coming|arriving|synced|created|placed|come|arrive|arrived|went)",
		"(orders|order intake|order taking) * (stuck|not coming through|not being transferred|not being processed|not being received|not being imported|not arriving|not reaching|not transferred|are not reaching|not going through)",
		"(from|stop|stops|stopping|prevents|preventing) (taking|placing|processing|accepting) * orders",
		"(integration|interface|connector) * (stopped working|stopped|failed|down|broken|not working|failing|does not work|nolonger works|no longer works|is down)",
		"(severely|seriously|massively|badly|significantly|completely) (disrupt*|impact*|affect*|hit*) * (business|operation|operations|trading|sales)",
		"(losing|lost|lose) (money|revenue|sales|business|thousands|hundreds|income)",
	}, defaultUnscoped...),
	// high: degraded, slow, intermittent, a subset of users, delayed or
	// stale synchronisation, an important transaction blocked.
	append([]string{
		"(time out|times out|timed out|timing out|timeout|timeouts)",
		"(hangs|hanging|hung|freezes|freezing|frozen)",
		"(spinning|loading) (wheel|forever|icon|circle)",
		"keeps (crashing|failing|freezing|hanging|timing out|dropping)",
		"keeps (logging|kicking|throwing) * out",
		"(crash|crashes|crashing|crashed)",
		"(frequent|frequently|constant|constantly|repeated|repeatedly|regular|regularly) * (error|errors|crash*|fail*|logged out|drop*|disconnect*)",
		"(partial|intermittent) (outage|downtime|failure|failures)",
		"partially (down|working|available|broken)",
		"(checkout|payment*|order|orders|invoice|invoices|booking*|login|api|integration*|approval*|approv*|quote|quotes|quotation*|purchase order*|transaction*|emails|email) * (not working|broken|fail|fails|failed|failing|error|errors|does not work|stopped working|not sending|not being sent|not sent|never arrive|never arrives|not arriving|not delivered)",
		"(cannot|unable to|not able to|could not|can no longer) (approve|complete|submit|process|create|generate|save|send|post|finish|raise|book|invoice)",
		"(major|serious|big|significant|severe) (problem|issue|impact|disruption|bug|outage)",
		"significantly (impact*|disrupt*|affect*)",
		"(restricted|limited) (fashion|way|mode|capacity)",
		"(blocked|blocking|blocker)",
		"(500|internal server error)",
		"(lose|lost|losing) * (work|changes|progress)",
		"productivity",
		"key (workflow|workflows|feature|features|function|functions|process|processes)",
		"important (feature|features|function|functions)",
	}, defaultDegraded...),
	// medium: something not fully working, limited impact, provisioning.
	{
		"(not working|not work|does not work|do not work|did not work|stopped working|no longer works|nolonger works|not functioning|not function|not saving|not sending|not showing|not appear|not appearing|does not appear|not displaying|not printing|not receiving|not calculating|not opening|does not do anything|not loading|not load|does not load|will not load|stopped receiving|not matching|does not match|do not match)",
		"(error|errors|failed|fails|failing|failure|fail|broken|bug|bugs|buggy|glitch|issue|problem|wrong|incorrect|missing|disappear*|duplicate*|twice|skipped|skipping|invalid|unable to|not able to)",
		"minor (issue|problem|bug|hiccup|hiccups|glitch|issues|problems)",
		"limited impact",
		"(inconvenien*|annoying|irritating)",
		"(logged|kicked|thrown|signed) out",
		"(is|are|comes out|come out|came out|shows|show|looks|look|stays|stay) (empty|blank)",
		"(cannot|unable to|not able to|could not|can no longer) (see|open|access|use|edit|save|print|download|upload|view|select|add|create|delete|change|update|export|import)",
		"(some|certain) (operation|operations|function|functions|feature|features)",
		"not (fully|properly|correctly) (working|functioning|performing)",
		"(provision|provisioning)",
		"(new|second|another|additional) (store|site|shop|instance|environment|sandbox)",
		"set up (a|an|the)? (new)? (store|site|shop|environment|instance|space|venue|location|account|tenant|branch|workspace|sandbox)",
	},
	// low: cosmetic, typos, questions, how-to, training.
	append([]string{
		"(typo|typos|spelling|spelt|misspelt|misspelled|misspelling|grammar|wording)",
		"(cosmetic|cosmetics)",
		"(misaligned|misalignment|alignment|overlaps|overlapping|overlap|cut off|truncated)",
		"(looks|look|looking) (odd|weird|wrong|off|strange|ugly|funny|broken|bad|blurry|squashed|stretched)",
		"(blurry|pixelated|pixellated|stretched|squashed|distorted|cropped)",
		"(display|visual|ui|layout|cosmetic|styling) (glitch|glitches|issue|issues|problem|problems|bug|bugs|inconsistency|inconsistencies|only)",
		"only (a|the)? (display|visual|cosmetic|layout)",
		"(wrong|incorrect) (colour|color|font|icon|logo|image|spacing)",
		"(red|green|blue|grey|gray|black|white|orange|yellow|purple) instead of",
		"(documentation|user guide|manual|knowledge base|help article|tutorial|tutorials|videos|webinar)",
		"(training|train)",
		"(no|low|minimal|without any) impact",
		"does not (stop|block|prevent|affect) (anything|anyone|us|our work|functionality|work|the function)",
		"(non essential|nonessential)",
	}, defaultQuestion...),
}

// defaultDegraded says that a service works, but slowly: every policy
// puts degraded performance at its second level, so a claim of the first
// level on it alone is not taken.
var defaultDegraded = []string{
	"(slow|slowly|slower|slowness|slowdown|slowed|slows|slowing|sluggish|laggy|lagging|latency)",
	"(takes|taking|took|take|need|needs|needed) * (ages|forever|minutes|too long|a long time|seconds|second|hours)",
	"(poor|bad|slow|degraded|terrible|awful|reduced) performance",
	"performance (issue|issues|problem|problems|degradation|degraded|is slow|is poor|has dropped|slowdown|is terrible)",
	"(degraded|degradation|degrading)",
	"(hours|days|minutes) (behind|late|delayed|out of date|old)",
	"running (behind|late)",
	"(receive|received|arrive|arrives|arrived|arriving|sent|come|comes) (late|delayed|with delay|hours late)",
	// Delayed or stale synchronisation is Prosper EX's Major and
	// StoreConnect's High ("stale or incorrect data that is not critical
	// to the operation of the business").
	"(sync|syncing|synced|synchronisation|synchronization|synchronising|synchronizing|replication|import|imports|feed|updates) * (delay*|behind|late|lagging|stuck|stale|not running|not happening|out of date)",
	"(delay|delayed|delays|behind|late) * (sync*|synchroni*)",
	"(stale|out of sync|not in sync)",
	"(not|nolonger|no longer|stopped) (updating|syncing|synchronising|synchronizing|refreshing|synced|updated)",
	"(stale|outdated|out of date|old|obsolete|incorrect|wrong) (data|stock|stock levels|inventory|information|info|figures|content|descriptions|images|totals)",
	"(data|information|stock|stock levels|figures|content|inventory|availability) * (stale|out of date|outdated|not updat*|not refresh*|behind)",
}

// defaultQuestion says that a mail asks something: how to do a thing,
// whether it is possible, where a setting is. A question is the low level
// by every policy (questions and how-tos), but only when the mail reports
// no malfunction: "quick question" and "I wonder" are also how polite
// people open the report of an outage, so these phrases tell the kind of
// mail, not its impact, and lose to any failure the mail describes (see
// decide).
var defaultQuestion = []string{
	"how (do|can|should|would|could) (i|we|you|one|they|users)",
	"how (i|we) (can|could|should)",
	"how to (change|set|add|use|configure|create|export|import|find|get|do|make|reset|delete|remove|edit|update|enable|disable|install|connect|access|setup|set up|print|send|invite|upload|download|move|merge|assign|customise|customize|learn)",
	"(is|are) (it|there|they) (possible|a way)",
	"is possible to",
	"(can|could) (i|we|you) (please)? (change|configure|export|find|get|use|explain)",
	"where (can|do|should|would) (i|we|you) (find|get|see|set|change|configure|look)",
	"what (is|are|does|do) the (best|right|correct|difference|meaning|recommended)",
	"(quick|small|general|simple|short|little|one|another|a) (question|query|enquiry|inquiry)",
	"(question|questions|query|enquiry|inquiry) (about|regarding|on|concerning)",
	"(i|we) (have|had) (a|some|few|a few)? (question|questions)",
	"(wondering|wonder)",
	// not finding a setting or a page is how a how-to question is put
	"(cannot|unable to|not able to|could not|can no longer) find",
	// nor is not working out how ("I cannot work out whether ...")
	"(cannot|unable to|not able to|could not) (workout|figure out)",
	"(could|can|would) (you|someone|somebody|anyone) (please)? (advise|explain|clarify|recommend)",
	// Admin requests: asking the vendor to do something to an account
	// (a reset, a licence, a role) reports no failure either.
	"(please|pls|kindly|could you|can you|would you|could someone|can someone|would someone) (please|kindly)? (reset|grant|transfer|deactivate|reactivate|activate|unlock|assign|revoke|extend|rename|merge|load|upgrade|downgrade|remove|delete|set up|setup|create|change)",
	"(new|additional|extra|spare) (licence|license|licences|licenses|seat|seats|starter|starters)",
	"(leaver|leavers|starter|starters|admin rights|admin role|administrator rights|access rights)",
	"(is|are|does|do|can|will) (there|you|it|we|i) (support|offer|allow|provide|need) (a|an|any)?",
	// "do you have a ...", "can we have a ...", but not "can you have a
	// look", which asks for a fault to be looked at
	"(is|are|does|do|will) (there|you|it|we|i) have (a|an|any)?",
	"can (we|i) have (a|an|any)?",
	"(what is|what s|what are|which is|which are) the (maximum|minimum|max|min|limit|limits|size|format|setting|settings|process|procedure|policy)",
	"(do|does|can|could|will|would) (you|it|the system|the platform) (support|allow|offer|provide)",
	"(do|does|will|would) (you|it|the system|the platform) have",
}

// defaultUnscoped are critical phrases whose level a narrow scope does not
// lower: data loss, security and exposure, wrong prices, legal liability.
var defaultUnscoped = []string{
	"data loss",
	"(lost|losing|lose) * " + gData,
	gData + " * (gone|missing|disappeared|vanished|deleted|wiped|erased|lost|overwritten|corrupt*|destroyed|scrambled|garbled|mixed up)",
	"(vanished|disappeared|deleted|wiped|removed|erased|gone missing|missing) from (the|our)? (system|database|crm|platform|account|server|app|application|portal)",
	"(restore|recover) * (data|records|backup|contacts|entries|files|from backup)",
	"(corrupt|corrupted|corruption)",
	"(wiped|deleted|erased) * (data|database|records|files)",
	"(security|privacy) (breach|incident|hole|issue|vulnerability|problem|flaw|bug|risk|leak|violation)",
	"(employees|customers|clients|users|staff|data|documents|records|details|names|files|invoices) (of|from|belonging to) (another|a different|other) (company|companies|customer|customers|client|clients|organisation|organization|tenant|account|business)",
	"(see|view|access|open|download|saw|seen|read) (each other|other people|someone else|another person|other clients|other customers|other users|other companies)",
	"(breach|breached|breaches|vulnerability|vulnerabilities|vulnerable|hacked|hacker|hackers|hacking|compromised|exploit|exploited|xss|cross site scripting|sql injection|unauthorised access|unauthorized access|data exposure|data leak|data breach)",
	"(exposed|leaked|leaking|exposing|exposes) * (data|details|information|emails|email addresses|addresses|passwords|records|customers|personal)",
	"(data|details|information|email addresses|addresses|passwords|records|orders|invoices|documents) (from|of|belonging to) (other|another) (customer|customers|user|users|company|companies|client|clients|account|accounts|tenant|tenants)",
	"(data|details|information|emails|addresses|passwords|records) * (exposed|leaked|publicly visible|public|visible to everyone|visible to anyone)",
	"anyone can (download|see|access|view|read)",
	"(plain text|plaintext|clear text|cleartext|unencrypted|unmasked) (password|credentials|card number|card details)",
	"(password|credentials) * (plain text|plaintext|clear text|cleartext|unencrypted)",
	"log in as (another|any|that|other|a different|someone) (user|customer|person|account|else)",
	"(access|see|view|read) (other|another) (people|users|customers|user|customer|company) (data|details|account|record|information)",
	"(wrong|incorrect|bad|false) (price|prices|pricing)",
	"(price|prices|pricing) * (wrong|incorrect|excluding vat|without vat|missing vat|zero|showing as 0)",
	"(listed|selling|sold|showing|priced) * (wrong price|incorrect price|for free|below cost)",
	// Prices left at old values are wrong prices to the customer who pays them.
	"(old|outdated|out of date|stale|previous|last year s|superseded) (price|prices|pricing|price list)",
	"(price|prices|pricing|price list) * (not updat*|not refresh*|out of date|outdated|stale|not changed|have not changed|did not change|still the old)",
	"legal (liability|issue|problem|risk|exposure|requirement|requirements|action)",
	"(liability|liabilities|lawsuit|sued|illegal|unlawful|not legal)",
	"(risk of|face|facing|exposed to|exposes us to) (fines|penalties|legal action|a fine)",
	"(compliance|regulatory) (issue|breach|violation|problem)",
	"(non compliant|noncompliant|breach of contract)",
	// Exposure of other parties' data is critical whatever the scope: one
	// person seeing another company's records is a breach for both.
	"(someone else|somebody else|another company|another customer|another client|another user|another organisation|another organization|another school|other company|other companies|other customers|other clients|other suppliers|other users|a different customer|a different company) (s)? (data|account|accounts|orders|order|records|details|posts|prices|price list|bids|names|staff|employees|notes|profile|profiles|information|invoices|dashboard)",
	"(data|records|staff|employees|people|posts|names|orders|bids|prices) (of|from|at|belonging to) (some|a|an)? (other|another|different) (company|companies|customer|customers|client|clients|supplier|suppliers|organisation|organization|school|business)",
	"(see|seeing|saw|seen|view|access|read|open) * (should not|should never|must not|are not supposed to|is not supposed to|not meant to|was not meant to) (see|be able to|have access|be visible)",
	"(should|must) (never|not) be (visible|shown|seen|accessible)",
	"(anonymous|confidential|private|personal) * (visible|exposed|shown|revealed|can see|can read)",
	// Records filed under the wrong thing are corrupt: "the answers for
	// question 3 are showing under question 7", "notes saved against the
	// wrong employee".
	"(answers|responses|results|scores|notes|comments|records|entries|data|feedback|ratings|reviews|check ins) * (showing|shown|appear|appearing|appears|recorded|saved|stored|filed|attributed|attached) (under|against|to|on|for) (the)? (wrong|a different) (question|questions|person|employee|employees|customer|customers|account|accounts|record|records|user|users|staff member|member|members|manager|managers|client|clients)",
	"(answers|responses|results|scores) * * (are|is|were|was) (showing|appearing|recorded|saved|stored|listed|counted) (under|against) (question|q) #",
	// Private words others can read: "some of the private messages
	// between two of my groomers are showing up on the kudos page where
	// everyone can see them".
	"(private|personal|confidential|anonymous) * * * * (everyone|everybody|anyone|all staff|all employees|all users|other staff|other people|others|the public|the whole company|the whole team) (can|could|is able to|are able to) (see|read|view)",
	// Someone seeing what is not theirs: everyone's records, or private
	// ones ("the payroll officer can now see everyone's 1-1 notes").
	"(see|view|read|access|open) (everyone|everybody|every employee|all staff|all employees|all users) (s)? (data|notes|records|details|feedback|messages|salaries|salary|pay|reviews|files|information|check ins)",
	"(can|could|able to) (now)? (see|view|read|access|open) * (private|confidential|sensitive) (notes|feedback|data|messages|records|information|details|files|documents|check ins)",
	// Access that should have ended: leavers still in.
	"(left|leavers|leaver|former employees|former staff|ex employees|ex staff|terminated|departed) * still (active|have access|has access|can log in|can access|able to log in|logging in|log in)",
	"(api key|api keys|secret|secrets|token|tokens|credentials|password|passwords) * (exposed|leaked|public|published|pushed|committed|compromised|stolen)",
	"(link|links|session|sessions|token|tokens|password reset|invitation|invitations|api key|api keys|key|keys|credentials|password|passwords|login|logins|certificate|secret) * (never expire|do not expire|does not expire|not expire|never expires|still work|still valid|still opens|can be reused|can be used again|reusable|works again|work again)",
	"(api key|api keys|secret|secrets|token|tokens|credentials|password|passwords) * (shown|visible|displayed|readable) to (every|all|any|anyone|everyone|everybody)",
	// Reached without signing in: "the link opens the report in a private
	// window without asking me to log in", "report links work without
	// logging in".
	"(opens|open|opened|accessible|access|available|viewable|visible|readable|reachable|work|works|worked|load|loads|loaded) * without (login|logging in|a login|signing in|password|a password|authentication|any login|being logged in)",
	"without (asking|prompting|requiring|needing) (me|you|us|them|anyone|anybody|people|users)? (to)? (log in|login|sign in|authenticate|enter a password)",
	// Legal liability: a fine, a licence or a tax document made invalid.
	"(could|can|might|may|will|would) (be|get) (fined|sued|prosecuted)",
	"(lose|losing|lost|breach|breaching|breaches|requires|required by) (our|the|a)? (licence|license|liquor licence|liquor license)",
	"(not|no longer|is not|are not) (a)? (valid|legal|compliant) (tax)? (invoice|invoices|receipt|receipts)",
	// Business blocked: nothing can be shipped, sold or dispatched.
	"nothing (is|was|can be|gets|is getting|is being|has been) * (shipped|dispatched|sold|delivered|processed|picked|sent out)",
	"(none|not one|not a single one|zero|no) (of them|of the orders)? (has|have)? (shown up|come through|arrived|synced|been received|been imported|reached)",
	"(zero|0|no) new orders",
	"(complete|place|placing|completing) (an|the|their)? (order|orders) without (paying|payment|being charged)",
}

// defaultChange describes feature and change requests.
var defaultChange = []string{
	"(feature|change|enhancement|improvement) (request|requests)",
	"request (for)? (a|an)? (new)? (feature|change|enhancement|improvement|option|field|report|column)",
	"(new|feature) (feature|idea)",
	"(it would|would) (be|be really|be very|be so) (great|nice|good|helpful|useful|handy|brilliant)",
	"nice to have",
	"(could|can|would) you (please)? (add|include|introduce|implement|build|support|allow|provide|develop)",
	"please (add|implement|introduce|allow|include|build|develop)",
	"(we|i) (would|d) (like|love) (to have|the ability|the option|to be able|to see|a new|an option|to offer|to get)",
	"you (could|can|would) (add|build|implement|support|introduce|develop|provide)",
	"(like|want|need|love|request|requesting|add|adding|provide|give us|have|get) (the|an|a)? (ability|option|possibility) to",
	"(plan|planning|plans) to (support|add|offer|introduce|build|integrate|provide|allow)",
	"would make * (easier|simpler|faster|quicker|better|more efficient)",
	"(suggestion|suggest|suggesting|idea|ideas|wish|wishlist|proposal)",
	"(roadmap|enhancement|enhancements|improvement|improvements)",
	"(add|adding) (a|an)? (new|extra|additional|optional)? (column|field|option|button|filter|setting|feature|report|tab)",
	"(new|extra|additional|one more) (column|field|option|button|filter|setting|report|tab|mode)",
	"(dark mode|customisation|customization|bespoke)",
	"(is|would) (it|this) (be)? possible to (have|add|get)",
	// asking for something the product does not do yet
	"(consider|considering|any chance of|chance of|plans for|plan for) (adding|supporting|offering|building|introducing|allowing)",
	"(any chance|possible to add|an option for)",
	"(could|can|would) * be (added|extended|changed to|made to)",
	"is possible to (have|add|get)",
}

// defaultWide says that everyone, or most, are affected.
var defaultWide = []string{
	"(all|every|each) (of)? (our|the|my|your)? " + gPeople,
	"(all|every) (of)? (our|the)? * " + gPeople,
	"(all|every|each) (of)? (our|the|my|your)? * " + gPlaces,
	"(everyone|everybody|nobody)",
	"(none|any|not one|not a single one) of (our|the|my) * " + gPeople,
	"(any|every) (user|customer|visitor|client|one|shopper|employee)",
	"(whole|entire|complete) * (company|team|office|organisation|organization|business|staff|workforce|department|site|store|platform|system|shop)",
	"(company wide|companywide|organisation wide|organization wide|across the board|across the company|across the organisation)",
	"(most|majority|bulk) (of)? (our|the)? " + gPeople,
	"(large|huge|great) number of",
	"(hundreds|thousands) of",
	"(all|every) (order|orders|page|pages|request|requests|call|calls|screen|screens|channel|channels|transaction|transactions|payment|payments|attempt|attempts)",
	"all (of)? us",
	"(all|whole) (company|team|office)",
	"(for|by) (anyone|anybody)",
	"(all|none|each|every one) of (our|my|us)",
}

// defaultNarrow says that a part of the users is affected.
var defaultNarrow = append([]string{
	"(some|several|certain|few|a few|a number of|a handful of|handful of|a couple of|a subset of|subset of|part of|half of|a third of|a quarter of|a minority of|minority of) (of)? (our|the)? * " + gPeople,
	"# (of)? (our|the)? " + gPeople + " (are|is|get|gets|cannot|have|report|reported|affected|see|experience)",
	"# of (our|the|my) * " + gPeople,
	"# (users|customers|people|employees|staff) (affected|impacted)",
	"(only|just) (some|a few|certain|a handful)",
	"not (all|everyone|everybody)",
	"affected out of",
	"(a few|some|several|a number|a couple|a handful|half|part|many|a minority) of (our|my)",
	// counts in words are a part too: "two of our users", "about a dozen
	// users" (a dozen is no "large number")
	gFew + " (of)? (our|the|my)? * " + gPeople,
	// a part of the transactions rather than of the people: "half of the
	// card payments", "some of our orders"
	"(some|several|certain|a few|few|half|a third|a quarter|part|a minority|a small number|a portion|a fraction) of (the|our|my|all)? * " + gCounted,
	"(some|several|certain|a few) " + gCounted + " (fail|fails|failed|are declined|were declined|get declined|are rejected|error|go through|work)",
}, contrastNarrow...)

// gFew are counts in words of a few to a dozen or so.
const gFew = "(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|a dozen|dozen|about a dozen|a couple|couple|a few|few|several)"

// gCounted are the things a failure can hit a part of.
const gCounted = "(payments|payment|card payments|orders|order|transactions|transaction|checkouts|purchases|bookings|requests|calls|emails|invoices|records|jobs|pages|files|uploads|documents|accounts|logins|attempts|sessions)"

// contrastNarrow and contrastSingle are the scope phrases that say the
// others are fine, a part of the users ("the other teams are OK") or all
// but one ("everyone else"); they end defaultNarrow and defaultSingle.
var (
	contrastNarrow = []string{
		"(other|others|the other|the others|other users|the rest) * (are|is|work|works|seem|seems) (fine|ok|okay|unaffected|not affected)",
		"most (people|users|customers|staff|employees) (are|is|seem) (fine|ok|okay|unaffected)",
		"(some|certain) but not all",
	}
	contrastSingle = []string{
		"(everyone|everybody) else",
		"(nobody|no one) else",
		"(colleagues|my colleagues) (are|have|do not|seem) * (fine|ok|okay|unaffected|no problem|problem)",
	}
)

// defaultContrast are the phrases of contrastNarrow and contrastSingle:
// a mail that says the others are fine is about a part, whatever wide
// words it also uses ("they are all people we moved", "everyone in the
// depot").
var defaultContrast = append(slices.Clone(contrastNarrow), contrastSingle...)

// defaultSingle says that one user, one team or one machine is affected.
var defaultSingle = append([]string{
	"(one|1|a single|single|only one|just one) (of)? (our|my|the)? * (user|users|customer|customers|client|clients|colleague|colleagues|employee|employees|member|person|account|agent|agents|manager|managers|team|teams|department|departments)",
	"(one|1|a single|single|only one|just one) (of)? (our|my|the)? * " + gMachines,
	"(one|1|a single|single|only one|just one) (of)? (our|my|the)? * " + gPlaces,
	"(only|just) (our|my|the|one)? * (team|department|office|branch|store|location|user|pc|device|laptop|computer|account)",
	"(only|just) (me|for me|my account|mine|my user|my login|my pc|my computer|my laptop|my device)",
	"(is|it is|it s) (only|just) me",
	"only (affects|affecting|concerns|for) (me|one|my)",
	"(team|department|office|branch|store|location|user|account|pc|laptop|computer|device|machine) only",
}, contrastSingle...)

// defaultWorkaround says that the customer can carry on another way.
var defaultWorkaround = []string{
	"(workaround|work around|workarounds|temporary fix|temporary solution|temp fix)",
	"in the meantime (we|i) (can|are|will|use|have)",
	"(we|i) can (still)? (use|add|split|email|print|enter|process|take|export|send|call|book|upload|do it|enter them)",
	"(we|i) (are|am) (using|doing|entering|processing|taking|printing|sending) * (manually|by hand|instead|for now|by phone)",
	"(manually|by hand) (for now|instead|meanwhile|in the meantime)",
	"(for now|instead|meanwhile) (we|i) (use|are using|can|do)",
	"(we|i) use * (for now|instead|meanwhile)",
	"live with it",
	"(when|if) (we|i|you) * it (works|work)",
	"(alternative|another|other) way (works|to do it)",
}

// defaultIntermittent says that a failure comes and goes, or is over.
var defaultIntermittent = []string{
	"(intermittent|intermittently|sporadic|sporadically|occasional|occasionally|sometimes|randomly|random|flaky|flakey)",
	"(on and off|off and on|from time to time|every now and then|now and again|now and then|at times|some of the time|up and down|comes and goes|come and go|hit and miss|hit or miss)",
	"(few|several|many|multiple) times (a|an|per|every) (day|hour|minute|week)",
	"times (a|an|per) (day|hour)",
	"every (second|third|fourth|other) (time|submission|attempt|request|try|order|page)",
	// "comes back" alone also describes a redirect ("it comes back to the
	// login page") or a result ("comes back empty"): only back up, back
	// online or back again says the failure is over.
	"(comes|came|come|is|are|was) back (up|online|again)",
	"back (up|online)",
	"(working|works|work) again",
	"(recovered|resolved itself|fixed itself|came back)",
	// "goes down for a few minutes at a time, maybe once an hour, then
	// comes back by itself"
	"(minute|minutes|second|seconds|hour|hours) at a time",
	"(once|twice) (an|a|per|every) (hour|day)",
	"(comes|come|came) back (by itself|on its own|of its own accord|by themselves)",
	"(the rest of the time|most of the time|otherwise) (it|the site|the system|everything)? (works|is fine|is ok|is okay|works normally|works fine)",
	"(retry|retrying|retries|refresh|refreshing|reload|reloading) (usually|often|normally|mostly)? (works|helps|fixes it)",
}

// defaultNegation are words that cancel a phrase shortly after them.
var defaultNegation = []string{
	"(not|no|never|nothing|without|neither|nor|non|hardly|barely|nolonger)",
	"(prevent|prevents|preventing|avoid|avoids|avoiding)",
	"(if|whether|in case|what if|rather than)",
}

// defaultServices name services and features; the first one the mail
// mentions is taken as the affected service when no "Service:" line says
// it.
var defaultServices = []string{
	"(website|web site|webshop|web shop|online shop|shop|store|online store|storefront|site|homepage|checkout|basket|cart|portal|platform|system|mobile app|app|application|crm|erp|api|server|database|intranet|extranet)",
	"(payment|payments|payment gateway|gateway|paypal|stripe|card payments|american express|amex|visa|mastercard|direct debit)",
	"(integration|integrations|sync|synchronisation|synchronization|feed|interface|connector|webhook|webhooks)",
	"(login|log in|sign in|login page|password|single sign on|sso|two factor|2fa|mfa)",
	"(dashboard|dashboards|report|reports|reporting|export|exports|import|imports|search|upload|uploads|download|downloads)",
	"(invoice|invoices|billing|email|emails|e mail|notification|notifications|calendar|newsletter|template|templates)",
	"(order|orders|quote|quotes|proposal|proposals|job|jobs|approval|approvals|workflow|purchase orders|timesheet|timesheets|document library|documents|catalogue|catalog)",
	"(1 1s|1 1|kudos|survey|surveys|1 on 1s|one to ones|product feed|status page|documentation)",
}

// uiParts name parts of a screen; one is taken as the service only when
// the mail names no service or feature.
var uiParts = []string{
	"(form|forms|page|pages|tab|menu|button|field|fields|column|module|tooltip|widget|footer|header|dropdown|drop down|list|view|filter|filters|screen|settings|preview|icon|label|labels|printing|printer|printers|products|product|prices|pricing)",
}

// defaultLevelPhrases maps the default lists onto levels by rank: the
// first list to the most urgent level, and so on. With fewer than four
// levels the less urgent lists fold into the last level; a fifth or later
// level has no default phrases.
func defaultLevelPhrases(levels helpdesk.Levels) map[helpdesk.Priority][]string {
	m := make(map[helpdesk.Priority][]string)
	for i, p := range levels.Order {
		if i < len(defaultPhrases) {
			m[p] = append(m[p], defaultPhrases[i]...)
		}
	}
	// With fewer than four levels the less urgent lists fold into the last.
	for i := len(levels.Order); i < len(defaultPhrases) && len(levels.Order) > 0; i++ {
		last := levels.Order[len(levels.Order)-1]
		m[last] = append(m[last], defaultPhrases[i]...)
	}
	if levels.Change != "" {
		m[levels.Change] = append([]string(nil), defaultChange...)
	}
	return m
}
