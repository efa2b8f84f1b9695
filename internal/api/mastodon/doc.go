// Package mastodon is the Mastodon-compatible client API, so that existing apps and client
// libraries can drive an Atrium node. Entities keep Mastodon's JSON shapes exactly; Atrium's
// extra work-profile data rides along under the namespaced "atrium" key, which Mastodon
// clients ignore.
package mastodon
