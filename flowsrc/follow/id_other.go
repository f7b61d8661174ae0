//go:build !unix

package follow

import "os"

// fileID is a file's identity; without inode numbers it is always zero,
// and a saved Position is trusted to name the file at the path.
type fileID struct{ dev, ino uint64 }

func (id fileID) zero() bool { return id.dev == 0 && id.ino == 0 }

// identity returns the zero identity: this system has no inode numbers
// in os.FileInfo.
func identity(os.FileInfo) fileID { return fileID{} }
