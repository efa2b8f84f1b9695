package mastodon

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atrium-social/atrium/internal/errs"
	"github.com/atrium-social/atrium/internal/push"
	"github.com/atrium-social/atrium/internal/server"
)

// pushRoutes mounts Mastodon's Web Push subscription API: one subscription per access
// token, under the push scope. Delivery is internal/push's.
func (a *api) pushRoutes(app *fiber.App) {
	if a.Push == nil {
		return
	}
	const path = "/api/v1/push/subscription"
	scope := server.RequireScope("push")
	app.Post(path, scope, a.createPushSubscription)
	app.Get(path, scope, a.getPushSubscription)
	app.Put(path, scope, a.updatePushSubscription)
	app.Delete(path, scope, a.deletePushSubscription)
}

// pushToken is the id of the bearer token the request came with: subscriptions belong to
// tokens, so a browser session (no token) has none.
func pushToken(c *fiber.Ctx) (string, error) {
	t := server.CurrentToken(c)
	if t == nil || t.UserID == "" {
		return "", errs.E(errs.Forbidden, "Push subscriptions belong to an access token; sign in with a bearer token")
	}
	return t.ID, nil
}

// pushEntity is Mastodon's WebPushSubscription. standard is always true: messages use the
// RFC 8291 aes128gcm coding (the legacy aesgcm draft coding is not offered).
func (a *api) pushEntity(ctx context.Context, sub *push.Subscription) (fiber.Map, error) {
	key, err := a.Push.PublicKey(ctx)
	if err != nil {
		return nil, err
	}
	return fiber.Map{"id": sub.ID, "endpoint": sub.Endpoint, "standard": true, "alerts": sub.Alerts(),
		"policy": sub.Policy, "server_key": key}, nil
}

// pushData reads data[alerts][...] and data[policy]. Alert names that are not Mastodon's
// are kept so the service refuses them (422) instead of silently dropping them.
func pushData(p *params) (push.Data, error) {
	d := push.Data{Alerts: map[string]bool{}, Policy: strings.Clone(p.nested("data", "policy"))}
	for _, name := range p.nestedKeys("data", "alerts") {
		v := strings.ToLower(p.nested("data", "alerts", name))
		switch v {
		case "true", "1", "on", "yes":
			d.Alerts[strings.Clone(name)] = true
		case "false", "0", "off", "no", "":
			d.Alerts[strings.Clone(name)] = false
		default:
			return d, errs.Field("data[alerts]["+name+"]", "%q is not true or false", v)
		}
	}
	return d, nil
}

func (a *api) createPushSubscription(c *fiber.Ctx) error {
	tok, err := pushToken(c)
	if err != nil {
		return err
	}
	p, err := readParams(c)
	if err != nil {
		return err
	}
	d, err := pushData(p)
	if err != nil {
		return err
	}
	sub, err := a.Push.Subscribe(c.UserContext(), tok, server.CurrentUser(c).ID, push.NewSubscription{
		Endpoint: strings.Clone(p.nested("subscription", "endpoint")),
		P256DH:   strings.Clone(p.nested("subscription", "keys", "p256dh")),
		Auth:     strings.Clone(p.nested("subscription", "keys", "auth")),
		Data:     d})
	if err != nil {
		return err
	}
	return a.answerPush(c, sub)
}

func (a *api) getPushSubscription(c *fiber.Ctx) error {
	tok, err := pushToken(c)
	if err != nil {
		return err
	}
	sub, err := a.Push.Get(c.UserContext(), tok)
	if err != nil {
		return err
	}
	return a.answerPush(c, sub)
}

// updatePushSubscription changes alerts and policy only (Mastodon's PUT takes data only);
// alerts not named keep their value.
func (a *api) updatePushSubscription(c *fiber.Ctx) error {
	tok, err := pushToken(c)
	if err != nil {
		return err
	}
	p, err := readParams(c)
	if err != nil {
		return err
	}
	d, err := pushData(p)
	if err != nil {
		return err
	}
	sub, err := a.Push.Update(c.UserContext(), tok, d)
	if err != nil {
		return err
	}
	return a.answerPush(c, sub)
}

func (a *api) deletePushSubscription(c *fiber.Ctx) error {
	tok, err := pushToken(c)
	if err != nil {
		return err
	}
	if err := a.Push.Unsubscribe(c.UserContext(), tok); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// vapidKey is the node's VAPID public key for the Application and Instance entities; ""
// without Web Push, or if the key cannot be read (those answers should not fail for it).
func (a *api) vapidKey(ctx context.Context) string {
	if a.Push == nil {
		return ""
	}
	k, err := a.Push.PublicKey(ctx)
	if err != nil {
		return ""
	}
	return k
}

// answerPush answers with the WebPushSubscription entity of sub.
func (a *api) answerPush(c *fiber.Ctx, sub *push.Subscription) error {
	m, err := a.pushEntity(c.UserContext(), sub)
	if err != nil {
		return err
	}
	return c.JSON(m)
}
