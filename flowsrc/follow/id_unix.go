//go:build unix

package follow

import (
	"os"
	"syscall"
)

// fileID is a file's identity: device and inode numbers.
type fileID struct{ dev, ino uint64 }

func (id fileID) zero() bool { return id.dev == 0 && id.ino == 0 }

// identity returns the device and inode numbers of fi.
func identity(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}
