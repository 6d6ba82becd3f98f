package canonical

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const vectorsPath = "../../testdata/canonical/vectors.json"

// vectorFile is testdata/canonical/vectors.json, written by
// testdata/node/gen-vectors.js on real Node.
type vectorFile struct {
	HMACKey string   `json:"hmac_key"`
	Vectors []vector `json:"vectors"`
}

type vector struct {
	Name         string  `json:"name"`
	Stored       string  `json:"stored"`
	ParseError   bool    `json:"parse_error"`
	JS           string  `json:"js"`
	JSSHA256     string  `json:"js_sha256"`
	JSHMACSHA256 string  `json:"js_hmac_sha256"`
	Raw          string  `json:"raw"`
	JCS          *string `json:"jcs"`
	JCSError     string  `json:"jcs_error"`
}

func loadVectors(tb testing.TB) vectorFile {
	tb.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatalf("decode vectors: %v", err)
	}
	if len(f.Vectors) < 100 {
		tb.Fatalf("only %d vectors in %s", len(f.Vectors), vectorsPath)
	}
	return f
}

// jcsErrorWords maps the generator's reason to a word Append's error names.
var jcsErrorWords = map[string]string{
	"duplicate": "duplicate key",
	"surrogate": "lone surrogate",
	"number":    "Infinity",
}

func TestVectors(t *testing.T) {
	f := loadVectors(t)
	var d Doc // reused across records, as the walk does
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			err := d.Parse([]byte(v.Stored))
			if v.ParseError {
				if err == nil {
					t.Fatalf("Parse accepted a document JSON.parse rejects or that is not an object")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			data, _ := d.Get("data")

			js, err := JS.Append([]byte("prefix"), data)
			if err != nil {
				t.Fatalf("JS.Append: %v", err)
			}
			if got := string(js[len("prefix"):]); got != v.JS {
				t.Fatalf("js mismatch\n got: %.400q\nwant: %.400q", got, v.JS)
			}
			sum := sha256.Sum256(js[len("prefix"):])
			if got := hex.EncodeToString(sum[:]); got != v.JSSHA256 {
				t.Errorf("js sha256 = %s, Node computed %s", got, v.JSSHA256)
			}
			mac := hmac.New(sha256.New, []byte(f.HMACKey))
			mac.Write(js[len("prefix"):])
			if got := hex.EncodeToString(mac.Sum(nil)); got != v.JSHMACSHA256 {
				t.Errorf("js hmac-sha256 = %s, Node computed %s", got, v.JSHMACSHA256)
			}

			raw, err := Raw.Append(nil, data)
			if err != nil || string(raw) != v.Raw {
				t.Errorf("Raw.Append = %.200q, %v; want %.200q", raw, err, v.Raw)
			}

			jcs, err := JCS.Append(nil, data)
			switch {
			case v.JCS != nil && err != nil:
				t.Errorf("JCS.Append: %v", err)
			case v.JCS != nil && string(jcs) != *v.JCS:
				t.Errorf("jcs mismatch\n got: %.400q\nwant: %.400q", jcs, *v.JCS)
			case v.JCS == nil && err == nil:
				t.Errorf("JCS.Append succeeded (%.100q), want an error (%s)", jcs, v.JCSError)
			case v.JCS == nil && !strings.Contains(err.Error(), jcsErrorWords[v.JCSError]):
				t.Errorf("JCS.Append error %q does not name the reason %q", err, v.JCSError)
			}
		})
	}
}
