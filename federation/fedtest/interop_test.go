package fedtest

// Interop tests against fake Mastodon and GoToSocial servers (FEDERATION.md §1, §2).
//
// Each fake is an httptest server reached as mastodon.test:PORT or gts.test:PORT (nodetest's
// resolver sends every *.test name to 127.0.0.1). It serves the recorded actor document from
// federation/activity/testdata with its origin and key replaced, WebFinger, and (GoToSocial)
// the stub key document at .../main-key. Its inbox checks our POSTs the way that server does:
// the draft-cavage signature must sign (request-target) host date digest, the Digest must
// match, the keyId is resolved by fetching our actor with a signed GET of its own and must
// belong to the activity's actor, the @context must name ActivityStreams (Mastodon drops the
// rest), and GoToSocial answers 406 to a non-ActivityStreams Content-Type. The fake
// GoToSocial answers 401 to unsigned GETs. Everything received is recorded for the test.
//
// The fakes speak for their users by POSTing recorded activities (origin and ids adapted),
// signed as those servers sign: Mastodon rsa-sha256 with keyId "<actor>#main-key",
// GoToSocial hs2019 with keyId "<actor>/main-key".

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"

	"github.com/atrium-social/atrium/federation/signature"
	"github.com/atrium-social/atrium/internal/orgs"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

const (
	flavorMastodon = "mastodon"
	flavorGtS      = "gotosocial"
	asContext      = "https://www.w3.org/ns/activitystreams"
	asPublic       = "https://www.w3.org/ns/activitystreams#Public"
)

// interopPost is one POST a fake peer's inbox accepted (or refused: Status says which).
type interopPost struct {
	Path        string
	Status      int
	ContentType string
	KeyID       string
	Algorithm   string
	Signed      []string // the signed headers, in order
	ContextOK   bool     // @context names ActivityStreams
	Doc         map[string]any
}

func (p interopPost) typ() string { return str(p.Doc["type"]) }

// interopGet is one GET of an ActivityPub document on a fake peer.
type interopGet struct {
	Path   string
	Signed bool   // a signature was present and verified
	KeyID  string // its keyId
}

// fakePeer is a Mastodon or GoToSocial server with one user.
type fakePeer struct {
	t       *testing.T
	flavor  string
	name    string // "mastodon.test"
	host    string // "mastodon.test:PORT"
	base    string // "http://mastodon.test:PORT"
	user    string // "alice" (Mastodon's recorded user) or "bob" (GoToSocial's)
	actorID string
	keyID   string
	key     *rsa.PrivateKey
	pem     string
	client  *http.Client
	verify  *signature.Verifier

	mu       sync.Mutex
	actor    string // the actor document served now
	posts    []interopPost
	gets     []interopGet
	problems []string
	keys     map[string]*signature.PublicKey // keys of Atrium actors, by keyId
}

// testdataDoc reads a recorded document.
func testdataDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../activity/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonEdit decodes doc, lets f change it and encodes it again.
func jsonEdit(t *testing.T, doc string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("%v: %.200s", err, doc)
	}
	f(m)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as Mastodon and GoToSocial write it
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

func str(v any) string { s, _ := v.(string); return s }

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// testClient reaches every *.test host on 127.0.0.1, as nodetest does for the nodes.
func testClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil || !strings.HasSuffix(host, ".test") {
				return nil, fmt.Errorf("fake peer: %s is not a test host", addr)
			}
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		DisableCompression: true,
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startFakePeer starts a Mastodon (user alice, from mastodon_person.json) or GoToSocial
// (user bob, from gts_person.json) server and makes it a partner of node.
func startFakePeer(t *testing.T, node *nodetest.Node, flavor string) *fakePeer {
	t.Helper()
	p := &fakePeer{t: t, flavor: flavor, client: testClient(), keys: map[string]*signature.PublicKey{}}
	var fixture, recorded string
	switch flavor {
	case flavorMastodon:
		p.name, p.user, fixture, recorded = "mastodon.test", "alice", "mastodon_person.json", "https://mastodon.example"
	case flavorGtS:
		p.name, p.user, fixture, recorded = "gts.test", "bob", "gts_person.json", "https://gts.example"
	}
	srv := httptest.NewServer(http.HandlerFunc(p.serve)) // the listener first: its port is in every id
	t.Cleanup(srv.Close)
	t.Cleanup(p.client.CloseIdleConnections)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p.host = p.name + ":" + port
	p.base = "http://" + p.host
	p.actorID = p.base + "/users/" + p.user
	p.keyID = p.actorID + "#main-key"
	if flavor == flavorGtS {
		p.keyID = p.actorID + "/main-key"
	}
	var err error
	if p.key, err = signature.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	if p.pem, err = signature.EncodePublicKeyPEM(&p.key.PublicKey); err != nil {
		t.Fatal(err)
	}
	p.actor = p.withKey(strings.ReplaceAll(testdataDoc(t, fixture), recorded, p.base))
	p.verify = &signature.Verifier{Resolver: p}
	if _, err := node.Partners.Add(context.Background(), orgs.CLIActor(), p.name, ""); err != nil {
		t.Fatal(err)
	}
	return p
}

// withKey puts the peer's generated key into an actor document (top level or under object).
func (p *fakePeer) withKey(doc string) string {
	return jsonEdit(p.t, doc, func(m map[string]any) {
		a := m
		if o := obj(m["object"]); o != nil {
			a = o
		}
		pk := obj(a["publicKey"])
		if pk == nil || pk["id"] != p.keyID || pk["owner"] != p.actorID {
			p.t.Fatalf("%s: the recorded actor's publicKey is %v, want id %s", p.name, a["publicKey"], p.keyID)
		}
		pk["publicKeyPem"] = p.pem
	})
}

func (p *fakePeer) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *fakePeer) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/.well-known/webfinger":
		p.webfinger(w, r)
	case path == "/.well-known/nodeinfo":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"links":[{"rel":"http://nodeinfo.diaspora.software/ns/schema/2.0","href":"%s/nodeinfo/2.0"}]}`, p.base)
	case path == "/nodeinfo/2.0":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version":"2.0","software":{"name":%q,"version":"4.3.0"},"protocols":["activitypub"]}`, p.flavor)
	case r.Method == http.MethodPost:
		p.inbox(w, r)
	case r.Method == http.MethodGet && (path == "/users/"+p.user || (p.flavor == flavorGtS && path == "/users/"+p.user+"/main-key")):
		p.document(w, r)
	default:
		p.t.Logf("%s: no route for %s %s", p.name, r.Method, r.URL) // a real server has more; not an error
		http.NotFound(w, r)
	}
}

func (p *fakePeer) webfinger(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("resource") != "acct:"+p.user+"@"+p.host {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"subject": "acct:" + p.user + "@" + p.host,
		"aliases": []string{p.actorID, p.base + "/@" + p.user},
		"links": []map[string]string{
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": p.base + "/@" + p.user},
			{"rel": "self", "type": "application/activity+json", "href": p.actorID},
		},
	})
}

// document serves the actor, or GoToSocial's stub at the keyId (AccountToASMinimal: only
// @context, id, type, preferredUsername and publicKey).
func (p *fakePeer) document(w http.ResponseWriter, r *http.Request) {
	g := interopGet{Path: r.URL.Path}
	if len(r.Header.Values("Signature")) > 0 {
		v, err := p.verify.Verify(r.Context(), r, nil)
		if err != nil {
			p.problem("GET %s: signature refused: %v", r.URL.Path, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		g.Signed, g.KeyID = true, v.KeyID
	}
	p.mu.Lock()
	p.gets = append(p.gets, g)
	doc := p.actor
	p.mu.Unlock()
	if !g.Signed && p.flavor == flavorGtS {
		http.Error(w, `{"error":"Unauthorized"}`, http.StatusUnauthorized) // GoToSocial signs and requires signed GETs
		return
	}
	if strings.HasSuffix(r.URL.Path, "/main-key") {
		doc = jsonEdit(p.t, doc, func(m map[string]any) {
			for k := range m {
				switch k {
				case "@context", "id", "type", "preferredUsername", "publicKey":
				default:
					delete(m, k)
				}
			}
		})
	}
	w.Header().Set("Content-Type", "application/activity+json; charset=utf-8")
	w.Header().Set("Vary", "Accept")
	_, _ = io.WriteString(w, doc)
}

// inbox accepts a delivery the way the real server does.
func (p *fakePeer) inbox(w http.ResponseWriter, r *http.Request) {
	rec := interopPost{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type")}
	answer := func(status int, why string) {
		rec.Status = status
		p.mu.Lock()
		p.posts = append(p.posts, rec)
		if status >= 300 {
			p.problems = append(p.problems, fmt.Sprintf("POST %s answered %d: %s", r.URL.Path, status, why))
		}
		p.mu.Unlock()
		w.WriteHeader(status)
		if why != "" {
			_, _ = io.WriteString(w, why)
		}
	}
	personal := "/users/" + p.user + "/inbox"
	if r.URL.Path != personal && (p.flavor == flavorGtS || r.URL.Path != "/inbox") {
		answer(http.StatusNotFound, "no inbox here") // GoToSocial has no sharedInbox
		return
	}
	if p.flavor == flavorGtS {
		mt, params, err := mime.ParseMediaType(rec.ContentType)
		ok := err == nil && (mt == "application/activity+json" ||
			(mt == "application/ld+json" && strings.Contains(params["profile"], "activitystreams")))
		if !ok {
			answer(http.StatusNotAcceptable, "content type must be ActivityStreams")
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		answer(http.StatusBadRequest, err.Error())
		return
	}
	v, err := p.verify.Verify(r.Context(), r, body)
	if err != nil {
		answer(http.StatusUnauthorized, err.Error())
		return
	}
	rec.KeyID, rec.Signed = v.KeyID, v.Headers
	rec.Algorithm = sigParam(r.Header.Get("Signature"), "algorithm")
	for _, h := range []string{"(request-target)", "host", "date", "digest"} {
		if !slices.Contains(v.Headers, h) {
			answer(http.StatusUnauthorized, h+" is not signed")
			return
		}
	}
	if err := json.Unmarshal(body, &rec.Doc); err != nil {
		answer(http.StatusBadRequest, err.Error())
		return
	}
	rec.ContextOK = hasASContext(rec.Doc["@context"])
	actor := str(rec.Doc["actor"])
	if v.Owner != actor {
		answer(http.StatusUnauthorized, "key owner "+v.Owner+" is not the actor "+actor)
		return
	}
	answer(http.StatusAccepted, "")
}

// ResolveKey is the peer's key lookup for our signatures: the keyId's document is fetched
// with a signed GET; a key listed there must be owned by that document (Mastodon's
// "actor#main-key") or by an actor on the same origin that lists it too (a stub key URL).
func (p *fakePeer) ResolveKey(ctx context.Context, keyID string, refresh bool) (*signature.PublicKey, error) {
	p.mu.Lock()
	pk := p.keys[keyID]
	p.mu.Unlock()
	if pk != nil && !refresh {
		return pk, nil
	}
	docURL, _, _ := strings.Cut(keyID, "#")
	doc, err := p.fetch(ctx, docURL)
	if err != nil {
		return nil, err
	}
	owner, pemText := keyIn(doc, keyID)
	if owner == "" {
		return nil, fmt.Errorf("%s does not list key %s", docURL, keyID)
	}
	if owner != str(doc["id"]) {
		if doc, err = p.fetch(ctx, owner); err != nil {
			return nil, err
		}
		if o, pt := keyIn(doc, keyID); o != owner || pt == "" {
			return nil, fmt.Errorf("owner %s does not list key %s", owner, keyID)
		}
	}
	key, err := signature.ParsePublicKeyPEM(pemText)
	if err != nil {
		return nil, err
	}
	pk = &signature.PublicKey{ID: keyID, Owner: owner, Key: key}
	p.mu.Lock()
	p.keys[keyID] = pk
	p.mu.Unlock()
	return pk, nil
}

func keyIn(doc map[string]any, keyID string) (owner, pemText string) {
	var list []any
	switch v := doc["publicKey"].(type) {
	case map[string]any:
		list = []any{v}
	case []any:
		list = v
	}
	for _, k := range list {
		if m := obj(k); m != nil && str(m["id"]) == keyID {
			return str(m["owner"]), str(m["publicKeyPem"])
		}
	}
	return "", ""
}

// sign signs a request as the peer does. GoToSocial signs "(request-target) host date" plus
// "digest" on POSTs and labels its RSA-SHA256 signatures hs2019. Mastodon (app/lib/request.rb)
// signs every header it sets except User-Agent and Accept-Encoding: "(request-target) host
// date accept" on GETs, "(request-target) host date digest content-type" on deliveries, with
// algorithm rsa-sha256.
func (p *fakePeer) sign(req *http.Request, body []byte) {
	p.t.Helper()
	if p.flavor == flavorGtS {
		if err := signature.Sign(req, body, p.key, p.keyID, time.Now()); err != nil {
			p.t.Fatal(err)
		}
		sig := req.Header.Get("Signature")
		req.Header.Set("Signature", strings.Replace(sig, `algorithm="rsa-sha256"`, `algorithm="hs2019"`, 1))
		return
	}
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host) // go-fed reads it from the map; net/http sends req.URL.Host
	headers := []string{httpsig.RequestTarget, "host", "date"}
	for _, h := range []string{"Digest", "Content-Type", "Accept"} {
		if h == "Digest" && body != nil || req.Header.Get(h) != "" {
			headers = append(headers, strings.ToLower(h))
		}
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := signer.SignRequest(p.key, p.keyID, req, body); err != nil {
		p.t.Fatal(err)
	}
	sig := req.Header.Get("Signature")
	req.Header.Set("Signature", strings.Replace(sig, `algorithm="hs2019"`, `algorithm="rsa-sha256"`, 1))
}

// fetch GETs an ActivityPub document with a signed request, and checks what Mastodon checks:
// 200, an ActivityStreams Content-Type, an id equal to the URL and an AS @context.
func (p *fakePeer) fetch(ctx context.Context, u string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
	p.sign(req, nil)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %.200s", u, resp.StatusCode, b)
	}
	if mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/activity+json" &&
		!(mt == "application/ld+json" && strings.Contains(params["profile"], "activitystreams")) {
		return nil, fmt.Errorf("GET %s: Content-Type %q", u, resp.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if str(doc["id"]) != u {
		return nil, fmt.Errorf("GET %s: id %q", u, doc["id"])
	}
	if !hasASContext(doc["@context"]) {
		return nil, fmt.Errorf("GET %s: @context %v lacks ActivityStreams", u, doc["@context"])
	}
	return doc, nil
}

// deliver POSTs an activity to the Atrium person's inbox as the peer would: Mastodon to the
// sharedInbox their actor document advertises, GoToSocial to the personal inbox. It returns
// the inbox URL used.
func (p *fakePeer) deliver(to string, body string) string {
	p.t.Helper()
	actor, err := p.fetch(context.Background(), to)
	if err != nil {
		p.t.Fatalf("%s: fetching the recipient: %v", p.name, err)
	}
	inbox := str(actor["inbox"])
	if shared := str(obj(actor["endpoints"])["sharedInbox"]); shared != "" && p.flavor == flavorMastodon {
		inbox = shared
	}
	if inbox == "" {
		p.t.Fatalf("%s: %s has no inbox: %v", p.name, to, actor)
	}
	req, _ := http.NewRequest(http.MethodPost, inbox, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/activity+json") // what both servers send
	p.sign(req, []byte(body))
	if signed := strings.Fields(sigParam(req.Header.Get("Signature"), "headers")); p.flavor == flavorMastodon && !slices.Contains(signed, "content-type") {
		p.t.Fatalf("the fake Mastodon should sign content-type too, as Mastodon does: %v", signed)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		p.t.Fatalf("%s: POST %s: status %d: %s\n%s", p.name, inbox, resp.StatusCode, msg, body)
	}
	return inbox
}

// received returns the accepted POSTs of one activity type.
func (p *fakePeer) received(typ string) []interopPost {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []interopPost
	for _, r := range p.posts {
		if r.Status == http.StatusAccepted && r.typ() == typ {
			out = append(out, r)
		}
	}
	return out
}

// one returns the only accepted POST of typ, failing otherwise.
func (p *fakePeer) one(typ string) interopPost {
	p.t.Helper()
	got := p.received(typ)
	if len(got) != 1 {
		p.mu.Lock()
		all := slices.Clone(p.posts)
		p.mu.Unlock()
		p.t.Fatalf("%s received %d %s activities, want 1; everything: %+v", p.name, len(got), typ, all)
	}
	return got[0]
}

// checkClean fails on anything the peer refused or did not expect, and on unsigned GETs.
func (p *fakePeer) checkClean() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if testing.Verbose() {
		for _, r := range p.posts {
			b, _ := json.Marshal(r.Doc)
			p.t.Logf("%s received POST %s %d %s keyId=%s algorithm=%s headers=%v: %s", p.name, r.Path, r.Status, r.ContentType, r.KeyID, r.Algorithm, r.Signed, b)
		}
		for _, g := range p.gets {
			p.t.Logf("%s served GET %s signed=%v keyId=%s", p.name, g.Path, g.Signed, g.KeyID)
		}
	}
	for _, pr := range p.problems {
		p.t.Errorf("%s: %s", p.name, pr)
	}
	for _, g := range p.gets {
		if !g.Signed {
			p.t.Errorf("%s: unsigned GET %s (GoToSocial and secure-mode Mastodon answer 401)", p.name, g.Path)
		}
	}
}

func (p *fakePeer) getsOf(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, g := range p.gets {
		if g.Path == path {
			n++
		}
	}
	return n
}

func hasASContext(v any) bool {
	switch c := v.(type) {
	case string:
		return c == asContext
	case []any:
		for _, e := range c {
			if e == asContext {
				return true
			}
		}
	}
	return false
}

// sigParam reads one parameter of a Signature header.
func sigParam(h, name string) string {
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// checkOurActivity checks what every activity Atrium sends must satisfy for Mastodon and
// GoToSocial: signed by the acting person's key with rsa-sha256 over (request-target) host
// date digest, an ActivityStreams @context, an id on our origin, the expected actor.
func checkOurActivity(t *testing.T, r interopPost, actorURI string) {
	t.Helper()
	if r.KeyID != actorURI+"#main-key" {
		t.Errorf("%s signed with keyId %q, want %s#main-key", r.typ(), r.KeyID, actorURI)
	}
	if r.Algorithm != "rsa-sha256" && r.Algorithm != "hs2019" {
		t.Errorf("%s signed with algorithm %q", r.typ(), r.Algorithm)
	}
	if !r.ContextOK {
		t.Errorf("%s has @context %v without ActivityStreams: Mastodon would drop it", r.typ(), r.Doc["@context"])
	}
	if str(r.Doc["actor"]) != actorURI {
		t.Errorf("%s actor %v, want %s", r.typ(), r.Doc["actor"], actorURI)
	}
	if id := str(r.Doc["id"]); !strings.HasPrefix(id, strings.TrimSuffix(actorURI, "/users/alice")+"/") {
		t.Errorf("%s id %q is not on our origin", r.typ(), id)
	}
	if mt, _, _ := mime.ParseMediaType(r.ContentType); mt != "application/activity+json" {
		t.Errorf("%s sent with Content-Type %q, want application/activity+json", r.typ(), r.ContentType)
	}
}

// interopStatus is the part of the Mastodon API status the interop tests read.
type interopStatus struct {
	ID          string `json:"id"`
	URI         string `json:"uri"`
	Content     string `json:"content"`
	Visibility  string `json:"visibility"`
	SpoilerText string `json:"spoiler_text"`
	Sensitive   bool   `json:"sensitive"`
	Favourites  int    `json:"favourites_count"`
	Account     struct {
		ID          string `json:"id"`
		Acct        string `json:"acct"`
		DisplayName string `json:"display_name"`
	} `json:"account"`
	Tags []struct {
		Name string `json:"name"`
	} `json:"tags"`
}

type interopNotification struct {
	Type    string         `json:"type"`
	Account account        `json:"account"`
	Status  *interopStatus `json:"status"`
}

func homeStatus(t *testing.T, api *nodetest.API, uri string) *interopStatus {
	t.Helper()
	var feed []interopStatus
	if resp := api.Call("GET", "/api/v1/timelines/home", nil, &feed); resp.StatusCode != 200 {
		t.Fatalf("home: status %d", resp.StatusCode)
	}
	for i := range feed {
		if feed[i].URI == uri {
			return &feed[i]
		}
	}
	return nil
}

func mentionedBy(t *testing.T, api *nodetest.API, accountID, statusURI string) bool {
	t.Helper()
	var notes []interopNotification
	if resp := api.Call("GET", "/api/v1/notifications", nil, &notes); resp.StatusCode != 200 {
		t.Fatalf("notifications: status %d", resp.StatusCode)
	}
	for _, n := range notes {
		if n.Type == "mention" && n.Account.ID == accountID && n.Status != nil && n.Status.URI == statusURI {
			return true
		}
	}
	return false
}

func relationship(t *testing.T, api *nodetest.API, id string) map[string]any {
	t.Helper()
	var rels []map[string]any
	api.Call("GET", "/api/v1/accounts/relationships?id[]="+id, nil, &rels)
	if len(rels) != 1 {
		t.Fatalf("relationships of %s: %v", id, rels)
	}
	return rels[0]
}

// followFromAtrium resolves the peer's user through the search API, follows them, and
// returns the account and the Follow the peer received.
func followFromAtrium(t *testing.T, acme *nodetest.Node, alice *nodetest.API, p *fakePeer) (account, interopPost) {
	t.Helper()
	remote := resolve(t, alice, "@"+p.user+"@"+p.host)
	if remote.URI != p.actorID || remote.Acct != p.user+"@"+p.host {
		t.Fatalf("resolved %+v, want %s", remote, p.actorID)
	}
	var rel map[string]any
	alice.Call("POST", "/api/v1/accounts/"+remote.ID+"/follow", nil, &rel)
	if rel["requested"] != true || rel["following"] != false {
		t.Fatalf("right after following %s: %v", p.name, rel)
	}
	nodetest.Settle(t, acme)
	aliceURI := acme.URL(t.Context()) + "/users/alice"
	f := p.one("Follow")
	checkOurActivity(t, f, aliceURI)
	if str(f.Doc["object"]) != p.actorID {
		t.Errorf("Follow object %v, want %s", f.Doc["object"], p.actorID)
	}
	if f.Path != "/users/"+p.user+"/inbox" {
		t.Errorf("Follow delivered to %s, want the personal inbox", f.Path)
	}
	return remote, f
}

// TestMastodonInterop: follow, receive a post, like and reply, then Mastodon's Like, Undo,
// Update{Person} and Delete{Tombstone}, all through a fake Mastodon that verifies like Mastodon.
func TestMastodonInterop(t *testing.T) {
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	alice := acme.NewUser(t, "alice")
	nodetest.Settle(t, acme) // alice's key
	masto := startFakePeer(t, acme, flavorMastodon)
	base := acme.URL(t.Context())
	aliceURI := base + "/users/alice"
	const recorded = "https://mastodon.example"

	// 1. Follow, and Mastodon's Accept built from the recording.
	remote, follow := followFromAtrium(t, acme, alice, masto)
	if cc, ok := follow.Doc["@context"].([]any); ok && len(cc) > 0 && cc[0] != asContext {
		t.Errorf("Follow @context starts with %v", cc[0])
	}
	accept := jsonEdit(t, strings.ReplaceAll(testdataDoc(t, "mastodon_accept_follow.json"), recorded, masto.base), func(m map[string]any) {
		o := obj(m["object"])
		o["id"], o["actor"], o["object"] = follow.Doc["id"], aliceURI, masto.actorID
	})
	if inbox := masto.deliver(aliceURI, accept); inbox != base+"/inbox" {
		t.Errorf("our actor's sharedInbox is %s, want %s/inbox", inbox, base)
	}
	nodetest.Settle(t, acme)
	if rel := relationship(t, alice, remote.ID); rel["following"] != true || rel["requested"] != false {
		t.Fatalf("after Mastodon's Accept: %v", rel)
	}

	// 2. A public post mentioning alice, with a hashtag, and hostile HTML injected.
	noteID := masto.actorID + "/statuses/113456789012345678"
	create := jsonEdit(t, strings.ReplaceAll(testdataDoc(t, "mastodon_create_note.json"), recorded, masto.base), func(m map[string]any) {
		cc := []any{masto.actorID + "/followers", aliceURI}
		m["cc"] = cc
		o := obj(m["object"])
		o["cc"] = cc
		delete(o, "inReplyTo")
		delete(o, "inReplyToAtomUri")
		content := strings.ReplaceAll(str(o["content"]), "https://gts.example/@bob", base+"/@alice")
		content = strings.Replace(content, "@<span>bob</span>", "@<span>alice</span>", 1)
		content = strings.Replace(content, "<p>", `<p onclick="steal()">`, 1)
		content = strings.Replace(content, "</p>", `<script>alert("xss")</script></p>`, 1)
		o["content"] = content
		delete(o, "contentMap")
		o["contentMap"] = map[string]any{"en": content}
		tags := o["tag"].([]any)
		tags[0] = map[string]any{"type": "Mention", "href": aliceURI, "name": "@alice@" + acme.Host()}
	})
	masto.deliver(aliceURI, create)
	nodetest.Settle(t, acme)
	got := homeStatus(t, alice, noteID)
	if got == nil {
		t.Fatalf("Mastodon's post is not in alice's home timeline")
	}
	if got.Account.ID != remote.ID || got.Visibility != "public" {
		t.Errorf("post rendered as %+v", got)
	}
	for _, bad := range []string{"<script", "alert(", "onclick", "steal()"} {
		if strings.Contains(got.Content, bad) {
			t.Errorf("sanitised content still has %q: %s", bad, got.Content)
		}
	}
	if !strings.Contains(got.Content, `C:\temp\new`) || !strings.Contains(got.Content, "golang") {
		t.Errorf("content lost its text: %s", got.Content)
	}
	if got.SpoilerText != "Go internals" || !got.Sensitive {
		t.Errorf("content warning: %q sensitive=%v", got.SpoilerText, got.Sensitive)
	}
	if !slices.ContainsFunc(got.Tags, func(tg struct {
		Name string `json:"name"`
	}) bool {
		return tg.Name == "golang"
	}) {
		t.Errorf("hashtag golang missing: %+v", got.Tags)
	}
	if !mentionedBy(t, alice, remote.ID, noteID) {
		t.Errorf("alice was not notified of the Mastodon mention")
	}

	// 3. alice likes and replies: Mastodon gets a signed Like and a Create with inReplyTo.
	alice.Call("POST", "/api/v1/statuses/"+got.ID+"/favourite", nil, nil)
	reply := post(t, alice, map[string]any{"status": "Agreed, thanks for the notes", "in_reply_to_id": got.ID, "visibility": "public"})
	nodetest.Settle(t, acme)
	like := masto.one("Like")
	checkOurActivity(t, like, aliceURI)
	if str(like.Doc["object"]) != noteID {
		t.Errorf("Like object %v, want %s", like.Doc["object"], noteID)
	}
	if like.Path != "/users/alice/inbox" && like.Path != "/inbox" {
		t.Errorf("Like went to %s", like.Path)
	}
	var replyCreate *interopPost
	for _, c := range masto.received("Create") {
		if str(obj(c.Doc["object"])["id"]) == reply.URI {
			replyCreate = &c
		}
	}
	if replyCreate == nil {
		t.Fatalf("Mastodon did not receive the reply %s: %+v", reply.URI, masto.received("Create"))
	}
	checkOurActivity(t, *replyCreate, aliceURI)
	if replyCreate.Path != "/inbox" {
		t.Errorf("reply went to %s, want Mastodon's sharedInbox /inbox", replyCreate.Path)
	}
	rn := obj(replyCreate.Doc["object"])
	if str(rn["inReplyTo"]) != noteID || str(rn["attributedTo"]) != aliceURI || str(rn["type"]) != "Note" {
		t.Errorf("reply Note: %v", rn)
	}
	if to, _ := rn["to"].([]any); !slices.Contains(to, any(asPublic)) {
		t.Errorf("public reply addressed to %v", rn["to"])
	}

	// 4. Mastodon likes alice's reply, then undoes it (recorded Undo{Like}).
	likeID := masto.actorID + "#likes/4242"
	masto.deliver(aliceURI, fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Like","actor":%q,"object":%q}`,
		likeID, masto.actorID, reply.URI))
	nodetest.Settle(t, acme)
	var st interopStatus
	alice.Call("GET", "/api/v1/statuses/"+reply.ID, nil, &st)
	if st.Favourites != 1 {
		t.Fatalf("after Mastodon's Like the reply has %d favourites", st.Favourites)
	}
	undo := jsonEdit(t, strings.ReplaceAll(testdataDoc(t, "mastodon_undo_like.json"), recorded, masto.base), func(m map[string]any) {
		obj(m["object"])["object"] = reply.URI
	})
	masto.deliver(aliceURI, undo)
	nodetest.Settle(t, acme)
	alice.Call("GET", "/api/v1/statuses/"+reply.ID, nil, &st)
	if st.Favourites != 0 {
		t.Errorf("after Mastodon's Undo{Like} the reply has %d favourites", st.Favourites)
	}

	// Update{Person}: the profile changes at the origin and the recorded Update announces it.
	rename := func(doc string) string {
		return strings.ReplaceAll(strings.ReplaceAll(doc, "Alice :blobcat:", "Alice Renamed"), "Platform engineer.", "Staff engineer.")
	}
	masto.mu.Lock()
	masto.actor = rename(masto.actor)
	masto.mu.Unlock()
	update := masto.withKey(rename(strings.ReplaceAll(testdataDoc(t, "mastodon_update_person.json"), recorded, masto.base)))
	masto.deliver(aliceURI, update)
	nodetest.Settle(t, acme)
	var acc struct {
		DisplayName string `json:"display_name"`
		Note        string `json:"note"`
	}
	alice.Call("GET", "/api/v1/accounts/"+remote.ID, nil, &acc)
	if !strings.HasPrefix(acc.DisplayName, "Alice Renamed") || !strings.Contains(acc.Note, "Staff engineer.") {
		t.Errorf("after Update{Person}: %+v", acc)
	}

	// Delete{Tombstone} of the post from step 2.
	del := strings.ReplaceAll(testdataDoc(t, "mastodon_delete_tombstone.json"), recorded, masto.base)
	masto.deliver(aliceURI, del)
	nodetest.Settle(t, acme)
	if resp := alice.Call("GET", "/api/v1/statuses/"+got.ID, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the deleted Mastodon post still answers %d", resp.StatusCode)
	}
	if homeStatus(t, alice, noteID) != nil {
		t.Errorf("the deleted Mastodon post is still in alice's home timeline")
	}
	masto.checkClean()
}

// TestGoToSocialInterop: the same flow with GoToSocial's differences: keyId ".../main-key"
// served as a stub, hs2019, signed GETs required, a single-object tag, no sharedInbox, 406
// for a non-ActivityStreams Content-Type.
func TestGoToSocialInterop(t *testing.T) {
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	alice := acme.NewUser(t, "alice")
	nodetest.Settle(t, acme)
	gts := startFakePeer(t, acme, flavorGtS)
	base := acme.URL(t.Context())
	aliceURI := base + "/users/alice"

	// Follow bob (a locked account): GoToSocial accepts later, signed hs2019 with its stub key.
	remote, follow := followFromAtrium(t, acme, alice, gts)
	if gts.getsOf("/users/bob") == 0 {
		t.Fatalf("the actor was not fetched from GoToSocial")
	}
	accept := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","actor":%q,"id":%q,`+
		`"object":{"actor":%q,"id":%q,"object":%q,"type":"Follow"},"to":%q,"type":"Accept"}`,
		gts.actorID, gts.actorID+"/accepts/01JD5ACCEPTAAAAAAAAAAAAAAA", aliceURI, str(follow.Doc["id"]), gts.actorID, aliceURI)
	if inbox := gts.deliver(aliceURI, accept); inbox != aliceURI+"/inbox" {
		t.Errorf("GoToSocial delivered to %s", inbox)
	}
	nodetest.Settle(t, acme)
	if gts.getsOf("/users/bob/main-key") == 0 {
		t.Errorf("the stub key document was never fetched: keyId %s was not resolved through it", gts.keyID)
	}
	if rel := relationship(t, alice, remote.ID); rel["following"] != true {
		t.Fatalf("after GoToSocial's Accept: %v", rel)
	}

	// bob's post mentions alice with a single-object tag.
	noteID := gts.actorID + "/statuses/01JD1234ABCDEFGHJKMNPQRSTV"
	create := testdataDoc(t, "gts_create_note.json")
	for _, r := range [][2]string{
		{"https://mastodon.example/users/alice", aliceURI},
		{"https://mastodon.example/@alice", base + "/@alice"},
		{"@alice@mastodon.example", "@alice@" + acme.Host()},
		{"https://gts.example", gts.base},
	} {
		create = strings.ReplaceAll(create, r[0], r[1])
	}
	create = jsonEdit(t, create, func(m map[string]any) {
		if _, single := obj(m["object"])["tag"].(map[string]any); !single {
			t.Fatalf("the recorded GoToSocial tag is not a single object")
		}
	})
	gts.deliver(aliceURI, create)
	nodetest.Settle(t, acme)
	got := homeStatus(t, alice, noteID)
	if got == nil {
		t.Fatalf("bob's post is not in alice's home timeline")
	}
	if !strings.Contains(got.Content, "federation works!") || !strings.Contains(got.Content, `rel="nofollow noopener noreferrer"`) {
		t.Errorf("content %s", got.Content)
	}
	if !mentionedBy(t, alice, remote.ID, noteID) {
		t.Errorf("alice was not notified of bob's single-object Mention")
	}

	// alice likes and replies: both go to bob's personal inbox, as application/activity+json.
	alice.Call("POST", "/api/v1/statuses/"+got.ID+"/favourite", nil, nil)
	reply := post(t, alice, map[string]any{"status": "It does!", "in_reply_to_id": got.ID, "visibility": "public"})
	nodetest.Settle(t, acme)
	like := gts.one("Like")
	checkOurActivity(t, like, aliceURI)
	cr := gts.one("Create")
	checkOurActivity(t, cr, aliceURI)
	if n := obj(cr.Doc["object"]); str(n["id"]) != reply.URI || str(n["inReplyTo"]) != noteID {
		t.Errorf("reply Note %v", n)
	}
	for _, r := range []interopPost{follow, like, cr} {
		if r.Path != "/users/bob/inbox" {
			t.Errorf("%s delivered to %s, want /users/bob/inbox (GoToSocial has no sharedInbox)", r.typ(), r.Path)
		}
	}

	// GoToSocial deletes the status with a bare IRI as object (no Tombstone).
	gts.deliver(aliceURI, fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","actor":%q,"cc":%q,"id":%q,"object":%q,"to":[%q,%q],"type":"Delete"}`,
		gts.actorID, gts.actorID+"/followers", noteID+"#Delete", noteID, asPublic, aliceURI))
	nodetest.Settle(t, acme)
	if resp := alice.Call("GET", "/api/v1/statuses/"+got.ID, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the status GoToSocial deleted still answers %d", resp.StatusCode)
	}
	gts.checkClean()
}

// TestGoToSocialSingleMentionNotifies is separate so a failure here does not hide the rest of
// TestGoToSocialInterop: GoToSocial sends a lone Mention as an object under tag (go-ap drops
// it, FEDERATION.md §9.1); the mentioned person must still be notified.
func TestGoToSocialSingleMentionNotifies(t *testing.T) {
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	alice := acme.NewUser(t, "alice")
	nodetest.Settle(t, acme)
	gts := startFakePeer(t, acme, flavorGtS)
	base := acme.URL(t.Context())
	aliceURI := base + "/users/alice"
	// alice does not follow bob: the mention alone makes the post relevant here.
	noteID := gts.actorID + "/statuses/01JD1234ABCDEFGHJKMNPQRSTV"
	create := testdataDoc(t, "gts_create_note.json")
	for _, r := range [][2]string{
		{"https://mastodon.example/users/alice", aliceURI},
		{"https://mastodon.example/@alice", base + "/@alice"},
		{"@alice@mastodon.example", "@alice@" + acme.Host()},
		{"https://gts.example", gts.base},
	} {
		create = strings.ReplaceAll(create, r[0], r[1])
	}
	gts.deliver(aliceURI, create)
	nodetest.Settle(t, acme)
	remote := resolve(t, alice, "@bob@"+gts.host)
	if !mentionedBy(t, alice, remote.ID, noteID) {
		var outcome string
		_ = acme.DB.NewSelect().Table("inbox_activities").Column("outcome").Where("kind = 'Create'").Scan(t.Context(), &outcome)
		t.Errorf("alice was not notified of bob's single-object Mention (inbox outcome %q)", outcome)
	}
	gts.checkClean()
}

// TestFakeGoToSocialRefusesLikeGoToSocial checks the fake itself, so the interop tests above
// mean what they say: unsigned GETs get 401, a non-ActivityStreams POST gets 406, a POST
// without a signed digest gets 401.
func TestFakeGoToSocialRefusesLikeGoToSocial(t *testing.T) {
	acme := nodetest.Start(t, nodetest.Options{Setup: true, Host: "acme.test", OrgName: "Acme", Manual: true})
	gts := startFakePeer(t, acme, flavorGtS)
	resp, err := gts.client.Get(gts.actorID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned GET: %d, want 401", resp.StatusCode)
	}
	for _, c := range []struct {
		ct     string
		sign   bool
		status int
	}{
		{"application/json", true, http.StatusNotAcceptable},
		{"application/activity+json", false, http.StatusUnauthorized},
	} {
		body := `{"@context":"https://www.w3.org/ns/activitystreams","id":"x","type":"Like"}`
		req, _ := http.NewRequest(http.MethodPost, gts.actorID+"/inbox", strings.NewReader(body))
		req.Header.Set("Content-Type", c.ct)
		if c.sign {
			gts.sign(req, []byte(body))
		}
		resp, err := gts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("POST %s signed=%v: %d, want %d", c.ct, c.sign, resp.StatusCode, c.status)
		}
	}
}
