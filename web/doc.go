// Package web is the browser app: server-rendered html/template pages embedded with go:embed,
// a small hand-written stylesheet and script, and the handlers that turn form posts into
// service calls. It talks to the node only through the feature services (accounts, orgs,
// media, audit, posts, follows, notify, previews) and the server's middleware, so every rule
// the services enforce holds here too; the pages add presentation, not policy.
//
// The Content-Security-Policy allows no inline script or style, so templates carry no
// <script> blocks, style attributes or on* handlers: behaviour hangs off data-* attributes
// that static/app.js wires up.
//
// The social core (posts, comments, reactions, shares, bookmarks, announcements) works
// without script: every action is a <form method="post"> that redirects back to the page it
// came from (303). The script sends the same forms with fetch and the header
// X-Requested-With: fetch; handlers then answer with an HTML fragment instead of a redirect:
// the re-rendered "post-card" named by the form's card field (empty when the card is gone),
// the new card for the composer (201), or a "form-alert" with the error's status (and the
// field at fault in X-Error-Field). GET /posts/:id/card and /feed/more serve cards for live
// updates and infinite scroll. Live updates come from the Mastodon streaming websocket
// (/api/v1/streaming?stream=user), which the script follows with backoff, falling back to
// polling /api/v1/notifications/unread_count for the bell.
package web
