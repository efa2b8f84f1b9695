package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-social/atrium/internal/accounts"
	"github.com/atrium-social/atrium/internal/testutil/nodetest"
)

// credAccount is the part of the CredentialAccount the tests read.
type credAccount struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Note        string `json:"note"`
	Locked      bool   `json:"locked"`
	Bot         bool   `json:"bot"`
	Avatar      string `json:"avatar"`
	Header      string `json:"header"`
	Fields      []struct{ Name, Value string }
	Source      *struct {
		Note   string `json:"note"`
		Fields []struct{ Name, Value string }
	} `json:"source"`
	Atrium struct {
		JobTitle   string   `json:"job_title"`
		Department string   `json:"department"`
		Location   string   `json:"location"`
		Pronouns   string   `json:"pronouns"`
		Phone      string   `json:"phone"`
		Skills     []string `json:"skills"`
	} `json:"atrium"`
}

func fieldMap(fs []struct{ Name, Value string }) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		out[f.Name] = f.Value
	}
	return out
}

// multipartBody builds a form with text fields and files.
func multipartBody(fields map[string]string, files map[string][]byte) (string, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for k, data := range files {
		fw, _ := w.CreateFormFile(k, k+".png")
		fw.Write(data)
	}
	w.Close()
	return w.FormDataContentType(), buf.String()
}

func TestUpdateCredentialsAPI(t *testing.T) {
	chatEngines(t, func(t *testing.T, n *nodetest.Node) {
		alice := n.NewUser(t, "alice")
		const path = "/api/v1/accounts/update_credentials"
		decode := func(code int, body string, what string, wantCode int) credAccount {
			t.Helper()
			if code != wantCode {
				t.Fatalf("%s: status %d, want %d: %s", what, code, wantCode, body)
			}
			var acc credAccount
			if err := json.Unmarshal([]byte(body), &acc); err != nil {
				t.Fatalf("%s: %v: %s", what, err, body)
			}
			return acc
		}

		// JSON: names, bio, fields as an array (with the blank rows apps send), the switches.
		var acc credAccount
		resp := alice.Call("PATCH", path, map[string]any{"display_name": "Alice Liddell", "note": "Builds <things>\n\nand more",
			"locked": true, "bot": false, "discoverable": true,
			"fields_attributes": []map[string]string{{"name": "Title", "value": "Staff engineer"}, {"name": "department", "value": "Platform"},
				{"name": "Pronouns", "value": "she/her"}, {"name": "", "value": ""}}}, &acc)
		if resp.StatusCode != 200 {
			t.Fatalf("JSON update: %d %+v", resp.StatusCode, acc)
		}
		if acc.DisplayName != "Alice Liddell" || acc.Note != "<p>Builds &lt;things&gt;</p><p>and more</p>" || acc.Locked || acc.Bot {
			t.Errorf("JSON update answered %+v", acc)
		}
		if acc.Source == nil || acc.Source.Note != "Builds <things>\n\nand more" {
			t.Errorf("source %+v", acc.Source)
		}
		if f := fieldMap(acc.Fields); f["Title"] != "Staff engineer" || f["Department"] != "Platform" || f["Pronouns"] != "she/her" {
			t.Errorf("fields %v", acc.Fields)
		}
		if acc.Atrium.JobTitle != "Staff engineer" || acc.Atrium.Department != "Platform" {
			t.Errorf("work profile %+v", acc.Atrium)
		}
		// It went through the accounts service: the directory's search text was rebuilt.
		var found struct{ Accounts []credAccount }
		alice.Call("GET", "/api/v2/search?type=accounts&q=staff+engineer", nil, &found)
		if len(found.Accounts) != 1 || found.Accounts[0].ID != alice.User.ID {
			t.Errorf("directory search after the update: %+v", found.Accounts)
		}

		// Form, indexed: the fields named replace the shown ones (Title, Department and
		// Pronouns are cleared), Skills and Phone set only when named; display_name absent
		// is left alone.
		code, _, body := rawCall(t, n, alice.Token, "PATCH", path, "application/x-www-form-urlencoded", url.Values{
			"fields_attributes[1][name]": {"Skills"}, "fields_attributes[1][value]": {"go, sql"},
			"fields_attributes[0][name]": {"Location"}, "fields_attributes[0][value]": {"Berlin"},
			"fields_attributes[2][name]": {"Phone"}, "fields_attributes[2][value]": {"+49 30 1234"},
			"note": {"Hi"},
		}.Encode())
		acc = decode(code, body, "form update", 200)
		if acc.DisplayName != "Alice Liddell" || acc.Note != "<p>Hi</p>" {
			t.Errorf("form update: %+v", acc)
		}
		if acc.Atrium.Location != "Berlin" || acc.Atrium.JobTitle != "" || acc.Atrium.Pronouns != "" ||
			strings.Join(acc.Atrium.Skills, "|") != "go|sql" || acc.Atrium.Phone != "+49 30 1234" {
			t.Errorf("form fields onto the profile: %+v", acc.Atrium)
		}

		// A JSON object keyed by index, and fields untouched when not sent: Skills stays.
		alice.Call("PATCH", path, map[string]any{"fields_attributes": map[string]any{
			"1": map[string]string{"name": "Title", "value": "Principal"}, "0": map[string]string{"name": "Location", "value": "Paris"}}}, &acc)
		alice.Call("PATCH", path, map[string]any{"display_name": "Alice L."}, &acc)
		if acc.DisplayName != "Alice L." || acc.Atrium.JobTitle != "Principal" || acc.Atrium.Location != "Paris" ||
			strings.Join(acc.Atrium.Skills, "|") != "go|sql" {
			t.Errorf("indexed object, then display name only: %+v", acc)
		}

		// Refusals: Mastodon's 422 with details, and nothing written.
		for _, c := range []struct {
			what, ctype, body, says string
		}{
			{"unknown field", "application/json", `{"display_name":"X","fields_attributes":[{"name":"Website","value":"https://x"}]}`, "Title, Department"},
			{"five fields", "application/json", `{"fields_attributes":[{"name":"Title","value":"a"},{"name":"Department","value":"b"},{"name":"Location","value":"c"},{"name":"Pronouns","value":"d"},{"name":"Skills","value":"e"}]}`, "at most 4"},
			{"fields not objects", "application/json", `{"fields_attributes":"Title"}`, "array"},
			{"locked not a boolean", "application/x-www-form-urlencoded", "locked=maybe&display_name=X", "true or false"},
			{"display name too long", "application/json", `{"display_name":"` + strings.Repeat("x", 101) + `"}`, "at most 100"},
			{"malformed JSON", "application/json", `{"display_name":`, "malformed"},
		} {
			code, _, body := rawCall(t, n, alice.Token, "PATCH", path, c.ctype, c.body)
			var e struct {
				Error   string         `json:"error"`
				Details map[string]any `json:"details"`
			}
			json.Unmarshal([]byte(body), &e)
			if code != 422 || !strings.Contains(e.Error, c.says) {
				t.Errorf("%s: %d %s, want 422 saying %q", c.what, code, body, c.says)
			}
		}
		alice.Call("GET", "/api/v1/accounts/verify_credentials", nil, &acc)
		if acc.DisplayName != "Alice L." || acc.Atrium.JobTitle != "Principal" {
			t.Errorf("a refused update changed the profile: %+v", acc)
		}

		// Multipart: avatar stored and served, header stored as the profile cover.
		ctype, mp := multipartBody(map[string]string{"display_name": "Alice Pic", "fields_attributes[][name]": "Title",
			"fields_attributes[][value]": "Chief"}, map[string][]byte{"avatar": testPNG(), "header": testPNG()})
		code, _, body = rawCall(t, n, alice.Token, "PATCH", path, ctype, mp)
		acc = decode(code, body, "multipart update", 200)
		if acc.DisplayName != "Alice Pic" || acc.Atrium.JobTitle != "Chief" || !strings.Contains(acc.Avatar, "/media/avatars/") ||
			!strings.Contains(acc.Header, "/media/covers/") {
			t.Errorf("multipart update: %+v", acc)
		}
		pic, err := http.Get(acc.Avatar)
		if err != nil || pic.StatusCode != 200 || !strings.HasPrefix(pic.Header.Get("Content-Type"), "image/") {
			t.Fatalf("avatar not served: %v %v", pic, err)
		}
		pic.Body.Close()
		first := acc.Avatar
		ctype, mp = multipartBody(nil, map[string][]byte{"avatar": testPNG()})
		code, _, body = rawCall(t, n, alice.Token, "PATCH", path, ctype, mp)
		acc = decode(code, body, "second avatar", 200)
		if acc.Avatar == first {
			t.Error("a new avatar kept the old key")
		}
		if old, err := http.Get(first); err != nil || old.StatusCode != 404 {
			t.Errorf("the replaced avatar is still served: %v %v", old, err)
		} else {
			old.Body.Close()
		}
		ctype, mp = multipartBody(map[string]string{"display_name": "Not applied"}, map[string][]byte{"avatar": []byte("not an image at all")})
		code, _, body = rawCall(t, n, alice.Token, "PATCH", path, ctype, mp)
		if code != 422 || !strings.Contains(body, `"avatar"`) {
			t.Errorf("bad avatar: %d %s", code, body)
		}
		alice.Call("GET", "/api/v1/accounts/verify_credentials", nil, &acc)
		if acc.DisplayName != "Alice Pic" {
			t.Errorf("a refused avatar still changed the name: %q", acc.DisplayName)
		}

		// Scope: a read-only token may not edit.
		tok, _, err := n.Accounts.CreateToken(context.Background(), accounts.CLIActor(), alice.User.ID, "ro", "read")
		if err != nil {
			t.Fatal(err)
		}
		if code, _, body := rawCall(t, n, tok, "PATCH", path, "application/json", `{"display_name":"Nope"}`); code != 403 {
			t.Errorf("read-only token: %d %s", code, body)
		}
	})
}
