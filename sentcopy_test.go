package helpdesk

import "testing"

func TestMicrosoftHost(t *testing.T) {
	for host, want := range map[string]bool{
		"outlook.office365.com": true, "OUTLOOK.OFFICE365.COM.": true, "imap-mail.outlook.com": true,
		"smtp.office365.com": true, "outlook.office.com": true, "imap.example.com": false, "notoutlook.com": false, "": false,
	} {
		if got := MicrosoftHost(host); got != want {
			t.Errorf("MicrosoftHost(%q) = %v, want %v", host, got, want)
		}
	}
}
