// Package archtest holds no code: its test enforces the import rules of ARCHITECTURE.md so
// that a shortcut across layers fails the build's tests instead of creeping in.
package archtest
