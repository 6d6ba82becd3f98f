package alerts

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// e2eForDivisor shortens every `for:` of the shipped rules in the
// end-to-end test: 1m becomes 1s, 30m becomes 30s. The promtool unit tests
// cover the real durations; dividing them all by the same factor keeps
// their order (an exporter absent for a moment at startup still waits
// longer than a failure does).
const e2eForDivisor = 60

// e2eJob is the scrape job name: the mixin's default exporter job.
const e2eJob = "sigil-integrity-exporter"

// Alertmanager's timers in the end-to-end test (the example ships 30s/5m).
const (
	e2eGroupWait     = "1s"
	e2eGroupInterval = "2s"
)

func readYAML(t *testing.T, path string) yaml.MapSlice {
	t.Helper()
	b := testutil.ReadFile(t, path)
	var doc yaml.MapSlice
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

func writeYAML(t *testing.T, path string, doc interface{}) {
	t.Helper()
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// node returns the value under path in a YAML document: a string step is a
// mapping key, an int a sequence index, and "name=X" the sequence item
// whose name is X. A step that is not there fails the test, so a change of
// the shipped file cannot silently escape the rewrite.
func node(t *testing.T, doc interface{}, path ...interface{}) interface{} {
	t.Helper()
	cur := doc
	for i, step := range path {
		next, ok := childOf(cur, step)
		if !ok {
			t.Fatalf("YAML path %v: no %v at step %d", path, step, i)
		}
		cur = next
	}
	return cur
}

func childOf(cur, step interface{}) (interface{}, bool) {
	switch s := step.(type) {
	case int:
		seq, ok := cur.([]interface{})
		if !ok || s >= len(seq) {
			return nil, false
		}
		return seq[s], true
	case string:
		if len(s) > 5 && s[:5] == "name=" {
			seq, _ := cur.([]interface{})
			for _, item := range seq {
				if n, ok := childOf(item, "name"); ok && n == s[5:] {
					return item, true
				}
			}
			return nil, false
		}
		m, ok := cur.(yaml.MapSlice)
		if !ok {
			return nil, false
		}
		for _, it := range m {
			if it.Key == s {
				return it.Value, true
			}
		}
	}
	return nil, false
}

// set replaces the existing value under key in the mapping at path.
func set(t *testing.T, doc interface{}, value interface{}, key string, path ...interface{}) {
	t.Helper()
	m, ok := node(t, doc, path...).(yaml.MapSlice)
	if !ok {
		t.Fatalf("YAML path %v is not a mapping", path)
	}
	for i := range m {
		if m[i].Key == key {
			m[i].Value = value
			return
		}
	}
	t.Fatalf("YAML path %v has no key %s to rewrite", path, key)
}

// alertmanagerConfig writes the shipped example with only the PagerDuty URL,
// the secret files and the sigil route's group timers rewritten.
func alertmanagerConfig(t *testing.T, dir, receiverURL string) string {
	t.Helper()
	doc := readYAML(t, alertmanagerFile)
	set(t, doc, receiverURL+"/pagerduty/v2/enqueue", "pagerduty_url", "global")
	set(t, doc, writeFile(t, filepath.Join(dir, "smtp-password"), "not-used\n"), "smtp_auth_password_file", "global")
	set(t, doc, writeFile(t, filepath.Join(dir, "pagerduty-routing-key"), e2eRoutingKey+"\n"),
		"routing_key_file", "receivers", "name=pagerduty", "pagerduty_configs", 0)
	set(t, doc, writeFile(t, filepath.Join(dir, "slack-webhook-url"), receiverURL+"/slack/hook\n"),
		"api_url_file", "receivers", "name=slack", "slack_configs", 0)
	sigilRoute := []interface{}{"route", "routes", 0}
	set(t, doc, e2eGroupWait, "group_wait", sigilRoute...)
	set(t, doc, e2eGroupInterval, "group_interval", sigilRoute...)
	path := filepath.Join(dir, "alertmanager.yml")
	writeYAML(t, path, doc)
	return path
}

// e2eRoutingKey is the fake PagerDuty integration key.
const e2eRoutingKey = "e2e-test-routing-key-0123456789ab"

// shortenedRules writes the shipped rules with every `for:` divided by
// e2eForDivisor and returns its path and the durations used.
func shortenedRules(t *testing.T, dir string) (string, map[string]time.Duration) {
	t.Helper()
	doc := readYAML(t, rulesFile)
	used := map[string]time.Duration{}
	groups, _ := node(t, doc, "groups").([]interface{})
	for gi := range groups {
		rules, _ := node(t, doc, "groups", gi, "rules").([]interface{})
		for ri := range rules {
			name, _ := node(t, doc, "groups", gi, "rules", ri, "alert").(string)
			f, ok := childOf(rules[ri], "for")
			if !ok {
				used[name] = 0
				continue
			}
			d, err := model.ParseDuration(fmt.Sprint(f))
			if err != nil {
				t.Fatalf("%s: for %v: %v", name, f, err)
			}
			short := max(time.Duration(d)/e2eForDivisor, time.Second)
			used[name] = short
			set(t, doc, model.Duration(short).String(), "for", "groups", gi, "rules", ri)
		}
	}
	if len(used) == 0 {
		t.Fatalf("%s holds no rule", rulesFile)
	}
	path := filepath.Join(dir, "sigil-integrity.e2e.rules.yml")
	writeYAML(t, path, doc)
	return path, used
}

// prometheusConfig scrapes the exporter every second under e2eJob,
// evaluates rulesPath every second and alerts amAddr.
func prometheusConfig(t *testing.T, dir, exporterAddr, amAddr, rulesPath string) string {
	t.Helper()
	cfg := map[string]interface{}{
		"global":     map[string]string{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{rulesPath},
		"alerting": map[string]interface{}{"alertmanagers": []interface{}{
			map[string]interface{}{"static_configs": []interface{}{map[string]interface{}{"targets": []string{amAddr}}}},
		}},
		"scrape_configs": []interface{}{map[string]interface{}{
			"job_name":       e2eJob,
			"static_configs": []interface{}{map[string]interface{}{"targets": []string{exporterAddr}}},
		}},
	}
	path := filepath.Join(dir, "prometheus.yml")
	writeYAML(t, path, cfg)
	return path
}
