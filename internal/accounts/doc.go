// Package accounts owns the people of a node: users and their roles, credentials (argon2id
// passwords behind a concurrency limit), browser sessions, personal access tokens,
// invitations, password resets, and work profiles with the directory and org chart.
//
// Authorization lives here, not in handlers: every method that changes someone else's data
// takes the acting user and checks the role itself, so the web pages, the JSON API and the
// CLI cannot disagree about who may do what. Admin actions are written to the audit log in
// the same transaction as the change.
package accounts
