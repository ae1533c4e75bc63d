package board

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query parameters of a board link.
const (
	paramManager = "m" // the manager's address
	paramExpiry  = "x" // the link's expiry, Unix seconds
	paramSig     = "s" // hex HMAC-SHA256 of the two under the manager's secret
)

// DefaultLinkTTL is how long a board link is valid unless its maker says
// otherwise: `helpdeskd board link` and the links in the digest mail.
const DefaultLinkTTL = 30 * 24 * time.Hour

// maxEmail bounds the address a link may carry (RFC 5321's path limit).
const maxEmail = 254

// Link is the board's address for one manager until expiry: base (the
// board's public URL, e.g. "https://desk.example.com/board") with the
// manager's address, the expiry and their MAC under secret.
func Link(base, email string, expiry time.Time, secret string) string {
	email = strings.ToLower(email)
	v := url.Values{}
	v.Set(paramManager, email)
	v.Set(paramExpiry, strconv.FormatInt(expiry.Unix(), 10))
	v.Set(paramSig, sign(secret, email, expiry.Unix()))
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + v.Encode()
}

// sign is the MAC of a link: HMAC-SHA256 under the manager's secret over a
// label, the address and the expiry, so that a MAC made for anything else
// (another manager, another expiry) never fits.
func sign(secret, email string, expiry int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "helpdeskd board link v1\x00%s\x00%d", email, expiry)
	return hex.EncodeToString(m.Sum(nil))
}

// Why a link is refused; the page says none of it (a 403 and no data),
// the log says which.
var (
	errNoLink     = errors.New("no link parameters")
	errMalformed  = errors.New("malformed link")
	errExpired    = errors.New("link expired")
	errNotManager = errors.New("not a manager")
	errNoSecret   = errors.New("no board secret for this manager")
	errForged     = errors.New("signature does not match (forged, or the secret was rotated)")
	// errStore is no refusal: the secret could not be read (500).
	errStore = errors.New("reading the board secret")
)

// parseLink reads a link's parameters, bounded: an address of at most
// maxEmail bytes, a decimal expiry, a 64-digit hex MAC.
func parseLink(q url.Values) (email string, expiry int64, sig []byte, err error) {
	if q.Get(paramManager) == "" && q.Get(paramSig) == "" {
		return "", 0, nil, errNoLink
	}
	if len(q[paramManager]) != 1 || len(q[paramExpiry]) != 1 || len(q[paramSig]) != 1 {
		return "", 0, nil, errMalformed
	}
	email = q.Get(paramManager)
	if email == "" || len(email) > maxEmail || email != strings.ToLower(email) {
		return "", 0, nil, errMalformed
	}
	if expiry, err = strconv.ParseInt(q.Get(paramExpiry), 10, 64); err != nil || expiry <= 0 {
		return "", 0, nil, errMalformed
	}
	s := q.Get(paramSig)
	if len(s) != 2*sha256.Size {
		return "", 0, nil, errMalformed
	}
	if sig, err = hex.DecodeString(s); err != nil {
		return "", 0, nil, errMalformed
	}
	return email, expiry, sig, nil
}
