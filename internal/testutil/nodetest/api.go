package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
)

// API is a Mastodon-API client for one person, authenticated by a personal access token.
type API struct {
	t     testing.TB
	n     *Node
	Token string
	User  *accounts.User
}

// NewUser creates an active member and returns an API client for them.
func (n *Node) NewUser(t testing.TB, username string) *API {
	t.Helper()
	ctx := context.Background()
	u, err := n.Accounts.Create(ctx, accounts.CLIActor(), accounts.NewUser{Username: username, Email: username + "@acme.example",
		Password: "long password 123", DisplayName: username})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return n.APIFor(t, u)
}

// APIFor returns an API client for an existing person, with every scope.
func (n *Node) APIFor(t testing.TB, u *accounts.User) *API {
	t.Helper()
	tok, _, err := n.Accounts.CreateToken(context.Background(), accounts.CLIActor(), u.ID, "test", "read write follow push")
	if err != nil {
		t.Fatal(err)
	}
	return &API{t: t, n: n, Token: tok, User: u}
}

// Call sends a request with a JSON body (nil for none) and decodes the JSON answer into out
// (nil to skip). It returns the response for status and header checks.
func (a *API) Call(method, path string, body any, out any) *http.Response {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.n.HTTP.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return a.do(req, out)
}

func (a *API) do(req *http.Request, out any) *http.Response {
	a.t.Helper()
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: status %d, not JSON: %v: %.300s", req.Method, req.URL.Path, resp.StatusCode, err, b)
		}
	}
	return resp
}

// Upload posts a file to /api/v2/media.
func (a *API) Upload(name string, data []byte, description string, out any) *http.Response {
	a.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(data)
	w.WriteField("description", description)
	w.Close()
	req, _ := http.NewRequest("POST", a.n.HTTP.URL+"/api/v2/media", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return a.do(req, out)
}
