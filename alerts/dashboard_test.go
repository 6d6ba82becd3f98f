package alerts

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v2"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

const dashboardFile = "../dashboards/sigil-integrity.json"

type dashboard struct {
	Inputs        []map[string]any `json:"__inputs"`
	SchemaVersion int              `json:"schemaVersion"`
	UID           string           `json:"uid"`
	Links         []struct {
		URL string `json:"url"`
	} `json:"links"`
	Annotations struct {
		List []struct {
			Name       string     `json:"name"`
			Datasource datasource `json:"datasource"`
			Expr       string     `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string     `json:"name"`
			Type       string     `json:"type"`
			Query      any        `json:"query"`
			Datasource datasource `json:"datasource"`
			Definition string     `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	Type        string     `json:"type"`
	Title       string     `json:"title"`
	Datasource  datasource `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Links []struct {
				URL string `json:"url"`
			} `json:"links"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr       string     `json:"expr"`
		Datasource datasource `json:"datasource"`
	} `json:"targets"`
}

// TestDashboardProvisionable checks what every way of loading a dashboard
// relies on (the Import dialog, file provisioning, the Helm chart's
// sidecar, grafana-operator, Terraform): no __inputs to fill, a datasource
// template variable used by every panel, target, variable and annotation;
// job, instance and store variables; pass-end annotations; links that
// name each series' own instance, never the multi-valued $instance.
func TestDashboardProvisionable(t *testing.T) {
	b := testutil.ReadFile(t, dashboardFile)
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if d.Inputs != nil || strings.Contains(string(b), "DS_PROMETHEUS") {
		t.Errorf("the dashboard uses __inputs / ${DS_PROMETHEUS}, which only the Import dialog fills")
	}
	if d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("schemaVersion %d, uid %q: want both set", d.SchemaVersion, d.UID)
	}
	want := datasource{Type: "prometheus", UID: "${datasource}"}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		if v.Type == "datasource" {
			if v.Name != "datasource" || v.Query != "prometheus" {
				t.Errorf("datasource variable %q of plugin %v, want datasource of prometheus", v.Name, v.Query)
			}
			continue
		}
		if v.Datasource != want {
			t.Errorf("variable %s uses datasource %+v, want %+v", v.Name, v.Datasource, want)
		}
	}
	if got := strings.Join(vars, ","); got != "datasource,job,instance,store" {
		t.Errorf("template variables %s, want datasource,job,instance,store", got)
	}
	passEnds := false
	for _, a := range d.Annotations.List {
		if a.Name == "Pass ends" {
			passEnds = a.Datasource == want && strings.Contains(a.Expr, "sigil_integrity_last_pass_completion_timestamp_seconds") &&
				strings.Contains(a.Expr, `instance=~"$instance"`)
		}
	}
	if !passEnds {
		t.Errorf("no \"Pass ends\" annotation on the completion time through the datasource variable")
	}
	runbook := false
	for _, l := range d.Links {
		runbook = runbook || strings.HasPrefix(l.URL, strings.TrimSuffix(runbookBase, "#"))
		if strings.Contains(l.URL, "$instance") || strings.Contains(l.URL, "${instance}") {
			t.Errorf("dashboard link %q breaks with several instances selected", l.URL)
		}
	}
	if !runbook {
		t.Errorf("no dashboard link to the runbook")
	}
	reportLinks := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource != want {
			t.Errorf("panel %q uses datasource %+v, want %+v", p.Title, p.Datasource, want)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, l := range p.FieldConfig.Defaults.Links {
			if !strings.Contains(l.URL, "${__field.labels.instance}") {
				t.Errorf("panel %q: link %q does not name the series' instance", p.Title, l.URL)
			}
			reportLinks++
		}
		for _, tg := range p.Targets {
			if tg.Datasource != want {
				t.Errorf("panel %q: a target uses datasource %+v, want %+v", p.Title, tg.Datasource, want)
			}
			if !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("panel %q: query ignores the job variable: %s", p.Title, tg.Expr)
			}
		}
	}
	if reportLinks == 0 {
		t.Errorf("no panel links a series to its exporter's /reports")
	}
}

var (
	labelValues = regexp.MustCompile(`^label_values\((.*),\s*[a-z_]+\)$`)
	grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$job", ".*", "$instance", ".*", "$store", ".*")
)

// TestDashboardQueriesParse runs every dashboard query, variables
// substituted, through promtool check rules as a recording rule, so that a
// PromQL syntax error fails here rather than in Grafana.
func TestDashboardQueriesParse(t *testing.T) {
	queries := dashboardQueries(t, dashboardFile)
	type rec struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rec
	for i, q := range queries {
		if m := labelValues.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		rules = append(rules, rec{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: grafanaVars.Replace(q)})
	}
	if len(rules) < 20 {
		t.Fatalf("found only %d queries in %s", len(rules), dashboardFile)
	}
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if res, ok := run(t, "promtool", "check", "rules", path); !ok {
		t.Fatalf("a dashboard query does not parse:\n%s\n%s", res, out)
	}
}

// TestGrafanaFileProvisioning: the shipped provider file is a file
// provider pointing at a directory, the way Grafana's provisioning reads
// dashboards.
func TestGrafanaFileProvisioning(t *testing.T) {
	var p struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	b := testutil.ReadFile(t, "../deploy/grafana/sigil-integrity-dashboards.yaml")
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.APIVersion != 1 || len(p.Providers) != 1 || p.Providers[0].Type != "file" || !strings.HasPrefix(p.Providers[0].Options.Path, "/") {
		t.Errorf("provisioning file: %+v", p)
	}
}
