package alerts

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v2"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

const (
	rulesFile        = "sigil-integrity.rules.yml"
	rulesTestFile    = "sigil-integrity.rules.test.yml"
	alertmanagerFile = "alertmanager.example.yml"
	runbookFile      = "../docs/runbook.md"
	runbookBase      = "https://github.com/sigil/sigil-integrity-exporter/blob/main/docs/runbook.md#"
)

type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string `yaml:"name"`
	Rules []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// loadRules parses a Prometheus rule file.
func loadRules(t *testing.T, path string) ruleFile {
	t.Helper()
	b := testutil.ReadFile(t, path)
	var f ruleFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return f
}

// alertNames lists the alerts of every rules file in this directory.
func alertNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, g := range loadRules(t, rulesFile).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s holds no alert", rulesFile)
	}
	return names
}

func TestPromtoolCheckRules(t *testing.T) {
	out, ok := run(t, "promtool", "check", "rules", rulesFile)
	if !ok {
		t.Fatalf("promtool check rules failed:\n%s", out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	out, ok := run(t, "promtool", "test", "rules", rulesTestFile)
	if !ok {
		t.Fatalf("promtool test rules failed:\n%s", out)
	}
}

func TestAmtoolCheckConfig(t *testing.T) {
	out, ok := run(t, "amtool", "check-config", alertmanagerFile)
	if !ok {
		t.Fatalf("amtool check-config failed:\n%s", out)
	}
}

func TestAlertmanagerRoutes(t *testing.T) {
	cases := []struct {
		name     string
		labels   []string
		receiver string
		ok       bool
	}{
		{"critical pages", []string{"severity=critical", "store=leveldb", "alertname=SigilIntegrityFailuresFound"}, "pagerduty", true},
		{"missing records page", []string{"severity=critical", "store=cross", "alertname=SigilIntegrityMissingRecords"}, "pagerduty", true},
		{"warning to slack", []string{"severity=warning", "store=leveldb", "alertname=SigilIntegrityPassBehindSchedule"}, "slack", true},
		{"critical is not sent to slack", []string{"severity=critical", "store=leveldb", "alertname=SigilIntegrityFailuresFound"}, "slack", false},
		{"info stays in Alertmanager", []string{"severity=info", "alertname=SigilIntegrityLifecycleEnabled"}, "default", true},
		{"info is not sent to slack", []string{"severity=info", "alertname=SigilIntegrityLifecycleEnabled"}, "slack", false},
		{"other alerts are not ours", []string{"severity=critical", "alertname=NodeDown"}, "default", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=" + alertmanagerFile, "--verify.receivers=" + c.receiver}, c.labels...)
			out, ok := run(t, "amtool", args...)
			if ok != c.ok {
				t.Fatalf("amtool %s: exit ok=%v, want %v:\n%s", strings.Join(args, " "), ok, c.ok, out)
			}
		})
	}
}

// TestRuleConventions checks the mixin conventions and that every alert is
// documented in the runbook and tested firing and not firing.
func TestRuleConventions(t *testing.T) {
	runbook := testutil.ReadFile(t, runbookFile)
	tests := loadRuleTests(t)
	for _, g := range loadRules(t, rulesFile).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			t.Run(r.Alert, func(t *testing.T) {
				if !strings.HasPrefix(r.Alert, "SigilIntegrity") {
					t.Errorf("alert name lacks the SigilIntegrity prefix")
				}
				if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
					t.Errorf("severity %q, want critical, warning or info", s)
				}
				for _, a := range []string{"summary", "description"} {
					if r.Annotations[a] == "" {
						t.Errorf("annotation %s is empty", a)
					}
				}
				if !strings.Contains(r.Annotations["description"], "$labels.") && r.Alert != "SigilIntegrityExporterAbsent" {
					t.Errorf("description names no label: %q", r.Annotations["description"])
				}
				anchor := strings.ToLower(r.Alert)
				if got, want := r.Annotations["runbook_url"], runbookBase+anchor; got != want {
					t.Errorf("runbook_url %q, want %q", got, want)
				}
				heading := regexp.MustCompile(`(?m)^#{2,3} ` + r.Alert + `\s*$`)
				if !heading.Match(runbook) {
					t.Errorf("%s has no heading %q", runbookFile, "## "+r.Alert)
				}
				if !tests.fires[r.Alert] {
					t.Errorf("%s has no case where the alert fires", rulesTestFile)
				}
				if !tests.silent[r.Alert] {
					t.Errorf("%s has no case where the alert must not fire", rulesTestFile)
				}
			})
		}
	}
}

type ruleTests struct {
	fires, silent map[string]bool
}

// loadRuleTests reads which alerts the promtool test file expects firing
// and which it expects silent.
func loadRuleTests(t *testing.T) ruleTests {
	t.Helper()
	b := testutil.ReadFile(t, rulesTestFile)
	var f struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string        `yaml:"alertname"`
				ExpAlerts []interface{} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse %s: %v", rulesTestFile, err)
	}
	if !slices.Contains(f.RuleFiles, rulesFile) {
		t.Fatalf("%s does not test %s", rulesTestFile, rulesFile)
	}
	rt := ruleTests{fires: map[string]bool{}, silent: map[string]bool{}}
	for _, tc := range f.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				rt.fires[a.Alertname] = true
			} else {
				rt.silent[a.Alertname] = true
			}
		}
	}
	return rt
}

// TestAlertmanagerNamesExist checks that every alert name the example
// Alertmanager configuration routes or inhibits on is a shipped alert, so a
// renamed alert cannot silently escape an inhibition.
func TestAlertmanagerNamesExist(t *testing.T) {
	b := testutil.ReadFile(t, alertmanagerFile)
	known := alertNames(t)
	plain := regexp.MustCompile(`SigilIntegrity([A-Z][A-Za-z]+)`)
	group := regexp.MustCompile(`SigilIntegrity\(([A-Za-z|]+)\)`)
	var used []string
	for _, m := range plain.FindAllSubmatch(b, -1) {
		used = append(used, string(m[1]))
	}
	for _, m := range group.FindAllSubmatch(b, -1) {
		used = append(used, strings.Split(string(m[1]), "|")...)
	}
	if len(used) < 4 {
		t.Fatalf("found only %d alert names in %s; the extraction is broken", len(used), alertmanagerFile)
	}
	for _, u := range used {
		if !slices.Contains(known, "SigilIntegrity"+u) {
			t.Errorf("%s names SigilIntegrity%s, which %s does not define", alertmanagerFile, u, rulesFile)
		}
	}
}

// rulesFiles lists the rule files shipped in this directory.
func rulesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.rules.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.rules.yml in alerts/: %v", err)
	}
	return files
}
