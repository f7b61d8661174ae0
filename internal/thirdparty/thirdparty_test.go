package thirdparty

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadTSV(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.tsv")
	os.WriteFile(p, []byte("a\tb\tc\n1\t2\t3\n4\t5\n"), 0o600)
	d := ReadTSV(t, p)
	if len(d.Rows) != 2 || d.Cell(d.Rows[0], "c") != "3" || d.Cell(d.Rows[1], "c") != "" || d.Cell(d.Rows[0], "z") != "" {
		t.Errorf("%+v", d)
	}
	if m := d.Maps(); m[1]["b"] != "5" || len(m[1]) != 2 {
		t.Errorf("maps %v", m)
	}
}

func TestDirSkipsWhenUnset(t *testing.T) {
	t.Setenv(Env, "")
	ran := false
	t.Run("inner", func(t *testing.T) {
		Dir(t, "netflow")
		ran = true
	})
	if ran {
		t.Error("Dir did not skip")
	}
}
