// Package atomicfile replaces files whole: a crash at any point leaves
// either the old file or the new one, never a mix.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// Write replaces the file at path with what write writes, with mode perm:
// through the temporary file path+suffix, fsynced, renamed over path, and
// the rename itself fsynced. On any error the temporary file is removed
// and path is left as it was.
func Write(path, suffix string, perm os.FileMode, write func(io.Writer) error) error {
	tmp := path + suffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	err = f.Chmod(perm) // a leftover temporary file keeps its mode
	w := bufio.NewWriterSize(f, 1<<20)
	if err == nil {
		err = write(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}
