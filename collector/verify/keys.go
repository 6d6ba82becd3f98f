package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
)

// SigningKey is one HMAC key loaded from a file. Its material never leaves
// this type: String and GoString name the file, not the key.
type SigningKey struct {
	file     string
	material []byte
}

// String names the key by its file.
func (k SigningKey) String() string { return "key file " + filepath.Base(k.file) }

// GoString keeps %#v from printing the material.
func (k SigningKey) GoString() string { return k.String() }

// LoadSigningKeys reads HMAC signing keys from files, current key first. Surrounding
// whitespace is trimmed; the remaining bytes are the key, exactly as Node's
// crypto.createHmac(alg, string) uses a UTF-8 string key. It returns one
// warning per key file that other users can read.
func LoadSigningKeys(paths []string) (keys []SigningKey, warnings []string, err error) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("key file %q: %w", p, UnwrapPathError(err))
		}
		if fi.IsDir() {
			return nil, nil, fmt.Errorf("key file %q is a directory: give the path of a file holding one key", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("key file %q: %w", p, UnwrapPathError(err))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			return nil, nil, fmt.Errorf("key file %q is empty: it must hold the HMAC key the app signs with", p)
		}
		if fi.Mode().Perm()&0o004 != 0 {
			warnings = append(warnings, fmt.Sprintf("key file %q is readable by every user (mode %v): chmod 0400 or 0440 it", p, fi.Mode().Perm()))
		}
		keys = append(keys, SigningKey{file: p, material: b})
	}
	return keys, warnings, nil
}

// UnwrapPathError drops the path from an *os.PathError, which the caller
// already names, leaving "no such file or directory" and the like.
func UnwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// SignatureConfig says how the app signs records (README "Flags",
// --verify.signature-*).
type SignatureConfig struct {
	Algorithm string // "sha256" (default) or "sha512"
	Encoding  string // "hex" (default) or "base64"
	Payload   string // "data" (default: the canonical data bytes) or "checksum"
}

// signer verifies signatures with a list of keys. Each worker has its own:
// the HMAC states are reused across records.
type signer struct {
	macs    []hash.Hash
	enc     string
	payload string
	sum     []byte
	decoded []byte
}

func (c SignatureConfig) validate() error {
	switch c.Algorithm {
	case "", "sha256", "sha512":
	default:
		return fmt.Errorf("unknown signature algorithm %q: use sha256 or sha512", c.Algorithm)
	}
	switch c.Encoding {
	case "", "hex", "base64":
	default:
		return fmt.Errorf("unknown signature encoding %q: use hex or base64", c.Encoding)
	}
	switch c.Payload {
	case "", "data", "checksum":
	default:
		return fmt.Errorf("unknown signature payload %q: use data or checksum", c.Payload)
	}
	return nil
}

func newSigner(c SignatureConfig, keys []SigningKey) *signer {
	newHash := sha256.New
	if c.Algorithm == "sha512" {
		newHash = sha512.New
	}
	s := &signer{enc: c.Encoding, payload: c.Payload}
	for _, k := range keys {
		s.macs = append(s.macs, hmac.New(newHash, k.material))
	}
	return s
}

// verify returns the index of the first key whose HMAC over payload equals
// the stored signature, or -1 and a detail for the report.
func (s *signer) verify(sig, payload []byte) (int, string) {
	var err error
	if s.enc == "base64" {
		s.decoded, err = appendBase64(s.decoded[:0], sig)
	} else {
		s.decoded, err = hex.AppendDecode(s.decoded[:0], sig)
	}
	if err != nil {
		return -1, fmt.Sprintf("signature is not %s", s.encName())
	}
	for i, m := range s.macs {
		m.Reset()
		m.Write(payload)
		s.sum = m.Sum(s.sum[:0])
		if hmac.Equal(s.sum, s.decoded) {
			return i, ""
		}
	}
	if len(s.macs) == 1 {
		return -1, "signature does not verify with the configured key"
	}
	return -1, fmt.Sprintf("signature does not verify with any of the %d configured keys", len(s.macs))
}

func (s *signer) encName() string {
	if s.enc == "base64" {
		return "base64"
	}
	return "hex"
}

func appendBase64(dst, s []byte) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if out, err := enc.AppendDecode(dst, s); err == nil {
			return out, nil
		}
	}
	return dst, errors.New("not base64")
}
