package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Cache is the directory that holds one subdirectory per model name:
// model.safetensors, config.json and the converted model.fw.
type Cache struct {
	Dir string
}

// DefaultCache is $XDG_CACHE_HOME/mixedge, or ~/.cache/mixedge.
func DefaultCache() (Cache, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return Cache{Dir: filepath.Join(d, "mixedge")}, nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return Cache{}, fmt.Errorf("no cache directory: set XDG_CACHE_HOME or HOME (%v)", err)
	}
	return Cache{Dir: filepath.Join(home, ".cache", "mixedge")}, nil
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("invalid model name %q", name)
	}
	return nil
}

// Path is the directory of name in the cache.
func (c Cache) Path(name string) string { return filepath.Join(c.Dir, name) }

// File is one file of a cache entry.
type File struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

// Entry is one model directory in the cache. Files lists the regular files
// (lock files left out; a ".partial" file is an unfinished download).
type Entry struct {
	Name    string    `json:"name"`
	Dir     string    `json:"dir"`
	Files   []File    `json:"files"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

// Has reports whether the entry holds a file called name.
func (e Entry) Has(name string) bool {
	for _, f := range e.Files {
		if f.Name == name {
			return true
		}
	}
	return false
}

// List returns the model directories in the cache, sorted by name; a cache
// that does not exist yet is empty.
func (c Cache) List() ([]Entry, error) {
	des, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", c.Dir, err)
	}
	var out []Entry
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		e, err := c.entry(de.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Stat returns the entry of name; ok is false when it is not in the cache.
func (c Cache) Stat(name string) (e Entry, ok bool, err error) {
	if err := checkName(name); err != nil {
		return Entry{}, false, err
	}
	st, err := os.Stat(c.Path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{Name: name, Dir: c.Path(name)}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	if !st.IsDir() {
		return Entry{}, false, fmt.Errorf("cache %s: not a directory", c.Path(name))
	}
	e, err = c.entry(name)
	return e, err == nil, err
}

func (c Cache) entry(name string) (Entry, error) {
	dir := c.Path(name)
	e := Entry{Name: name, Dir: dir}
	des, err := os.ReadDir(dir)
	if err != nil {
		return e, fmt.Errorf("cache %s: %w", dir, err)
	}
	for _, de := range des {
		if !de.Type().IsRegular() || strings.HasSuffix(de.Name(), lockSuffix) {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		e.Files = append(e.Files, File{Name: de.Name(), Size: info.Size(), ModTime: info.ModTime()})
		e.Size += info.Size()
		if info.ModTime().After(e.ModTime) {
			e.ModTime = info.ModTime()
		}
	}
	return e, nil
}

// Remove deletes name and everything in it from the cache. A name that is
// not cached is an error.
func (c Cache) Remove(name string) error {
	e, ok, err := c.Stat(name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not in the cache (%s)", name, c.Dir)
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		return fmt.Errorf("remove %s: %w", e.Dir, err)
	}
	return nil
}
