package dashboard

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testToken = "0123456789abcdef"

// served is a page on a fake fleet, recording once before the test
// starts and then as Run does.
func served(t *testing.T, f *fakeFleet, o Options) (*Server, *httptest.Server) {
	t.Helper()
	if o.Token == "" {
		o.Token = testToken
	}
	s, err := New(f, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.rec.put(time.Now(), buildView(f.Statuses(), f.Metrics(), nil))
	go s.Run(ctx)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); cancel(); <-s.done })
	return s, ts
}

// signedIn is a client whose cookie jar holds the session the token
// opened, as a browser's would.
func signedIn(t *testing.T, ts *httptest.Server) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(ts.URL + "/?token=" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signing in: %s", resp.Status)
	}
	return c
}

func TestEveryRequestWithoutTheTokenIsRefused(t *testing.T) {
	_, ts := served(t, newFakeFleet(2, 1, 4), Options{Controls: true})
	for _, r := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/static/app.js"}, {"GET", "/static/vendor/htmx.min.js"}, {"GET", "/events"},
		{"GET", "/instances/i-000000000001"}, {"GET", "/charts?fleet=demo&service=web"}, {"POST", "/scale"}, {"GET", "/?token=wrong"},
	} {
		req, _ := http.NewRequest(r.method, ts.URL+r.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without the token: %s, want 401", r.method, r.path, resp.Status)
		}
	}
}

func TestTheTokenInTheURLBecomesAStrictHttpOnlyCookieAndLeavesTheURL(t *testing.T) {
	_, ts := served(t, newFakeFleet(2, 1, 4), Options{})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(ts.URL + "/?kiosk&token=" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?kiosk=" {
		t.Fatalf("%s to %q, want 303 to the URL without its token", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Value == testToken {
		t.Fatalf("cookies %+v: want one HttpOnly, SameSite=Strict session that is not the token itself", cookies)
	}
	page := get(t, signedIn(t, ts), ts.URL+"/")
	for _, want := range []string{`data-key="demo/web"`, `i-000000000001`, `127.0.0.1:18080`, `read-only`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

func TestControlsAreRefusedOnAReadOnlyPage(t *testing.T) {
	f := newFakeFleet(2, 1, 4)
	s, ts := served(t, f, Options{})
	resp := post(t, signedIn(t, ts), ts.URL+"/scale", s.auth.csrf, url.Values{"fleet": {"demo"}, "service": {"web"}, "desired": {"3"}})
	if resp.StatusCode != http.StatusForbidden || f.Statuses()[0].Services[0].Desired != 2 {
		t.Fatalf("scale on a read-only page: %s, desired %d; want 403 and nothing changed", resp.Status, f.Statuses()[0].Services[0].Desired)
	}
	if page := get(t, signedIn(t, ts), ts.URL+"/"); strings.Contains(page, `class="scale-out"`) || strings.Contains(page, `data-fault=`) {
		t.Error("a read-only page shows scale buttons")
	}
}

func TestAControlNeedsThePagesCSRFToken(t *testing.T) {
	f := newFakeFleet(2, 1, 4)
	s, ts := served(t, f, Options{Controls: true})
	c := signedIn(t, ts)
	form := url.Values{"fleet": {"demo"}, "service": {"web"}, "desired": {"3"}}
	if resp := post(t, c, ts.URL+"/scale", "", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %s, want 403", resp.Status)
	}
	if resp := post(t, c, ts.URL+"/scale", "not-it", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("with a wrong CSRF token: %s, want 403", resp.Status)
	}
	if f.Statuses()[0].Services[0].Desired != 2 {
		t.Fatal("a refused control changed the fleet")
	}
	if resp := post(t, c, ts.URL+"/scale", s.auth.csrf, form); resp.StatusCode != http.StatusOK || f.Statuses()[0].Services[0].Desired != 3 {
		t.Fatalf("with the page's token: %s, desired %d; want 200 and 3", resp.Status, f.Statuses()[0].Services[0].Desired)
	}
	if resp := post(t, c, ts.URL+"/scale", s.auth.csrf, url.Values{"fleet": {"demo"}, "service": {"web"}, "desired": {"9"}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("beyond the group's max: %s, want 400", resp.Status)
	}
}

func TestScaleButtonsStopAtTheGroupsBounds(t *testing.T) {
	_, ts := served(t, newFakeFleet(2, 2, 2), Options{Controls: true})
	page := get(t, signedIn(t, ts), ts.URL+"/")
	if !strings.Contains(page, `title="at its minimum, 2"`) || !strings.Contains(page, `title="at its maximum, 2"`) {
		t.Fatal("a group at both bounds offers to scale")
	}
}

func TestTheStreamResumesAfterTheLastEventSeen(t *testing.T) {
	f := newFakeFleet(1, 1, 4)
	for _, m := range []string{"one", "two", "three", "four"} {
		f.Emit("scaled", m)
	}
	_, ts := served(t, f, Options{})
	c := signedIn(t, ts)
	seen := f.ActivitiesAfter(0, 10)[1].ID // the browser saw "two"

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/events", nil)
	req.Header.Set("Last-Event-ID", strconv.FormatInt(seen, 10))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	evs := readEvents(t, br, func(got []sse) bool { return countOf(got, "activity") == 2 })
	f.Emit("scaled", "five") // while connected
	evs = append(evs, readEvents(t, br, func(got []sse) bool { return countOf(got, "activity") == 1 })...)
	var msgs []string
	for _, e := range evs {
		if e.name == "activity" {
			msgs = append(msgs, e.data[strings.Index(e.data, `class="cause">`)+14:strings.Index(e.data, "</span>")])
		}
	}
	if strings.Join(msgs, " ") != "three four five" {
		t.Fatalf("activities %q, want three four five: every one after the last seen, once", msgs)
	}
	if countOf(evs, "fleets") == 0 || countOf(evs, "point") == 0 {
		t.Fatal("no fleets or chart point on connecting")
	}
}

// sse is one server-sent event.
type sse struct{ name, id, data string }

func countOf(evs []sse, name string) int {
	n := 0
	for _, e := range evs {
		if e.name == name {
			n++
		}
	}
	return n
}

// readEvents reads events until done says enough.
func readEvents(t *testing.T, br *bufio.Reader, done func([]sse) bool) []sse {
	t.Helper()
	var got []sse
	var cur sse
	for !done(got) {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v, after %d events", err, len(got))
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if cur.name != "" {
				got = append(got, cur)
			}
			cur = sse{}
		case strings.HasPrefix(line, "event: "):
			cur.name = line[7:]
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			cur.data += line[6:] + "\n"
		}
	}
	return got
}

func TestTheRewindServesTheStateRecordedThen(t *testing.T) {
	f := newFakeFleet(1, 1, 4)
	s, err := New(f, Options{Token: testToken}) // recording by hand, not Run
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	then := time.Now().Add(-5 * time.Minute)
	s.rec.put(then, buildView(f.Statuses(), f.Metrics(), nil))
	f.Scale(context.Background(), "demo", map[string]int{"web": 3})
	f.step()
	s.rec.put(then.Add(2*time.Minute), buildView(f.Statuses(), f.Metrics(), nil))
	c := signedIn(t, ts)
	at := func(t0 time.Time) string {
		return get(t, c, ts.URL+"/fleets?at="+strconv.FormatInt(t0.UnixMilli(), 10))
	}
	if n := strings.Count(at(then.Add(time.Minute)), `class="tile `); n != 1 {
		t.Errorf("a minute in: %d tiles, want the 1 of then", n)
	}
	if n := strings.Count(at(then.Add(3*time.Minute)), `class="tile `); n != 3 {
		t.Errorf("three minutes in: %d tiles, want 3", n)
	}
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	return string(b)
}

func post(t *testing.T, c *http.Client, u, csrf string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if csrf != "" {
		req.Header.Set(csrfHeader, csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestTheKioskViewIsThePageForAProjector(t *testing.T) {
	_, ts := served(t, newFakeFleet(2, 1, 4), Options{Controls: true})
	page := get(t, signedIn(t, ts), ts.URL+"/?kiosk")
	if !strings.Contains(page, `<body class="kiosk"`) || !strings.Contains(page, `href="/">full view`) {
		t.Fatal("?kiosk is not the kiosk view")
	}
	css := get(t, signedIn(t, ts), ts.URL+"/static/app.css")
	if !strings.Contains(css, "body.kiosk .ctl") {
		t.Fatal("the kiosk view does not hide the controls")
	}
}
