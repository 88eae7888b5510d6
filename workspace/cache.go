package workspace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"path/filepath"

	"github.com/bpfstar/bpfstar/internal/atomicfile"
	"github.com/bpfstar/bpfstar/stdlib"
)

// cache is the content-addressed build cache under bpfstar-out/cache. It
// holds blobs (objects, by the sha256 of their bytes) and small JSON
// entries (by a key that hashes the tool's identity and the inputs).
// Every file is written to a temporary name and renamed into place, and
// anything missing, unreadable or corrupt reads as a miss: deleting the
// cache, or any part of it, at any time is safe.
type cache struct {
	w      *Workspace
	dir    string // "" disables the cache
	toolID string
	// std is the digest of the standard library (stdlib.Digest): part of
	// every key, since its files are no inputs an entry records.
	std string
}

// cacheVersion changes when the layout or the meaning of entries does.
const cacheVersion = "v1"

func newCache(w *Workspace, toolID string, disabled bool) *cache {
	// A cache whose directory is not the workspace's own (a symbolic
	// link) is not used: its writes would land outside the workspace.
	if disabled || w.mkdirOut(path.Join(OutDir, "cache", cacheVersion)) != nil {
		return &cache{toolID: toolID, std: stdlib.Digest()}
	}
	return &cache{w: w, dir: filepath.Join(w.Root, OutDir, "cache", cacheVersion), toolID: toolID, std: stdlib.Digest()}
}

// key hashes the tool's identity and parts, each length-prefixed so that
// no two lists of parts hash alike.
func (c *cache) key(parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{cacheVersion, c.toolID, c.std}, parts...) {
		var n [8]byte
		for i, l := 0, uint64(len(p)); i < 8; i++ {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (c *cache) path(kind, key string) string {
	return filepath.Join(c.dir, kind, key[:2], key)
}

// getJSON reads the entry kind/key into v and reports whether it could.
func (c *cache) getJSON(kind, key string, v any) bool {
	if c.dir == "" {
		return false
	}
	data, err := os.ReadFile(c.path(kind, key))
	if err != nil {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v) == nil
}

// putJSON stores v as the entry kind/key. Failures only cost a later miss.
func (c *cache) putJSON(kind, key string, v any) {
	if c.dir == "" {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.write(c.path(kind, key), data)
}

// getBlob returns the blob with the given sha256, checked.
func (c *cache) getBlob(sum string) ([]byte, bool) {
	if c.dir == "" || len(sum) != 64 {
		return nil, false
	}
	data, err := os.ReadFile(c.path("blobs", sum))
	if err != nil || digest(data) != sum {
		return nil, false
	}
	return data, true
}

func (c *cache) putBlob(data []byte) {
	if c.dir == "" {
		return
	}
	sum := digest(data)
	p := c.path("blobs", sum)
	if _, err := os.Stat(p); err == nil {
		return
	}
	c.write(p, data)
}

func (c *cache) write(p string, data []byte) {
	// Best effort: a cache entry that cannot be written is a later miss.
	// Its directory must be a real one inside bpfstar-out.
	rel, err := filepath.Rel(c.w.Root, filepath.Dir(p))
	if err == nil && c.w.mkdirOut(filepath.ToSlash(rel)) == nil {
		atomicfile.Write(p, data, 0o644)
	}
}
