package node

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// The operator's files for Prometheus and Grafana, in the repository.
const (
	alertsFile     = "../../deploy/prometheus/alerts.yml"
	alertTestsFile = "../../deploy/prometheus/alerts_test.yml"
	dashboardFile  = "../../deploy/grafana/esacert.json"
)

// metricName finds the names of series in a PromQL expression: esacert's,
// the Go runtime's and the process's.
var metricName = regexp.MustCompile(`\b(?:esacert|go|process)_[a-z0-9_]+\b`)

// prometheusOwn are series that Prometheus makes itself, not /metrics.
var prometheusOwn = []string{"up"}

// deployExprs reads the alert rules and the dashboard, checks their shape,
// and returns every PromQL expression in them, by where it is.
func deployExprs(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			where := "alert " + r.Alert
			switch {
			case r.Alert == "" || seen[r.Alert]:
				t.Errorf("%s: a rule without a name, or a name used twice: %q", alertsFile, r.Alert)
			case strings.TrimSpace(r.Expr) == "":
				t.Errorf("%s: no expr", where)
			case r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical":
				t.Errorf("%s: severity %q", where, r.Labels["severity"])
			case r.Annotations["summary"] == "":
				t.Errorf("%s: no summary", where)
			}
			if _, err := model.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", where, r.For, err)
			}
			seen[r.Alert] = true
			exprs[where] = r.Expr
		}
	}
	for _, want := range []string{"EsacertCertificateExpiringSoon", "EsacertFreeCertificateIssuanceFailing", "EsacertRenewalsFailing",
		"EsacertEdgeLagging", "EsacertNodeNotReady"} {
		if !seen[want] {
			t.Errorf("%s has no %s", alertsFile, want)
		}
	}

	raw, err = os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	}
	var dash struct {
		UID    string  `json:"uid"`
		Title  string  `json:"title"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Errorf("%s: uid %q, title %q, %d panels", dashboardFile, dash.UID, dash.Title, len(dash.Panels))
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: panel %d %q: id used twice or outside the grid", dashboardFile, p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
		}
		for i, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("%s: panel %q query %d is empty", dashboardFile, p.Title, i)
			}
			exprs["panel "+p.Title+" #"+string(rune('A'+i))] = q.Expr
		}
	}
	return exprs
}

// checkDeployFiles checks that every series the alert rules and the
// dashboard read is one that /metrics (fams) serves: by its name, or a
// histogram's or a summary's _bucket, _sum or _count.
func checkDeployFiles(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	for where, expr := range deployExprs(t) {
		names := metricName.FindAllString(expr, -1)
		if strings.Contains(expr, "up{") {
			names = append(names, "up")
		}
		if len(names) == 0 {
			t.Errorf("%s reads no series: %q", where, expr)
		}
		for _, name := range names {
			if slices.Contains(prometheusOwn, name) || fams[name] != nil {
				continue
			}
			found := false
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base, ok := strings.CutSuffix(name, suffix)
				if f := fams[base]; ok && f != nil && (f.GetType() == dto.MetricType_HISTOGRAM ||
					f.GetType() == dto.MetricType_SUMMARY && suffix != "_bucket") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s reads %s, which /metrics does not serve", where, name)
			}
		}
	}
}

// TestAlertRules runs Prometheus's own checks of the alert rules and their
// unit tests (deploy/prometheus/alerts_test.yml) when promtool is
// installed: the expressions parse, and fire when they should. Without
// promtool it is skipped, unless ESACERT_REQUIRE_PROMTOOL=1 makes that a
// failure (as CI does).
func TestAlertRules(t *testing.T) {
	deployExprs(t)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool (Debian's prometheus package) is not installed: the rules' own tests need it"
		if os.Getenv("ESACERT_REQUIRE_PROMTOOL") == "1" {
			t.Fatal(msg + " (ESACERT_REQUIRE_PROMTOOL=1)")
		}
		t.Skip(msg)
	}
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertTestsFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
