package domain

import (
	"errors"
	"testing"
)

func TestPaging(t *testing.T) {
	tests := []struct {
		name         string
		number, size int64
		want         Page
		wantErrParam string
	}{
		{"ok/defaults", 0, 0, Page{Offset: 0, Limit: 20}, ""},
		{"ok/third_page", 3, 10, Page{Offset: 20, Limit: 10}, ""},
		{"ok/max", 1, 500, Page{Offset: 0, Limit: 500}, ""},
		{"fail/size_too_big", 1, 501, Page{}, "PageSize"},
		{"fail/negative_size", 1, -1, Page{}, "PageSize"},
		{"fail/negative_page", -2, 10, Page{}, "PageNumber"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Paging(tt.number, tt.size, 20, 500)
			var pe *ParamError
			if tt.wantErrParam != "" {
				if !errors.As(err, &pe) || pe.Param != tt.wantErrParam {
					t.Fatalf("Paging error = %v, want one naming %s", err, tt.wantErrParam)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Paging = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
