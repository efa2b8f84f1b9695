package push

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

// hkdfSHA256 is RFC 5869 written out with HMAC, so the receiver below shares no key
// derivation code with the sender under test.
func hkdfSHA256(salt, ikm, info []byte, n int) []byte {
	ext := hmac.New(sha256.New, salt)
	ext.Write(ikm)
	prk := ext.Sum(nil)
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(sha256.New, prk)
		m.Write(t)
		m.Write(info)
		m.Write([]byte{i})
		t = m.Sum(nil)
		out = append(out, t...)
	}
	return out[:n]
}

// receive is the user agent's side of RFC 8291 (section 3.4) and RFC 8188: read the
// header, derive the keys from the subscriber's private key and auth secret, open the one
// record and strip its padding.
func receive(t *testing.T, body []byte, ua *ecdh.PrivateKey, auth []byte) []byte {
	t.Helper()
	if len(body) < 21 {
		t.Fatalf("body of %d bytes has no header", len(body))
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if rs != 4096 || idlen != 65 {
		t.Fatalf("record size %d, key id length %d; want 4096, 65", rs, idlen)
	}
	asPub, record := body[21:21+idlen], body[21+idlen:]
	if len(record) > int(rs) {
		t.Fatalf("record of %d bytes is over the record size", len(record))
	}
	as, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		t.Fatalf("sender key: %v", err)
	}
	shared, err := ua.ECDH(as)
	if err != nil {
		t.Fatal(err)
	}
	info := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), asPub...)
	ikm := hkdfSHA256(auth, shared, info, 32)
	cek := hkdfSHA256(salt, ikm, []byte("Content-Encoding: aes128gcm\x00"), 16)
	nonce := hkdfSHA256(salt, ikm, []byte("Content-Encoding: nonce\x00"), 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 0x02 {
		t.Fatalf("the last record must end with the 0x02 delimiter: % x", plain)
	}
	return plain[:i]
}

func TestEncryptRoundTrip(t *testing.T) {
	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	msg := []byte(`{"title":"alice mentioned you","body":"Lunch at noon? ☕"}`)
	body, err := Encrypt(msg, ua.PublicKey().Bytes(), auth)
	if err != nil {
		t.Fatal(err)
	}
	if got := receive(t, body, ua, auth); !bytes.Equal(got, msg) {
		t.Fatalf("decrypted %q, want %q", got, msg)
	}
	// A fresh salt and key for every message: two encryptions of one message differ.
	again, _ := Encrypt(msg, ua.PublicKey().Bytes(), auth)
	if bytes.Equal(again[:16], body[:16]) || bytes.Equal(again[21:86], body[21:86]) {
		t.Fatal("salt or ephemeral key reused between messages")
	}
	// The wrong auth secret must not open it.
	other := make([]byte, 16)
	rand.Read(other)
	if _, err := openWith(body, ua, other); err == nil {
		t.Fatal("opened with the wrong auth secret")
	}
	// The largest message fits one 4096-byte record; one byte more is refused.
	big := bytes.Repeat([]byte("x"), MaxPlaintext)
	if body, err := Encrypt(big, ua.PublicKey().Bytes(), auth); err != nil || len(body) != 4096 {
		t.Fatalf("max message: %d bytes, %v; want 4096", len(body), err)
	}
	if _, err := Encrypt(append(big, 'x'), ua.PublicKey().Bytes(), auth); err == nil {
		t.Fatal("a message over one record was accepted")
	}
}

// openWith is receive without the test failures, for the negative case.
func openWith(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	as, err := ecdh.P256().NewPublicKey(body[21:86])
	if err != nil {
		return nil, err
	}
	shared, _ := ua.ECDH(as)
	info := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), body[21:86]...)
	ikm := hkdfSHA256(auth, shared, info, 32)
	cek := hkdfSHA256(body[:16], ikm, []byte("Content-Encoding: aes128gcm\x00"), 16)
	nonce := hkdfSHA256(body[:16], ikm, []byte("Content-Encoding: nonce\x00"), 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	return gcm.Open(nil, nonce, body[86:], nil)
}

// RFC 8291 Appendix A, reproduced byte for byte with its fixed sender key and salt.
func TestRFC8291AppendixA(t *testing.T) {
	dec := func(s string) []byte {
		b, err := b64.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plaintext := dec("V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24")
	as, err := ecdh.P256().NewPrivateKey(dec("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
	if err != nil {
		t.Fatal(err)
	}
	if got := b64.EncodeToString(as.PublicKey().Bytes()); got != "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8" {
		t.Fatalf("application server public key %s", got)
	}
	ua, err := ecdh.P256().NewPrivateKey(dec("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
	if err != nil {
		t.Fatal(err)
	}
	uaPublic := dec("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4")
	if !bytes.Equal(ua.PublicKey().Bytes(), uaPublic) {
		t.Fatal("user agent key pair does not match")
	}
	auth := dec("BTBZMqHH6r4Tts7J_aSIgg")
	body, err := encrypt(plaintext, uaPublic, auth, dec("DGv6ra1nlYgDCS1FRnbzlw"), as)
	if err != nil {
		t.Fatal(err)
	}
	want := "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	if got := b64.EncodeToString(body); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if got := receive(t, body, ua, auth); !bytes.Equal(got, plaintext) {
		t.Fatalf("decrypted %q", got)
	}
}

func TestVAPIDAuthorization(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := priv.PublicKey.Bytes()
	k := &vapidKey{priv: priv, public: b64.EncodeToString(pub)}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	h, err := vapidAuthorization(k, "https://push.example.net:8443/wpush/v2/abc?x=1", "mailto:admin@acme.example", now)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(h, "vapid t=")
	if !ok {
		t.Fatalf("header %q", h)
	}
	jwt, key, ok := strings.Cut(rest, ", k=")
	if !ok || key != k.public {
		t.Fatalf("header %q: k is not the public key", h)
	}
	// k decodes to the uncompressed point; the signature verifies with it.
	kb, _ := b64.DecodeString(key)
	verifyKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), kb)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q", jwt)
	}
	var header map[string]string
	hb, _ := b64.DecodeString(parts[0])
	if err := json.Unmarshal(hb, &header); err != nil || header["alg"] != "ES256" || header["typ"] != "JWT" {
		t.Fatalf("JWT header %s (%v)", hb, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature of %d bytes (%v), want r||s of 64", len(sig), err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(verifyKey, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("ES256 signature does not verify with the public key")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	cb, _ := b64.DecodeString(parts[1])
	if err := json.Unmarshal(cb, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Aud != "https://push.example.net:8443" {
		t.Errorf("aud %q, want the endpoint's origin", claims.Aud)
	}
	if exp := time.Unix(claims.Exp, 0); !exp.After(now) || exp.After(now.Add(24*time.Hour)) {
		t.Errorf("exp %v: must be after now and at most 24 h ahead", exp)
	}
	if claims.Sub != "mailto:admin@acme.example" {
		t.Errorf("sub %q", claims.Sub)
	}
}

func TestValidate(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	good := NewSubscription{Endpoint: "https://push.example.net/x", P256DH: b64.EncodeToString(ua.PublicKey().Bytes()),
		Auth: b64.EncodeToString(make([]byte, 16)), Data: Data{Alerts: map[string]bool{"mention": true}, Policy: "followed"}}
	s := &Service{}
	if err := s.validate(&good); err != nil {
		t.Fatalf("good subscription: %v", err)
	}
	notOnCurve := make([]byte, 65)
	notOnCurve[0] = 4
	for name, change := range map[string]func(*NewSubscription){
		"http endpoint":      func(n *NewSubscription) { n.Endpoint = "http://push.example.net/x" },
		"no endpoint":        func(n *NewSubscription) { n.Endpoint = "" },
		"userinfo":           func(n *NewSubscription) { n.Endpoint = "https://a@push.example.net/x" },
		"compressed key":     func(n *NewSubscription) { n.P256DH = b64.EncodeToString(ua.PublicKey().Bytes()[:33]) },
		"point off curve":    func(n *NewSubscription) { n.P256DH = b64.EncodeToString(notOnCurve) },
		"short auth":         func(n *NewSubscription) { n.Auth = b64.EncodeToString(make([]byte, 15)) },
		"unknown alert":      func(n *NewSubscription) { n.Data.Alerts = map[string]bool{"chat": true} },
		"unknown policy":     func(n *NewSubscription) { n.Data.Policy = "friends" },
		"auth not base64url": func(n *NewSubscription) { n.Auth = "!!!" },
	} {
		in := good
		change(&in)
		if err := s.validate(&in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s.AllowHTTP = true
	in := good
	in.Endpoint = "http://push.test:1234/x"
	if err := s.validate(&in); err != nil {
		t.Errorf("http on a test network: %v", err)
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("é ", 200)
	got := excerpt(long, 140)
	if n := len([]rune(got)); n > 140 || !strings.HasSuffix(got, "…") {
		t.Fatalf("excerpt of %d characters: %q", n, got)
	}
	if got := excerpt("  two\n\nlines  ", 140); got != "two lines" {
		t.Fatalf("excerpt %q", got)
	}
}
