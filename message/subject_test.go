package message

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSubjectPrefixes(t *testing.T) {
	const (
		none = iota
		reply
		fwd
		both
	)
	for _, c := range []struct {
		in, want string
		kind     int
	}{
		// No prefix.
		{"Server down", "Server down", none},
		{"  Server down \t", "Server down", none},
		{"", "", none},
		{"Re", "Re", none},
		{"Re Server down", "Re Server down", none},
		{"Regarding: the invoice", "Regarding: the invoice", none},
		{"Resolution: printer fixed", "Resolution: printer fixed", none},
		{"Fwd2: x", "Fwd2: x", none},
		{"Info: maintenance tonight", "Info: maintenance tonight", none},
		{"Error: 502 on checkout", "Error: 502 on checkout", none},
		{"TODO: x", "TODO: x", none},
		{"Re[: x", "Re[: x", none},
		{"Re[]: x", "Re[]: x", none},
		{"Re[2: x", "Re[2: x", none},
		{"Re^: x", "Re^: x", none},
		// English and the clients' defaults.
		{"Re: Server down", "Server down", reply},
		{"RE: Server down", "Server down", reply},
		{"re:Server down", "Server down", reply},
		{"Re : Server down", "Server down", reply},
		{"Fw: Server down", "Server down", fwd},
		{"FW: Server down", "Server down", fwd},
		{"Fwd: Server down", "Server down", fwd},
		{"FWD: Server down", "Server down", fwd},
		// German, Dutch.
		{"AW: Server down", "Server down", reply},
		{"Aw: Server down", "Server down", reply},
		{"Antw: Server down", "Server down", reply},
		{"WG: Server down", "Server down", fwd},
		{"Wg: Server down", "Server down", fwd},
		{"Doorst: Server down", "Server down", fwd},
		// Scandinavian, Finnish.
		{"SV: Server down", "Server down", reply},
		{"Sv: Server down", "Server down", reply},
		{"VS: Server down", "Server down", reply},
		{"Vs: Server down", "Server down", reply},
		{"VB: Server down", "Server down", fwd},
		{"VL: Server down", "Server down", fwd},
		// French, Spanish, Portuguese.
		{"TR: Serveur en panne", "Serveur en panne", fwd},
		{"Tr: Serveur en panne", "Serveur en panne", fwd},
		{"RV: Servidor caído", "Servidor caído", fwd},
		{"RES: Servidor fora do ar", "Servidor fora do ar", reply},
		{"ENC: Servidor fora do ar", "Servidor fora do ar", fwd},
		{"Enc: Servidor fora do ar", "Servidor fora do ar", fwd},
		// Italian.
		{"R: Server non raggiungibile", "Server non raggiungibile", reply},
		{"Rif: Server non raggiungibile", "Server non raggiungibile", reply},
		{"RIF: Server non raggiungibile", "Server non raggiungibile", reply},
		{"I: Server non raggiungibile", "Server non raggiungibile", fwd},
		// Polish, Turkish.
		{"Odp: Serwer nie działa", "Serwer nie działa", reply},
		{"ODP: Serwer nie działa", "Serwer nie działa", reply},
		{"PD: Serwer nie działa", "Serwer nie działa", fwd},
		{"YNT: Sunucu çalışmıyor", "Sunucu çalışmıyor", reply},
		{"İLT: Sunucu çalışmıyor", "Sunucu çalışmıyor", fwd},
		{"İlt: Sunucu çalışmıyor", "Sunucu çalışmıyor", fwd},
		{"ILT: Sunucu çalışmıyor", "Sunucu çalışmıyor", fwd},
		// Russian, Greek.
		{"Ответ: Сервер недоступен", "Сервер недоступен", reply},
		{"ОТВЕТ: Сервер недоступен", "Сервер недоступен", reply},
		{"Отв: Сервер недоступен", "Сервер недоступен", reply},
		{"ΑΠ: Ο διακομιστής", "Ο διακομιστής", reply},
		{"ΣΧΕΤ: Ο διακομιστής", "Ο διακομιστής", reply},
		{"ΠΡΘ: Ο διακομιστής", "Ο διακομιστής", fwd},
		// Chinese, Japanese, Korean, with ASCII and full-width colons.
		{"回复：服务器宕机", "服务器宕机", reply},
		{"回复: 服务器宕机", "服务器宕机", reply},
		{"答复: 服务器宕机", "服务器宕机", reply},
		{"回覆：伺服器當機", "伺服器當機", reply},
		{"转发：服务器宕机", "服务器宕机", fwd},
		{"轉寄：伺服器當機", "伺服器當機", fwd},
		{"返信：サーバー停止", "サーバー停止", reply},
		{"転送: サーバー停止", "サーバー停止", fwd},
		{"RE：サーバー停止", "サーバー停止", reply},
		{"회신: 서버 다운", "서버 다운", reply},
		{"전달: 서버 다운", "서버 다운", fwd},
		{"回复服务器宕机", "回复服务器宕机", none},
		// Counters.
		{"Re[2]: Server down", "Server down", reply},
		{"RE [3] : Server down", "Server down", reply},
		{"Re^2: Server down", "Server down", reply},
		{"Re^ 12 : Server down", "Server down", reply},
		{"AW[2]: Server down", "Server down", reply},
		// Repeated and mixed.
		{"Re: Re: Re: Server down", "Server down", reply},
		{"AW: WG: Re: Server down", "Server down", both},
		{"Fwd: Fwd: Server down", "Server down", fwd},
		{"Fwd: Re: Server down", "Server down", both},
		{"RE: Antw: 回复：Server down", "Server down", reply},
		{"Re:Re:Re:", "", reply},
		{"Re:", "", reply},
		{"  Re:  ", "", reply},
		{"\u00a0Re:\u00a0Server down", "Server down", reply},
		// Only at the start: tags and what follows them stay.
		{"[HD-1042] Re: Server down", "[HD-1042] Re: Server down", none},
		{"Re: [HD-1042] Server down", "[HD-1042] Server down", reply},
		{"Re: [list] AW: Server down", "[list] AW: Server down", reply},
		{"Server down (Re: yesterday)", "Server down (Re: yesterday)", none},
		{"Re: Re : Fwd:   Server   down", "Server   down", both},
	} {
		base, r, f := SubjectPrefixes(c.in)
		kind := none
		if r {
			kind |= reply
		}
		if f {
			kind |= fwd
		}
		if base != c.want || kind != c.kind {
			t.Errorf("SubjectPrefixes(%q) = %q, reply %v, forward %v; want %q, kind %d", c.in, base, r, f, c.want, c.kind)
		}
		if got := BaseSubject(c.in); got != c.want {
			t.Errorf("BaseSubject(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzBaseSubject checks that BaseSubject only takes from the start and
// the end of a subject, keeps valid UTF-8 valid and is idempotent.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: AW: Fwd: x", "RE[2]: 回复：x", "İLT: x", "Re^3 : x", "  x  ", "Re:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := BaseSubject(s)
		if !strings.HasSuffix(strings.TrimRightFunc(s, unicode.IsSpace), got) {
			t.Fatalf("BaseSubject(%q) = %q, not a tail of it", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("BaseSubject(%q) = %q: invalid UTF-8", s, got)
		}
		if again := BaseSubject(got); again != got {
			t.Fatalf("BaseSubject(%q) = %q, but BaseSubject of that is %q", s, got, again)
		}
	})
}

func TestForwardSubject(t *testing.T) {
	for s, want := range map[string]bool{
		"FW: orders late":         true,
		"  Fwd: RE: quotes":       true,
		"WG: Rechnung":            true,
		"RE: FW: orders late":     false,
		"orders late":             false,
		"Forward planning report": false,
	} {
		if got := ForwardSubject(s); got != want {
			t.Errorf("ForwardSubject(%q) = %v, want %v", s, got, want)
		}
	}
}
