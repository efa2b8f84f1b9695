package push

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"time"

	"github.com/uptrace/bun"

	"github.com/atrium-social/atrium/internal/db"
)

// vapidRow is the node's stored VAPID pair (migrations 0021).
type vapidRow struct {
	bun.BaseModel `bun:"table:vapid_keys"`
	ID            string    `bun:"id,pk"`
	PrivatePEM    string    `bun:"private_pem"`
	PublicKey     string    `bun:"public_key"`
	CreatedAt     time.Time `bun:"created_at"`
}

// vapidKey is the parsed pair.
type vapidKey struct {
	priv   *ecdsa.PrivateKey
	public string // base64url uncompressed point
}

// vapidExpiry is how long a signed JWT is valid. RFC 8292 allows up to 24 hours; half that
// leaves room for a push service whose clock runs ahead.
const vapidExpiry = 12 * time.Hour

// PublicKey is the node's VAPID public key, base64url (no padding) of the uncompressed
// P-256 point: the Application entity's vapid_key, the instance's
// configuration.vapid.public_key and a subscription's server_key.
func (s *Service) PublicKey(ctx context.Context) (string, error) {
	k, err := s.vapid(ctx)
	if err != nil {
		return "", err
	}
	return k.public, nil
}

// vapid loads the node's key pair, making it on first use. Two processes racing to make it
// agree on whichever insert won (ON CONFLICT DO NOTHING, then read back).
func (s *Service) vapid(ctx context.Context) (*vapidKey, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	r := new(vapidRow)
	err := s.DB.NewSelect().Model(r).Where("id = 'node'").Scan(ctx)
	if db.IsNotFound(err) {
		if err := s.createVAPID(ctx); err != nil {
			return nil, err
		}
		err = s.DB.NewSelect().Model(r).Where("id = 'node'").Scan(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("push: load the VAPID key: %w", err)
	}
	blk, _ := pem.Decode([]byte(r.PrivatePEM))
	if blk == nil {
		return nil, fmt.Errorf("push: the stored VAPID key is not PEM")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("push: parse the VAPID key: %w", err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("push: the stored VAPID key is not ECDSA P-256")
	}
	s.key = &vapidKey{priv: priv, public: r.PublicKey}
	return s.key, nil
}

func (s *Service) createVAPID(ctx context.Context) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("push: generate the VAPID key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("push: encode the VAPID key: %w", err)
	}
	pub, err := priv.PublicKey.Bytes()
	if err != nil {
		return fmt.Errorf("push: encode the VAPID public key: %w", err)
	}
	_, err = s.DB.NewInsert().Model(&vapidRow{ID: "node", PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		PublicKey: b64.EncodeToString(pub), CreatedAt: s.Clock.Now()}).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("push: store the VAPID key: %w", err)
	}
	return nil
}

// origin is the scheme and host of a push endpoint: the JWT's audience (RFC 8292 section 2).
func origin(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("push: endpoint %q is not an absolute URL", endpoint)
	}
	return u.Scheme + "://" + u.Host, nil
}

// vapidAuthorization is the Authorization header value for a push to endpoint (RFC 8292
// section 3): "vapid t=<JWT>, k=<public key>".
func vapidAuthorization(k *vapidKey, endpoint, subject string, now time.Time) (string, error) {
	aud, err := origin(endpoint)
	if err != nil {
		return "", err
	}
	t, err := signJWT(k.priv, aud, subject, now.Add(vapidExpiry))
	if err != nil {
		return "", err
	}
	return "vapid t=" + t + ", k=" + k.public, nil
}

// signJWT makes the ES256 JWT of RFC 8292: the signature is r||s, 32 bytes each (JWS,
// RFC 7518 section 3.4), not the ASN.1 form Go's SignASN1 produces.
func signJWT(priv *ecdsa.PrivateKey, aud, sub string, exp time.Time) (string, error) {
	header := `{"typ":"JWT","alg":"ES256"}`
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}{aud, exp.Unix(), sub})
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(claims)
	h := sha256.Sum256([]byte(input))
	r, sig, err := ecdsa.Sign(rand.Reader, priv, h[:])
	if err != nil {
		return "", fmt.Errorf("push: sign the VAPID JWT: %w", err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	sig.FillBytes(raw[32:])
	return input + "." + b64.EncodeToString(raw), nil
}
