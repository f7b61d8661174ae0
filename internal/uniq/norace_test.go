//go:build !race

package uniq

// raceEnabled reports whether the race detector is on: it changes some
// allocation counts (the append-of-make idiom is not optimised).
const raceEnabled = false
