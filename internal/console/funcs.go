package console

import (
	"fmt"
	"html/template"
	"strings"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// px formats an SVG coordinate.
	"px": func(f float64) string { return fmt.Sprintf("%.1f", f) },
	// sans lists a certificate's names one per item.
	"sans": func(s string) []string {
		var out []string
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
		return out
	},
	// sitePath is the path of a site's page.
	"sitePath": func(id int64) string { return fmt.Sprintf("/sites/%d", id) },
}
