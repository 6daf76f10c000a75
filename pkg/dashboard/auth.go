package dashboard

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
)

// cookieName holds the session the URL's token opened.
const cookieName = "vmfleet_dashboard"

// csrfHeader carries the page's CSRF token on every control.
const csrfHeader = "X-CSRF-Token"

// auth turns the token in the URL into an HttpOnly, SameSite=Strict
// cookie and refuses every request without one. The cookie and the CSRF
// token are derived from the token, so they survive a daemon restart (an
// open page reconnects) and change with it.
type auth struct {
	token, session, csrf string
}

func newAuth(token string) auth {
	derive := func(what string) string {
		m := hmac.New(sha256.New, []byte(token))
		m.Write([]byte(what))
		return hex.EncodeToString(m.Sum(nil))
	}
	return auth{token: token, session: derive("session"), csrf: derive("csrf")}
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (a auth) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := r.URL.Query().Get("token"); t != "" {
			if !equal(t, a.token) {
				deny(w)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: cookieName, Value: a.session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			// Off the address bar and history: the URL without its token.
			q := r.URL.Query()
			q.Del("token")
			u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
		c, err := r.Cookie(cookieName)
		if err != nil || !equal(c.Value, a.session) {
			deny(w)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !a.sameOrigin(r) {
			http.Error(w, "refused: this control came without the page's CSRF token; reload the page", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin checks a control came from the page: its CSRF token, and,
// from browsers that say, a same-origin fetch.
func (a auth) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	return equal(r.Header.Get(csrfHeader), a.csrf)
}

func deny(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("vmfleet dashboard: open the address `vmfleet dashboard` prints; its token lets this browser in\n"))
}
