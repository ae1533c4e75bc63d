package message

import "testing"

// TestSpamVerdict parses mails with the verdict fields of common spam
// filters, with values as those filters write them.
func TestSpamVerdict(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"none", "", ""},

		// SpamAssassin
		{"sa flag yes", "X-Spam-Flag: YES\n", "X-Spam-Flag: YES"},
		{"sa flag yes lower", "X-Spam-Flag: yes\n", "X-Spam-Flag: YES"},
		{"sa flag no", "X-Spam-Flag: NO\n", ""},
		{"sa status yes",
			"X-Spam-Status: Yes, score=7.1 required=5.0 tests=BAYES_99,HTML_MESSAGE,\n\tRDNS_NONE,URIBL_BLACK autolearn=no autolearn_force=no version=3.4.6\n",
			"X-Spam-Status: Yes, score=7.1"},
		{"sa status yes old hits", "X-Spam-Status: Yes, hits=12.3 required=5.0 tests=BAYES_99\n", "X-Spam-Status: Yes, score=12.3"},
		{"sa status yes bare", "X-Spam-Status: Yes\n", "X-Spam-Status: Yes"},
		{"sa status no",
			"X-Spam-Status: No, score=-1.1 required=5.0 tests=BAYES_00,DKIM_SIGNED,\n\tDKIM_VALID autolearn=ham autolearn_force=no version=3.4.6\n", ""},
		{"sa status no bare", "X-Spam-Status: No\n", ""},
		{"sa score lines only", "X-Spam-Level: *******\nX-Spam-Score: 7.1\nX-Spam-Checker-Version: SpamAssassin 3.4.6 (2021-04-09) on mx.example.com\n", ""},
		{"sa flag no status yes", "X-Spam-Flag: NO\nX-Spam-Status: Yes, score=5.2 required=5.0\n", "X-Spam-Status: Yes, score=5.2"},

		// rspamd
		{"rspamd milter x-spam yes", "X-Spam: Yes\n", "X-Spam: Yes"},
		{"x-spam true", "X-Spam: true\n", "X-Spam: true"},
		{"x-spam no", "X-Spam: No\n", ""},
		{"rspamd action add header", "X-Rspamd-Action: add header\n", "X-Rspamd-Action: add header"},
		{"rspamd action rewrite subject", "X-Rspamd-Action: rewrite subject\n", "X-Rspamd-Action: rewrite subject"},
		{"rspamd action soft reject", "X-Rspamd-Action: soft reject\n", "X-Rspamd-Action: soft reject"},
		{"rspamd action reject", "X-Rspamd-Action: reject\n", "X-Rspamd-Action: reject"},
		{"rspamd action underscore", "X-Spam-Action: add_header\n", "X-Spam-Action: add_header"},
		{"spam action", "X-Spam-Action: add header\n", "X-Spam-Action: add header"},
		{"rspamd no action", "X-Rspamd-Action: no action\n", ""},
		{"rspamd greylist", "X-Rspamd-Action: greylist\n", ""},
		{"spamd result is a score line",
			"X-Spamd-Result: default: False [8.40 / 15.00];\n\tBAYES_SPAM(5.10)[99.99%];\n\tR_SPF_FAIL(1.00)[-all]\nX-Rspamd-Server: mx1\nX-Rspamd-Queue-Id: 4F2A11C0B2\n", ""},
		{"spamd result with add header", "X-Spamd-Result: default: True [9.10 / 15.00]\nX-Rspamd-Action: add header\n", "X-Rspamd-Action: add header"},

		// Microsoft
		{"scl 5", "X-MS-Exchange-Organization-SCL: 5\n", "X-MS-Exchange-Organization-SCL: 5"},
		{"scl 9", "X-MS-Exchange-Organization-SCL: 9\n", "X-MS-Exchange-Organization-SCL: 9"},
		{"scl 1", "X-MS-Exchange-Organization-SCL: 1\n", ""},
		{"scl -1", "X-MS-Exchange-Organization-SCL: -1\n", ""},
		{"scl junk", "X-MS-Exchange-Organization-SCL: high\n", ""},
		{"forefront spm",
			"X-Forefront-Antispam-Report: CIP:203.0.113.7;CTRY:US;LANG:en;SCL:5;SRV:;IPV:NLI;SFV:SPM;H:mail.spam.example;PTR:;CAT:SPM;SFS:(13230031)(4636009);DIR:INB;\n",
			"X-Forefront-Antispam-Report: SFV:SPM"},
		{"forefront sks",
			"X-Forefront-Antispam-Report: CIP:198.51.100.4;CTRY:;LANG:de;SCL:6;SRV:;IPV:NLI;SFV:SKS;H:mx.example.de;PTR:;CAT:NONE;SFS:;DIR:INB;\n",
			"X-Forefront-Antispam-Report: SFV:SKS"},
		{"forefront folded",
			"X-Forefront-Antispam-Report:\n\tCIP:203.0.113.7;CTRY:US;LANG:en;SCL:5;SRV:;IPV:NLI;\n\tSFV:SPM;H:mail.spam.example;PTR:;CAT:SPM;\n",
			"X-Forefront-Antispam-Report: SFV:SPM"},
		{"forefront nspm",
			"X-Forefront-Antispam-Report: CIP:255.255.255.255;CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:DB8PR04MB6890.eurprd04.prod.outlook.com;PTR:;CAT:NONE;SFS:(13230040)(366004)(39860400002);DIR:OUT;SFP:1101;\n", ""},
		{"forefront safe sender", "X-Forefront-Antispam-Report: CIP:192.0.2.1;CTRY:;LANG:en;SCL:-1;SRV:;IPV:NLI;SFV:SFE;H:x;PTR:;CAT:NONE;SFS:;DIR:INB;\n", ""},

		// Barracuda
		{"barracuda yes", "X-Barracuda-Spam-Status: Yes, SCORE=7.23 using global scores of TAG_LEVEL=3.5 QUARANTINE_LEVEL=1000.0 KILL_LEVEL=6.0 tests=BSF_SC0_SA_TO_FROM_ADDR_MATCH\n",
			"X-Barracuda-Spam-Status: Yes, score=7.23"},
		{"barracuda no", "X-Barracuda-Spam-Status: No, SCORE=0.00 using per-user scores of TAG_LEVEL=3.5 QUARANTINE_LEVEL=1000.0 KILL_LEVEL=6.0 tests=\n", ""},

		// Only the topmost field of a name counts: the last server's.
		{"topmost no over older yes", "X-Spam-Status: No, score=0.3 required=5.0\nReceived: from a by b\nX-Spam-Status: Yes, score=9.0 required=5.0\n", ""},
		{"topmost yes over older no", "X-Spam-Flag: YES\nReceived: from a by b\nX-Spam-Flag: NO\n", "X-Spam-Flag: YES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.header + "From: a@example.com\nTo: support@desk.example\nSubject: s\nMessage-ID: <s@example.com>\n\nbody\n"
			m, err := Parse([]byte(raw), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Spam != tt.want {
				t.Errorf("Spam = %q, want %q", m.Spam, tt.want)
			}
		})
	}
}
