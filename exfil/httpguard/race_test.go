//go:build race

package httpguard_test

const raceEnabled = true
