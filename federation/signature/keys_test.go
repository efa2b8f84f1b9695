package signature

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
)

func TestPEMRoundTrips(t *testing.T) {
	a, _ := rsaKeys(t)
	if a.N.BitLen() != 2048 {
		t.Fatalf("GenerateKey made %d bits", a.N.BitLen())
	}
	pubPEM, err := EncodePublicKeyPEM(&a.PublicKey)
	if err != nil || !strings.HasPrefix(pubPEM, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("%v %q", err, pubPEM)
	}
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil || !a.PublicKey.Equal(pub) {
		t.Fatalf("PKIX: %v", err)
	}
	// PKCS#1 "RSA PUBLIC KEY", and the literal "\n" of double-encoded JSON.
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&a.PublicKey)}))
	for _, s := range []string{pkcs1, strings.ReplaceAll(pubPEM, "\n", `\n`), "\n  " + pubPEM} {
		if pub, err := ParsePublicKeyPEM(s); err != nil || !a.PublicKey.Equal(pub) {
			t.Errorf("%.40q: %v", s, err)
		}
	}
	privPEM, err := EncodePrivateKeyPEM(a)
	if err != nil || !strings.HasPrefix(privPEM, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("%v %q", err, privPEM)
	}
	for _, s := range []string{privPEM, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(a)}))} {
		if k, err := ParsePrivateKeyPEM(s); err != nil || !a.Equal(k) {
			t.Errorf("private %.30q: %v", s, err)
		}
	}
	if k := loadKey(t, "mastodon_key.pem"); k.N.BitLen() != 2048 { // PKCS#1 from openssl
		t.Fatal("mastodon_key.pem")
	}
}

func TestPEMRejects(t *testing.T) {
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(edPub)
	if k, err := ParsePublicKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))); err != nil {
		t.Fatalf("Ed25519 public key: %v", err)
	} else if _, ok := k.(ed25519.PublicKey); !ok {
		t.Fatalf("got %T", k)
	}
	edDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	if _, err := ParsePrivateKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}))); err == nil {
		t.Error("Ed25519 private key accepted as RSA")
	}
	for _, bits := range []uint{512, 9000} { // too weak, and a CPU-burning verify
		n := new(big.Int).Lsh(big.NewInt(1), bits-1)
		n.Add(n, big.NewInt(1))
		der := x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: n, E: 65537})
		if _, err := ParsePublicKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der}))); err == nil {
			t.Errorf("RSA key of %d bits accepted", bits)
		}
	}
	for _, s := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := ParsePublicKeyPEM(s); err == nil {
			t.Errorf("public %q accepted", s)
		}
		if _, err := ParsePrivateKeyPEM(s); err == nil {
			t.Errorf("private %q accepted", s)
		}
	}
	if _, err := EncodePublicKeyPEM(nil); err == nil {
		t.Error("nil public key encoded")
	}
	if _, err := EncodePrivateKeyPEM(nil); err == nil {
		t.Error("nil private key encoded")
	}
}
