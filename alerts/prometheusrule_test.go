package alerts

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v2"
)

const prometheusRuleFile = "../deploy/kubernetes/prometheusrule.yaml"

var update = flag.Bool("update", false, "regenerate deploy/kubernetes/prometheusrule.yaml from the rules file")

const prometheusRuleHeader = `# Generated from alerts/sigil-integrity.rules.yml; do not edit. Regenerate:
#   go test ./alerts -run TestPrometheusRuleMatchesRulesFile -update
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: sigil-integrity-exporter
  labels:
    app.kubernetes.io/name: sigil-integrity-exporter
    app.kubernetes.io/component: alerting
    # Match your Prometheus' ruleSelector.
    prometheus: k8s
    role: alert-rules
spec:
`

// renderPrometheusRule builds the PrometheusRule manifest from the rules
// file: its groups, indented under spec.
func renderPrometheusRule(rules []byte) string {
	var b strings.Builder
	b.WriteString(prometheusRuleHeader)
	started := false
	for _, line := range strings.Split(strings.TrimRight(string(rules), "\n"), "\n") {
		if !started {
			if !strings.HasPrefix(line, "groups:") {
				continue
			}
			started = true
		}
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}

// TestPrometheusRuleMatchesRulesFile checks that the Kubernetes
// PrometheusRule carries exactly the groups of the rules file.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(prometheusRuleFile, []byte(renderPrometheusRule(rules)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Groups interface{} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &want); err != nil {
		t.Fatalf("parse %s: %v", rulesFile, err)
	}
	var got struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Groups interface{} `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(manifest, &got); err != nil {
		t.Fatalf("parse %s: %v", prometheusRuleFile, err)
	}
	if got.APIVersion != "monitoring.coreos.com/v1" || got.Kind != "PrometheusRule" {
		t.Errorf("%s is %s %s, want monitoring.coreos.com/v1 PrometheusRule", prometheusRuleFile, got.APIVersion, got.Kind)
	}
	if want.Groups == nil {
		t.Fatalf("%s has no groups", rulesFile)
	}
	if diff := cmp.Diff(want.Groups, got.Spec.Groups); diff != "" {
		t.Errorf("%s differs from %s (-rules +manifest); regenerate with -update:\n%s", prometheusRuleFile, rulesFile, diff)
	}
}
