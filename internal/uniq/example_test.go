package uniq_test

import (
	"fmt"

	"github.com/exfilscore/exfilscore/internal/uniq"
)

func ExampleCounter() {
	// Two collectors each count the 5-tuples they saw; flow "a" reached both.
	var east, west uniq.Counter
	for _, flow := range []string{"a", "b", "c", "a"} {
		east.Add(uniq.Hash64([]byte(flow)))
	}
	for _, flow := range []string{"a", "d"} {
		west.Add(uniq.Hash64([]byte(flow)))
	}
	fmt.Println(east.Count(), west.Count())

	// Merging gives the count of the union.
	east.Merge(&west)
	fmt.Println(east.Count(), east.Exact())
	// Output:
	// 3 2
	// 4 true
}

func ExampleCounter_Count() {
	// Past uniq.ExactLimit distinct values the count is an estimate.
	var c uniq.Counter
	for i := range 100000 {
		c.Add(uniq.Hash64(fmt.Appendf(nil, "10.0.0.1:%d->198.51.100.7:443/tcp", i)))
	}
	n := c.Count()
	fmt.Println(c.Exact(), n > 98000 && n < 102000)
	// Output:
	// false true
}

func ExampleCounter_MarshalBinary() {
	// Partial counters cross processes in their binary form.
	var c uniq.Counter
	for _, flow := range []string{"a", "b", "c"} {
		c.Add(uniq.Hash64([]byte(flow)))
	}
	b, _ := c.MarshalBinary()

	var d uniq.Counter
	if err := d.UnmarshalBinary(b); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(b), d.Count())

	err := d.UnmarshalBinary(b[:len(b)-1])
	fmt.Println(err)
	// Output:
	// 27 3
	// uniq: bad counter encoding at byte 26: length 26 for 3 exact values, want 27
}
