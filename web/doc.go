// Package web is the browser app: server-rendered html/template pages embedded with go:embed,
// a small hand-written stylesheet and script, and the handlers that turn form posts into
// service calls. It talks to the node only through the feature services (accounts, orgs,
// media, audit) and the server's middleware, so every rule the services enforce holds here
// too; the pages add presentation, not policy.
//
// The Content-Security-Policy allows no inline script or style, so templates carry no
// <script> blocks, style attributes or on* handlers: behaviour hangs off data-* attributes
// that static/app.js wires up.
package web
