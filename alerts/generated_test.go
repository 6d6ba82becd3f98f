package alerts

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v2"

	"github.com/sigil/sigil-integrity-exporter/alerts/mixin"
	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

const (
	prometheusRuleFile = "../deploy/kubernetes/prometheusrule.yaml"
	serviceMonitorFile = "../deploy/kubernetes/servicemonitor.yaml"
)

// TestGeneratedFilesUpToDate regenerates the rules, the PrometheusRule and
// the dashboard from alerts/mixin and compares them byte for byte with the
// committed files.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := mixin.Generate()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alerts/sigil-integrity.rules.yml", "dashboards/sigil-integrity.json", "deploy/kubernetes/grafana-dashboard.yaml", "deploy/kubernetes/prometheusrule.yaml"}
	if got := mixin.Paths(files); !cmp.Equal(got, want) {
		t.Fatalf("the mixin generates %v, want %v", got, want)
	}
	for _, p := range want {
		committed := testutil.ReadFile(t, filepath.Join("..", p))
		if !bytes.Equal(committed, files[p]) {
			t.Errorf("%s differs from what alerts/mixin generates; run `go run ./alerts/gen` (or `make generate`):\n%s",
				p, cmp.Diff(string(files[p]), string(committed)))
		}
	}
}

// TestMixinSettings changes the settings a user changes (job selectors, a
// threshold, a severity) through an override, as the generator's
// -override flag does, and checks that the rules follow and still load.
func TestMixinSettings(t *testing.T) {
	files, err := mixin.GenerateWith(`{ _config+:: {
		exporterSelector: 'job="integrity"',
		selector: 'job=~"integrity|integrity_check"',
		checkSelector: 'job="integrity_check"',
		passOverdueGraceRatio: 0.25,
		alerts+:: { PassBehindSchedule+: { severity: 'info', 'for': '1h' } },
		kubernetesLabels: { release: 'monitoring' },
	} }`)
	if err != nil {
		t.Fatal(err)
	}
	rules := string(files["alerts/sigil-integrity.rules.yml"])
	for _, want := range []string{`up{job="integrity"} == 0`, `absent(sigil_integrity_last_status{job=~"integrity|integrity_check"})`,
		`0.25 * (`, `completion_timestamp_seconds{job="integrity_check"}`} {
		if !strings.Contains(rules, want) {
			t.Errorf("the overridden rules lack %q", want)
		}
	}
	if strings.Contains(rules, `job="sigil-integrity-exporter"`) || strings.Contains(rules, `sigil_integrity_check"`) {
		t.Errorf("the overridden rules still name the default job")
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(files["alerts/sigil-integrity.rules.yml"], &f); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range f.Groups[0].Rules {
		if r.Alert == "SigilIntegrityPassBehindSchedule" {
			found = true
			if r.Labels["severity"] != "info" || r.For != "1h" {
				t.Errorf("PassBehindSchedule: severity %q for %q, want info 1h", r.Labels["severity"], r.For)
			}
		}
	}
	if !found {
		t.Fatal("no SigilIntegrityPassBehindSchedule in the overridden rules")
	}
	if !strings.Contains(string(files["deploy/kubernetes/prometheusrule.yaml"]), "release: monitoring") {
		t.Errorf("the PrometheusRule does not carry the overridden release label")
	}
	path := filepath.Join(t.TempDir(), "overridden.rules.yml")
	if err := os.WriteFile(path, files["alerts/sigil-integrity.rules.yml"], 0o644); err != nil {
		t.Fatal(err)
	}
	if out, ok := run(t, "promtool", "check", "rules", path); !ok {
		t.Fatalf("promtool check rules on the overridden rules:\n%s", out)
	}
}

// TestPrometheusRuleMatchesRulesFile checks that the Kubernetes
// PrometheusRule carries exactly the groups of the rules file.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	rules := testutil.ReadFile(t, rulesFile)
	manifest := testutil.ReadFile(t, prometheusRuleFile)
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
		t.Errorf("%s differs from %s (-rules +manifest):\n%s", prometheusRuleFile, rulesFile, diff)
	}
}

// kubePrometheusStackSelector is the selector kube-prometheus-stack gives
// its Prometheus for rules and ServiceMonitors with the chart's defaults
// (ruleSelectorNilUsesHelmValues and serviceMonitorSelectorNilUsesHelmValues
// true): matchLabels release: <the Helm release name>. docs/alerting.md
// installs the chart as "kube-prometheus-stack".
func kubePrometheusStackSelector(release string) map[string]string {
	return map[string]string{"release": release}
}

// TestKubePrometheusStackSelects checks that the chart's default selectors
// pick up the PrometheusRule and the ServiceMonitor, and that the
// ServiceMonitor selects the Service and names the job the rules expect.
func TestKubePrometheusStackSelects(t *testing.T) {
	type object struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			JobLabel string `yaml:"jobLabel"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	var rule, sm, svc object
	readManifest(t, "prometheusrule.yaml", &rule)
	readManifest(t, "servicemonitor.yaml", &sm)
	readManifest(t, "service.yaml", &svc)
	sel := kubePrometheusStackSelector("kube-prometheus-stack")
	for _, o := range []object{rule, sm} {
		for k, v := range sel {
			if o.Metadata.Labels[k] != v {
				t.Errorf("%s %s: label %s=%q, want %q (kube-prometheus-stack's default selector)", o.Kind, o.Metadata.Name, k, o.Metadata.Labels[k], v)
			}
		}
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which the Service lacks", k, v)
		}
	}
	// prometheus-operator names the job after the Service (no jobLabel):
	// it must be the job the rules select.
	if sm.Spec.JobLabel != "" || !strings.Contains(string(mustRead(t, rulesFile)), `up{job="`+svc.Metadata.Name+`"}`) {
		t.Errorf("the scrape job (Service %q, jobLabel %q) is not the rules' exporter job", svc.Metadata.Name, sm.Spec.JobLabel)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b := testutil.ReadFile(t, path)
	return b
}

// TestGrafanaSidecarConfigMap: the dashboard ConfigMap carries the label
// the Grafana sidecar selects by default and exactly the dashboard file,
// and kustomize applies it.
func TestGrafanaSidecarConfigMap(t *testing.T) {
	var cm struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Data map[string]string `yaml:"data"`
	}
	readManifest(t, "grafana-dashboard.yaml", &cm)
	if cm.Kind != "ConfigMap" || cm.Metadata.Labels["grafana_dashboard"] != "1" {
		t.Errorf("grafana-dashboard.yaml: kind %q labels %v, want a ConfigMap labelled grafana_dashboard=1", cm.Kind, cm.Metadata.Labels)
	}
	if cm.Data["sigil-integrity.json"] != string(mustRead(t, dashboardFile)) {
		t.Errorf("the ConfigMap's dashboard differs from %s", dashboardFile)
	}
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	readManifest(t, "kustomization.yaml", &kust)
	if !slices.Contains(kust.Resources, "grafana-dashboard.yaml") || !slices.Contains(kust.Resources, "prometheusrule.yaml") {
		t.Errorf("kustomization resources %v lack the dashboard or the rules", kust.Resources)
	}
}
