package sfid

import "testing"

// The example of Salesforce's documentation: 00Dxx0000001gPL is
// 00Dxx0000001gPLEAY in its 18-character form.
const org15, org18 = "00Dxx0000001gPL", "00Dxx0000001gPLEAY"

func TestSame(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{org15, org15, true},
		{org15, org18, true},
		{org18, org18, true},
		{"00DXX0000001GPLEAY", org15, true},  // an 18-character id in another case: its suffix says the case
		{"00dxx0000001gpleay", org18, true},  // lower case throughout
		{org15, "00DXX0000001GPL", false},    // 15-character ids are case-sensitive
		{org15, "00Dxx0000001gPLAAA", false}, // the suffix says all lower case: another id
		{org15, "00Dxx0000001gPM", false},
		{org15, "", false},
		{"", "", false},
		{org15, org15[:14], false},
		{org15, org18 + "X", false},
		{org15, "00Dxx0000001gP-", false},
		{"000000000000000BAA", "000000000000000", false}, // a suffix marking a digit upper case
		{org15, "00Dxx0000001gPL!AY", false},
	}
	for _, tt := range tests {
		if got := Same(tt.a, tt.b); got != tt.want {
			t.Errorf("Same(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := Same(tt.b, tt.a); got != tt.want {
			t.Errorf("Same(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	for _, id := range []string{org18, "00DXX0000001GPLEAY", "00dxx0000001gpleay", org15} {
		if got, ok := Canonical(id); !ok || got != org15 {
			t.Errorf("Canonical(%q) = %q, %v; want %q", id, got, ok, org15)
		}
	}
}

func TestCheckOrg(t *testing.T) {
	for _, ok := range []string{org15, org18, "00dxx0000001gpleay"} {
		if err := CheckOrg(ok); err != nil {
			t.Errorf("CheckOrg(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "00D", "005xx0000001gPL", "00Dxx0000001gPLE", "00Dxx0000001gPL ", "00Dxx 000001gPL", "00Dxx0000001gPLE!Y"} {
		if err := CheckOrg(bad); err == nil {
			t.Errorf("CheckOrg(%q) accepted", bad)
		}
	}
}
