package ioc

import (
	"io/fs"
	"os"
)

// fileID identifies a version of a file: a change of any field means the
// file was replaced or rewritten.
type fileID struct {
	dev, ino uint64 // zero where the system does not give them
	size     int64
	mtime    int64 // Unix nanoseconds
}

func idOf(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	id.dev, id.ino = sysID(fi)
	return id
}

// statID returns the identity of an open file.
func statID(f *os.File) (fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	return idOf(fi), nil
}

// statPath returns the identity of the file at path.
func statPath(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	return idOf(fi), nil
}
