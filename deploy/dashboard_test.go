package deploy

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const dashboardFile = "grafana/carebridge-dashboard.json"

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Inputs []json.RawMessage `json:"__inputs"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

func readDashboard(t *testing.T) *dashboard {
	t.Helper()
	var d dashboard
	decodeFile(t, dashboardFile, json.Unmarshal, &d)
	return &d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

var labelValuesRE = regexp.MustCompile(`^label_values\(([a-z_:][a-z0-9_:]*),\s*([a-z_][a-z0-9_]*)\)$`)

func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 {
		t.Errorf("title %q uid %q schemaVersion %d: all three are needed for a clean import", d.Title, d.UID, d.SchemaVersion)
	}
	if len(d.Inputs) != 0 {
		t.Error("__inputs ties the dashboard to an export-time data source; use the datasource variable")
	}

	t.Run("datasource variable", func(t *testing.T) {
		var dsVar bool
		for _, v := range d.Templating.List {
			switch v.Type {
			case "datasource":
				var q string
				if err := json.Unmarshal(v.Query, &q); err != nil || q != "prometheus" {
					t.Errorf("variable %s: query %s, want \"prometheus\"", v.Name, v.Query)
				}
				dsVar = dsVar || v.Name == "datasource"
			case "query":
				if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
					t.Errorf("variable %s does not query through ${datasource}", v.Name)
				}
				var q struct {
					Query string `json:"query"`
				}
				if err := json.Unmarshal(v.Query, &q); err != nil {
					t.Errorf("variable %s: query %s: %v", v.Name, v.Query, err)
					continue
				}
				m := labelValuesRE.FindStringSubmatch(q.Query)
				if m == nil {
					t.Errorf("variable %s: query %q, want label_values(metric, label)", v.Name, q.Query)
					continue
				}
				if _, _, _, ok := resolveMetric(m[1]); !ok {
					t.Errorf("variable %s reads %s, not a SPEC §7 metric", v.Name, m[1])
				}
				if !slices.Contains(targetLabels, m[2]) {
					t.Errorf("variable %s reads label %s, not a target label", v.Name, m[2])
				}
			}
		}
		if !dsVar {
			t.Error("no template variable \"datasource\" of type datasource")
		}
	})

	panels := allPanels(d.Panels)
	used := map[string]bool{}
	t.Run("panels", func(t *testing.T) {
		ids := map[int]bool{}
		for _, p := range panels {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("panel %q: id %d missing or taken", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
			}
			if p.Type == "row" {
				continue
			}
			if p.Title == "" {
				t.Errorf("panel %d has no title", p.ID)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: datasource %+v, want uid ${datasource}", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.Datasource != nil && tg.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q query %s: datasource %+v", p.Title, tg.RefID, tg.Datasource)
				}
				if refs[tg.RefID] {
					t.Errorf("panel %q: refId %s twice", p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
					t.Errorf("panel %q query %s ignores the $instance variable", p.Title, tg.RefID)
				}
				names, problems := checkExpr(tg.Expr, nil)
				for _, pr := range problems {
					t.Errorf("panel %q query %s: %s", p.Title, tg.RefID, pr)
				}
				for _, n := range names {
					used[n] = true
				}
			}
		}
	})

	t.Run("no overlapping panels", func(t *testing.T) {
		for i, a := range panels {
			for _, b := range panels[i+1:] {
				ga, gb := a.GridPos, b.GridPos
				if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
					t.Errorf("panels %q and %q overlap", a.Title, b.Title)
				}
			}
		}
	})

	t.Run("every SPEC metric is shown", func(t *testing.T) {
		for name := range specMetrics {
			if !used[name] {
				t.Errorf("no panel shows %s", name)
			}
		}
	})
}
