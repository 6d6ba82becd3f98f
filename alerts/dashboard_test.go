package alerts

import (
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
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Requires      []map[string]any `json:"__requires"`
	SchemaVersion int              `json:"schemaVersion"`
	UID           string           `json:"uid"`
	Links         []struct {
		URL string `json:"url"`
	} `json:"links"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string     `json:"name"`
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
	Type       string     `json:"type"`
	Title      string     `json:"title"`
	Datasource datasource `json:"datasource"`
	Targets    []struct {
		Expr       string     `json:"expr"`
		Datasource datasource `json:"datasource"`
	} `json:"targets"`
}

// TestDashboardImportable checks what Grafana's import flow relies on: a
// DS_PROMETHEUS input used by every panel, target and variable, the job,
// instance and store variables, and a link to the runbook.
func TestDashboardImportable(t *testing.T) {
	d := testutil.ReadJSON[dashboard](t, dashboardFile)
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs = %+v, want one prometheus datasource input DS_PROMETHEUS", d.Inputs)
	}
	if len(d.Requires) == 0 || d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("__requires (%d entries), schemaVersion %d, uid %q: want all set", len(d.Requires), d.SchemaVersion, d.UID)
	}
	want := datasource{Type: "prometheus", UID: "${DS_PROMETHEUS}"}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
		if v.Datasource != want {
			t.Errorf("variable %s uses datasource %+v, want %+v", v.Name, v.Datasource, want)
		}
	}
	if got := strings.Join(vars, ","); got != "job,instance,store" {
		t.Errorf("template variables %s, want job,instance,store", got)
	}
	runbook := false
	for _, l := range d.Links {
		runbook = runbook || strings.HasPrefix(l.URL, strings.TrimSuffix(runbookBase, "#"))
	}
	if !runbook {
		t.Errorf("no dashboard link to the runbook")
	}
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
		for _, tg := range p.Targets {
			if tg.Datasource != want {
				t.Errorf("panel %q: a target uses datasource %+v, want %+v", p.Title, tg.Datasource, want)
			}
			if !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("panel %q: query ignores the job variable: %s", p.Title, tg.Expr)
			}
		}
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
