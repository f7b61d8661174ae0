// Package thirdparty gives tests access to the third-party test data
// (captures, ground truth made by tshark and other independent tools) that
// lives outside the repository, in the directory named by the environment
// variable EXFILSCORE_TESTDATA. Nothing of it is ever copied into the
// project; tests that need it skip with a clear message when it is unset.
package thirdparty

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Env is the environment variable naming the test data root.
const Env = "EXFILSCORE_TESTDATA"

// SkipMessage is the message of a test skipped for want of the data.
const SkipMessage = Env + " not set: skipping conformance against third-party captures"

// Dir returns $EXFILSCORE_TESTDATA joined with sub, or skips t when the
// variable is unset. A set variable naming a missing directory fails t: a
// misconfigured CI must not pass by skipping.
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	root := os.Getenv(Env)
	if root == "" {
		t.Skip(SkipMessage)
	}
	dir := filepath.Join(append([]string{root}, sub...)...)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("%s=%q but %s is not a directory: %v", Env, root, dir, err)
	}
	return dir
}

// TSV is a tab-separated table with a header line, as tshark -T fields
// -E header=y writes it.
type TSV struct {
	// Col maps a column name to its index.
	Col map[string]int
	// Header is the header line's names, Rows the other lines' cells.
	Header []string
	Rows   [][]string
}

// ReadTSV reads a TSV file, failing t on error.
func ReadTSV(t testing.TB, path string) TSV {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var d TSV
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "\t")
		if d.Col == nil {
			d.Header, d.Col = cells, make(map[string]int, len(cells))
			for i, name := range cells {
				d.Col[name] = i
			}
			continue
		}
		d.Rows = append(d.Rows, cells)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.Col == nil {
		t.Fatalf("%s: empty, no header line", path)
	}
	return d
}

// Cell returns the named column of row ("" when absent).
func (d *TSV) Cell(row []string, name string) string {
	i, ok := d.Col[name]
	if !ok || i >= len(row) {
		return ""
	}
	return row[i]
}

// Maps returns every row as a column name → cell map.
func (d *TSV) Maps() []map[string]string {
	out := make([]map[string]string, 0, len(d.Rows))
	for _, row := range d.Rows {
		m := make(map[string]string, len(d.Header))
		for i, h := range d.Header {
			if i < len(row) {
				m[h] = row[i]
			}
		}
		out = append(out, m)
	}
	return out
}
